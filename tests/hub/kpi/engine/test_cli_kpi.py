"""``kpihub compute`` and ``kpihub kpi show`` on a world loaded into the hub's store."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.settings import Settings
from hub.store import open_store


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_compute_then_show(hub_env, database_url, world_tools, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("the commands are the same on every database; the engine tests cover the others")
    make_world, load_world = world_tools
    store = open_store(Settings().database_url)
    store.migrate()
    load_world(
        store, "default", make_world(random.Random(3), orders=12), at=dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    )
    store.dispose()
    rule = tmp_path / "rule.json"
    rule.write_text(
        json.dumps(
            {
                "name": "any-sales",
                "metric_id": "gmv",
                "scope_type": "tenant",
                "grain": "year",
                "comparator": ">",
                "threshold": 0,
            }
        )
    )
    assert run("alerts", "rule", "add", str(rule)).exit_code == 0

    done = run("compute")
    assert done.exit_code == 0, done.output
    assert "full: first compute for this tenant" in done.output and "counting basis v1" in done.output
    # A compute goes on to attainment, scorecards and alerts: the rule breaches at once.
    assert "1 alerts raised" in done.output, done.output
    again = run("compute", "--json")
    assert json.loads(again.output)["full"] is False
    assert json.loads(again.output)["management"]["alerts_raised"] == 0  # the same breach: no second alert

    shown = run("kpi", "show", "gmv", "--grain", "year", "--scope", "tenant", "--json")
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.output)
    assert (
        rows and {r["scope_type"] for r in rows} == {"tenant"} and all(Decimal(r["value"]) > 0 for r in rows)
    )
    table = run("kpi", "show", "refund_rate", "--scope", "shop:amazon:A1", "--from", "2026-01-01")
    assert table.exit_code == 0 and "shop:amazon:A1" in table.output

    for args, message in (
        (("kpi", "show", "gmv", "--grain", "fortnight"), "unknown grain 'fortnight'"),
        (("kpi", "show", "gmv", "--scope", "galaxy:1"), "scope type must be one of"),
        (("kpi", "show", "gmv", "--from", "March"), "is not a date"),
        (("kpi", "show", "gmvv"), "unknown metric 'gmvv'"),
        (("compute", "--tenant", "nobody"), "no tenant named 'nobody'"),
    ):
        bad = run(*args)
        assert bad.exit_code == 2 and message in bad.output and "Traceback" not in bad.output, bad.output
