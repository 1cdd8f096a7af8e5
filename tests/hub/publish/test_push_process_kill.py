"""A real ``kpihub push`` process killed (SIGKILL) while its POSTs land in Power BI, then run
again: the dataset ends with exactly the hub's rows. And ``kpihub simulate`` finds sinks."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from starlette.requests import Request
from starlette.responses import Response
from typer.testing import CliRunner

from hub.cli import app
from hub.publish import add_sink, catalog, push_sink
from hub.publish.reader import read_rows
from hub.store.tables import metadata
from plugins.powerbi.simulator import PowerBISimulator
from sdk.simulator import running

PUSH = [sys.executable, "-c", "from hub.cli import main; main()", "push", "bi"]


class SlowPowerBI(PowerBISimulator):
    """Each POST rows takes a while, so the push is surely still running when it is killed."""

    async def post_rows(self, request: Request) -> Response:
        await asyncio.sleep(0.05)
        return await super().post_rows(request)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def _decimal(wire):
    """A decimal sent as a JSON number (four places, small: exact by repr)."""
    return None if wire is None else Decimal(repr(wire))


def test_a_killed_push_process_rerun_leaves_every_row_exactly_once(sink_hub, seed):
    store = sink_hub.ready_store
    tenant_id = seed(store, 4_000)
    sim = SlowPowerBI()
    creds = sim.credentials()
    with running(sim) as origin:
        add_sink(
            store,
            sink_hub.vault,
            sink_hub.registry,
            name="bi",
            plugin="powerbi",
            options={
                "tenant": creds["tenant"],
                "workspace_id": creds["workspace_id"],
                "api_url": origin,
                "identity_url": origin,
                "rows_per_post": 100,
                "max_pending": 2,
            },
            credentials={"client_id": creds["client_id"], "client_secret": creds["client_secret"]},
            tables=["dim_metric", "kpi_fact"],
        )
        process = subprocess.Popen(
            PUSH, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy()
        )
        deadline = time.monotonic() + 60
        while sim.stats["post_rows"].statuses[200] < 6:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the push never got going"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
        partial = len(sim.rows("kpihub", "kpi_fact"))
        assert 0 < partial < 4_000

        rerun = asyncio.run(push_sink(store, sink_hub.vault, sink_hub.registry, "bi"))
        assert {t.table: (t.action, t.rows) for t in rerun.tables}["kpi_fact"] == ("replaced", 4_000)

        table = catalog(metadata)["kpi_fact"]
        expected = sorted(
            (r["metric_id"], r["period_start"].isoformat(), r["scope_id"], r["value"])
            for r in read_rows(store, table, tenant_id)
        )
        held = sorted(
            (r["metric_id"], r["period_start"][:10], r["scope_id"], _decimal(r["value"]))
            for r in sim.rows("kpihub", "kpi_fact")
        )
        assert held == expected
        assert sim.throttled == 0 and not sim.rejections


def test_simulate_looks_up_sinks_too():
    # A sink without a simulator is named as such (a source-only lookup would say "no source").
    result = CliRunner().invoke(app, ["simulate", "database"])
    assert result.exit_code == 2
    assert "'database' ships no simulator" in result.stderr
