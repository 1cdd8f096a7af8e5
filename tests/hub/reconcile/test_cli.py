"""``kpihub reconcile``: exit 0 when everything matches, 1 when differences remain, 2 for bad
input (one line, no traceback); ``--json`` prints the reconciliation and ``--export`` writes the
same to a workbook that reads back equal to it."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from hub.cli import app
from hub.reconcile.export import EXPLANATION_COLUMNS, VALUE_COLUMNS

from .conftest import KPIHUB, REPORT, write_report

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "240"})


def test_differences_exit_1_with_each_explained(seller, files):
    report, column_map = files
    done = run("reconcile", str(report), "--map", str(column_map))
    assert done.exit_code == 1, done.output
    assert "27 values compared: 17 matched, 10 explained: differences remain" in done.output
    for text in (
        "kpihub counts order T1-2 (25.00 GBP = 225.00 CNY) on 2026-02-10 but the report's order list",
        "the report converts 15.00 GBP at 9.100000 CNY per GBP",
        "refund R2 of order S1-1 (5.00 SGD = 26.50 CNY): kpihub dates it by its refund, 2026-02-11; the "
        "report by its order, 2026-02-10",
        "order A1-2 (50.00 USD = 355.00 CNY) falls on 2026-02-10 in America/Los_Angeles, where kpihub "
        "counts it, and on 2026-02-11 in Asia/Shanghai, where the report does",
    ):
        assert text in done.output.replace("\n", " ").replace("│", "") or _folded(text, done.output), text


def _folded(text: str, output: str) -> bool:
    """Whether ``text`` is in the table, whose cells wrap long sentences over lines."""
    cells = [line.split("│")[-2].strip() for line in output.splitlines() if line.count("│") > 2]
    return text in " ".join(cells)


def test_everything_matches_exit_0(seller, tmp_path, files):
    _, column_map = files
    report = write_report(tmp_path / "agrees.xlsx", {**REPORT, **KPIHUB}, detail=[])
    done = run("reconcile", str(report), "--map", str(column_map))
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "27 values compared: 27 matched: everything matches"


def _cell(value):
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _plain(value, column):
    if value is None or column in ("period", "kpihub_day", "report_day", "order_day", "refund_day"):
        return value
    try:
        return float(Decimal(value))
    except (ArithmeticError, TypeError, ValueError):
        return value


def test_json_and_the_exported_workbook_hold_the_same(seller, files, tmp_path):
    report, column_map = files
    out = tmp_path / "reconciliation.xlsx"
    done = run("reconcile", str(report), "--map", str(column_map), "--json", "--export", str(out))
    assert done.exit_code == 1, done.output
    printed = json.loads(done.output)
    assert printed["counts"]["explained"] == 10 and printed["matched"] is False
    book = load_workbook(out, read_only=True)
    values = list(book["values"].iter_rows(values_only=True))
    assert values[0] == VALUE_COLUMNS
    expected = [tuple(_plain(row[c], c) for c in VALUE_COLUMNS) for row in printed["rows"]]
    assert [tuple(_cell(v) for v in row) for row in values[1:]] == expected
    explanations = list(book["explanations"].iter_rows(values_only=True))
    assert explanations[0] == EXPLANATION_COLUMNS
    expected = []
    for row in printed["rows"]:
        where = {"metric_id": row["metric_id"], "scope_id": row["scope_id"], "period": row["period"]}
        expected += [
            tuple(_plain({**e, **where}[c], c) for c in EXPLANATION_COLUMNS) for e in row["explanations"]
        ]
    assert len(expected) == 3 * 3 + 3 + 2 + 2  # A1's three orders thrice, T1-2 thrice, the rate, R2
    assert [tuple(_cell(v) for v in row) for row in explanations[1:]] == expected
    summary = dict(book["summary"].iter_rows(values_only=True))
    assert (summary["report"], summary["explained"], summary["matched"]) == (str(report), 10, 17)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"file": "missing.xlsx"}, "error: the report missing.xlsx does not exist"),
        ({"map": "missing.yaml"}, "error: the column map missing.yaml does not exist"),
        ({"sheet": "日报"}, "has no sheet '日报' (the map's sheet); its sheets are: '销售日报', '订单明细'"),
        ({"cell": "n/a"}, "sheet '销售日报': row 2, column C (销售额): 'n/a' is not a number"),
        ({"tenant": "nobody"}, "error: no tenant named 'nobody' (tenants: default)"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(seller, files, tmp_path, change, expected):
    report, column_map = files
    if "sheet" in change:
        column_map.write_text(
            column_map.read_text(encoding="utf-8").replace("sheet: 销售日报", "sheet: 日报")
        )
    if "cell" in change:
        book = load_workbook(report)
        book["销售日报"]["C2"] = change["cell"]
        book.save(report)
    args = ["reconcile", change.get("file", str(report)), "--map", change.get("map", str(column_map))]
    args += ["--tenant", change["tenant"]] if "tenant" in change else []
    done = run(*args)
    assert done.exit_code == 2, done.output
    assert expected in done.output
    assert len(done.output.strip().splitlines()) == 1 and "Traceback" not in done.output
