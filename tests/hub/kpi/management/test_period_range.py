"""Periods and dates are held to the supported range (2000-2100) where users give them, and a
target stored outside it before the check existed no longer breaks the tenant's refresh."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from hub.cli import app
from hub.kpi.target_periods import (
    FIRST_DAY,
    LAST_DAY,
    parse_period,
    period_end,
    previous_period,
)
from hub.kpi.targets import Target, list_targets, refresh_attainment, set_target, tenant_id, write_targets
from hub.kpi.xlsx import import_xlsx
from sdk import ConfigError

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.mark.parametrize(
    ("grain", "period"),
    [("month", "9999-12"), ("month", "0000-01"), ("quarter", "1999-Q4"), ("year", "2101"),
     ("month", "0001-01-01"), ("month", "9999-12-01"), ("month", dt.date(9999, 12, 1)),
     ("year", dt.date(1999, 1, 1))],
)  # fmt: skip
def test_a_period_outside_the_range_is_a_config_error_naming_it(grain, period):
    with pytest.raises(ConfigError, match="outside the supported range") as caught:
        parse_period(grain, period)
    assert "2000" in str(caught.value) and "2100" in str(caught.value)


@pytest.mark.parametrize("grain", ["month", "quarter", "year"])
def test_every_period_in_the_range_has_an_end_and_a_predecessor(grain):
    # The reason for the bounds: what is computed from a period must stay a date.
    first = parse_period(grain, FIRST_DAY)
    last = parse_period(grain, {"month": "2100-12", "quarter": "2100-Q4", "year": "2100"}[grain])
    assert (first, last) == (FIRST_DAY, dt.date(2100, {"month": 12, "quarter": 10, "year": 1}[grain], 1))
    assert period_end(grain, last) == LAST_DAY + dt.timedelta(days=1)
    assert previous_period(grain, first) < FIRST_DAY


def _bad_target(store, period_start):
    """A target as stored before periods were checked (written past the checks, as then)."""
    bad = Target("gmv", "month", period_start, "tenant", "default", Decimal(5))
    with store.begin() as conn:
        write_targets(conn, tenant_id(conn, "default", create=True), [bad], actor="before-the-fix")
    return bad


@SQLITE_ONLY
@pytest.mark.parametrize("start", [dt.date(9999, 12, 1), dt.date(1, 1, 1)])
def test_a_stored_target_outside_the_range_is_skipped_with_a_reason(store, start):
    set_target(
        store,
        metric_id="gmv",
        grain="month",
        period="2026-04",
        scope_type="tenant",
        scope_id="default",
        value=10,
    )
    _bad_target(store, start)
    skipped: list[str] = []
    assert refresh_attainment(store, as_of=dt.date(2026, 4, 10), skipped=skipped) == 1
    assert len(skipped) == 1
    assert f"gmv/month/{start}/tenant/default" in skipped[0]
    assert "outside the supported range 2000-01-01 to 2100-12-31" in skipped[0]
    # Nothing else is touched, and the row can still be deleted by its period.
    assert {t.period_start for t in list_targets(store)} == {dt.date(2026, 4, 1), start}


def run(*args):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def clean_error(result, fragment):
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0], lines[0]


@SQLITE_ONLY
def test_the_commands_refuse_periods_and_dates_outside_the_range(hub_env, store):
    assert run("init").exit_code == 0
    target = ["targets", "set", "gmv", "--grain", "month", "--scope", "tenant:default", "--value", "1"]
    for period in ("9999-12", "0000-01"):
        clean_error(run(*target, "--period", period), "use a year from 2000 to 2100")
    clean_error(
        run("targets", "show", "--as-of", "9999-12-31"),
        "--as-of 9999-12-31 is outside the supported range: use a date from 2000-01-01 to 2100-12-31",
    )
    clean_error(run("targets", "show", "--grain", "month", "--period", "2101-01"), "from 2000 to 2100")
    clean_error(run("targets", "decompose", "gmv", "--grain", "year", "--period", "1999"), "2000 to 2100")
    clean_error(run("targets", "check", "gmv", "--grain", "year", "--period", "1999"), "2000 to 2100")
    clean_error(run("scorecard", "compute", "--grain", "month", "--period", "9999-12"), "2000 to 2100")
    clean_error(
        run("adjust", "person:P1", "--grain", "month", "--period", "9999-12", "--exempt", "--reason", "x"),
        "2000 to 2100",
    )
    clean_error(run("kpi", "show", "gmv", "--from", "0001-01-01"), "--from 0001-01-01 is outside")
    clean_error(run("kpi", "show", "gmv", "--to", "9999-12-31"), "--to 9999-12-31 is outside")
    clean_error(run("sync", "shop1", "--since", "1970-01-01"), "--since 1970-01-01 is outside")
    book = Workbook()
    book.active.append(["metric_id", "grain", "period", "scope_type", "scope_id", "target_value"])
    book.active.append(["gmv", "month", "9999-12", "tenant", "default", 1])
    book.save(hub_env / "far.xlsx")
    clean_error(run("targets", "import", "far.xlsx"), "Sheet!C2: period '9999-12' is outside")
    assert list_targets(store) == []


@SQLITE_ONLY
def test_a_workbook_import_refuses_the_period_as_a_date_cell(store, tmp_path):
    book = Workbook()
    book.active.append(["metric_id", "grain", "period", "scope_type", "scope_id", "target_value"])
    book.active.append(["gmv", "month", dt.datetime(9999, 12, 1), "tenant", "default", 1])
    book.save(tmp_path / "far.xlsx")
    with pytest.raises(ConfigError, match="9999-12-01 is outside the supported range"):
        import_xlsx(store, tmp_path / "far.xlsx")
    assert list_targets(store) == []
