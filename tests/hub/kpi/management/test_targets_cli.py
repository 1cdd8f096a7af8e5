"""KPI management from the command line: the happy path, and bad input as one clear line."""

from __future__ import annotations

import json

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from hub.cli import app

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def run(*args, input=None):
    return CliRunner().invoke(app, list(args), input=input, env={"COLUMNS": "200"})


def clean_error(result, code, fragment):
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0], lines[0]


@pytest.fixture
def cli(hub_env):
    assert run("init").exit_code == 0
    return hub_env


@SQLITE_ONLY
def test_targets_from_the_command_line(cli):
    done = run(
        "targets",
        "set",
        "gmv",
        "--grain",
        "quarter",
        "--period",
        "2026-Q2",
        "--scope",
        "tenant:default",
        "--value",
        "300000",
    )
    assert done.exit_code == 0, done.output
    assert "target gmv 2026-Q2 tenant:default = 300000.0000" in done.stdout
    shown = run("targets", "show", "--json")
    [target] = json.loads(shown.stdout)
    assert (target["target_value"], target["attainment"]) == ("300000.0000", None)
    assert run("targets", "export", "out.xlsx").exit_code == 0
    assert run("targets", "import", "out.xlsx").stdout.startswith("imported 1 targets")
    assert run("targets", "check", "gmv", "--grain", "quarter", "--period", "2026-Q2").exit_code == 0


@SQLITE_ONLY
def test_bad_input_is_one_clear_line_and_changes_nothing(cli):
    clean_error(
        run(
            "targets",
            "set",
            "gmv",
            "--grain",
            "quarter",
            "--period",
            "2026-13",
            "--scope",
            "tenant:x",
            "--value",
            "1",
        ),
        2,
        "period '2026-13' is not a quarter",
    )
    clean_error(
        run(
            "targets",
            "set",
            "gmv",
            "--grain",
            "month",
            "--period",
            "2026-04",
            "--scope",
            "default",
            "--value",
            "1",
        ),
        2,
        "is not TYPE:ID",
    )
    book = Workbook()
    book.active.append(["metric_id", "grain", "period", "scope_type", "scope_id", "target_value"])
    book.active.append(["gmv", "month", "2026-04", "shop", "amazon:S1", "ten"])
    book.save(cli / "bad.xlsx")
    clean_error(run("targets", "import", "bad.xlsx"), 2, "Sheet!F2: target value 'ten' is not a number")
    clean_error(
        run("targets", "decompose", "gmv", "--grain", "month", "--period", "2026-04"),
        2,
        "no gmv target for tenant default in 2026-04",
    )
    (cli / "template.yaml").write_text(
        "template_id: ops\nrole: operations\nmetrics:\n  - {metric_id: roas, weight: 70}\n"
        "  - {metric_id: acos, weight: 20}\n"
    )
    clean_error(run("scorecard", "template", "template.yaml"), 2, "weights add up to 90, not 100")
    clean_error(
        run("adjust", "person:P1", "--grain", "month", "--period", "2026-04", "--reason", "x"),
        2,
        "give either --weight",
    )
    clean_error(run("targets", "export", "nowhere/out.xlsx"), 2, "cannot write nowhere/out.xlsx")
    assert json.loads(run("targets", "show", "--json").stdout) == []


@SQLITE_ONLY
def test_alert_rules_keep_their_channel_secret(cli):
    (cli / "rule.json").write_text(
        json.dumps(
            {
                "name": "acos-high",
                "metric_id": "acos",
                "scope_type": "shop",
                "threshold": 0.35,
                "channels": [
                    "json://ops:hunter2-secret@127.0.0.1:9/hook",
                    "dingtalk://secret0123456789abcdef/",
                ],
            }
        )
    )
    added = run("alerts", "rule", "add", "rule.json")
    assert added.exit_code == 0, added.output
    listed = run("alerts", "rule", "list", "--json")
    assert "secret" not in listed.stdout
    [rule] = json.loads(listed.stdout)
    assert rule["channels"][0] == "json://127.0.0.1:9/***"  # user, password and path may be the token
    assert run("alerts", "evaluate").stdout.strip().endswith("0 new alert(s)")
    clean_error(run("alerts", "rule", "add", "rule.json"), 2, "already exists")
    (cli / "channels.yaml").write_text("- json://127.0.0.1:9/elsewhere\n")
    assert run("alerts", "rule", "set", "acos-high", "--off", "--channels", "channels.yaml").exit_code == 0
    [rule] = json.loads(run("alerts", "rule", "list", "--json").stdout)
    assert (rule["enabled"], rule["channels"]) == (False, ["json://127.0.0.1:9/***"])
    clean_error(run("alerts", "rule", "set", "nope", "--on"), 2, "no alert rule named 'nope'")
