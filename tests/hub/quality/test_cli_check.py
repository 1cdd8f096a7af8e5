"""``kpihub check``: exit 0 with nothing found, 1 with findings, 2 for bad input; ``--json``;
``--quarantined CONNECTION`` lists the records with their reasons."""

from __future__ import annotations

import json

import pytest
import time_machine
from quality_world import NOW, SECRET, complete, seed_gaps
from typer.testing import CliRunner

from hub.cli import app
from hub.quality import run_checks

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def run(*args):
    # The stale-data findings are relative to now: the command runs at the world's NOW.
    with time_machine.travel(NOW, tick=False):
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


def assert_clean_error(result, *fragments):
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def gappy(hub):
    return seed_gaps(hub.ready_store)


def test_findings_are_listed_and_exit_1(hub, gappy):
    result = run("check")
    assert result.exit_code == 1, result.output
    report = run_checks(hub.ready_store, "default", now=NOW)
    for finding in report.findings:
        # Each finding's shop or connection and count, as the table shows them.
        assert f"{finding.scope} {finding.scope_id}" in result.stdout or finding.scope_id is None
        assert finding.check in result.stdout
    assert f"{len(report.findings)} finding(s):" in result.stdout
    assert SECRET not in result.stdout


def test_json_is_the_report(hub, gappy):
    result = run("check", "--json", "--only", "missing_fx", "--only", "stale_data", "--stale-hours", "71")
    assert result.exit_code == 1, result.output
    shown = json.loads(result.stdout)
    assert [(f["check"], f["scope_id"] or f["details"]["currency"]) for f in shown["findings"]] == [
        ("missing_fx", "EUR"),
        ("missing_fx", "SGD"),
        ("stale_data", "never"),
    ]
    expected = run_checks(hub.ready_store, checks=["missing_fx", "stale_data"], now=NOW, stale_hours=71)
    assert shown == json.loads(json.dumps(expected.as_dict()))


def test_nothing_found_exits_0(hub, gappy):
    complete(hub.ready_store, gappy)
    result = run("check")
    assert result.exit_code == 0, result.output
    assert "no findings: nothing makes the KPIs of tenant 'default' incomplete or doubtful" in result.stdout
    assert json.loads(run("check", "--json").stdout)["findings"] == []


def test_quarantined_records_with_reasons_and_raw_data(gappy):
    result = run("check", "--quarantined", "amz", "--json")
    assert result.exit_code == 1, result.output
    shown = json.loads(result.stdout)
    assert (shown["connection"], shown["total"]) == ("amz", 3)
    assert [(r["record_key"], r["error"], json.loads(r["data"])) for r in shown["records"]] == [
        ("q1", "orders.currency: String should match pattern '^[A-Z]{3}$'", {"id": "q1", "currency": "usd"}),
        ("q2", "orders.currency: String should match pattern '^[A-Z]{3}$'", {"id": "q2", "currency": "$"}),
        ("q3", "orders.gross_amount: Field required", {"id": "q3"}),
    ]
    table = run("check", "--quarantined", "amz", "--limit", "1")
    assert table.exit_code == 1
    assert "Quarantined records of amz: 3 (showing 1)" in table.stdout
    assert "q1" in table.stdout and "q2" not in table.stdout
    assert "kpihub remap amz" in table.stdout
    # The listing cuts a record to 2,000 characters (a finding's example to 400).
    [record] = json.loads(run("check", "--quarantined", "erp", "--json").stdout)["records"]
    whole = json.dumps({"note": "x" * 3000, "shopId": "7"}, sort_keys=True)
    assert record["data"] == whole[:1999] + "…"
    empty = run("check", "--quarantined", "amz", "--stream", "refunds")
    assert (empty.exit_code, empty.stdout.strip()) == (0, "no quarantined records in amz/refunds")


def test_bad_input_is_one_clear_error_and_exit_2(gappy):
    assert_clean_error(run("check", "--only", "nope"), "unknown check(s) nope", "missing_fx")
    assert_clean_error(run("check", "--tenant", "acme"), "no tenant named 'acme'", "default")
    assert_clean_error(run("check", "--quarantined", "nope"), "'nope'", "amz, erp, never, paused-files")
    assert_clean_error(run("check", "--stream", "orders"), "--stream goes with --quarantined")
    assert_clean_error(run("check", "--stale-hours", "0"), "more than 0 hours")
    # Out-of-range options are typer's usage errors: exit 2 as well.
    assert run("check", "--quarantined", "amz", "--limit", "0").exit_code == 2
