"""Targets through Excel: a round trip keeps every target; a bad sheet names its cells and changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from hub.kpi.decompose import decompose
from hub.kpi.targets import list_targets, set_target
from hub.kpi.xlsx import export_xlsx, import_xlsx
from hub.store import open_store
from sdk import ConfigError

# Targets reach the database through the same code as in test_decompose, which runs on every one.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_round_trip_keeps_every_target(store, org, tmp_path):
    set_target(
        store,
        metric_id="net_sales",
        grain="quarter",
        period="2026-Q2",
        scope_type="tenant",
        scope_id="default",
        value="9876543.21",
    )
    decompose(store, metric_id="net_sales", grain="quarter", period="2026-Q2")
    set_target(
        store,
        metric_id="refund_rate",
        grain="month",
        period="2026-04",
        scope_type="shop",
        scope_id="amazon:S07",
        value="0.035",
    )
    set_target(
        store, metric_id="units", grain="year", period="2026", scope_type="team", scope_id="T2", value=1200
    )
    original = list_targets(store)
    assert len(original) > 100
    path = tmp_path / "targets.xlsx"
    assert export_xlsx(store, path) == len(original)

    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    other.migrate()
    try:
        assert import_xlsx(other, path) == len(original)
        assert list_targets(other) == original
    finally:
        other.dispose()


def _workbook(path, header, *rows, title="targets"):
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


HEADER = ["metric_id", "grain", "period", "scope_type", "scope_id", "target_value"]


def test_chinese_headers_dates_and_numbers_as_typed_in_excel(lite_store, tmp_path):
    store = lite_store
    path = _workbook(
        tmp_path / "cn.xlsx",
        ["指标", "粒度", "周期", "范围类型", "范围", "目标值"],
        ["gmv", "month", dt.datetime(2026, 5, 1), "shop", "amazon:S01", 15000.5],
        ["gmv", "year", 2026, "tenant", "default", "1,200,000"],
        [None, None, None, None, None, None],
        ["orders", "quarter", "2026-Q3", "person", "P03", 800],
    )
    assert import_xlsx(store, path) == 3
    got = {(t.metric_id, t.period_start, t.scope_id): t.target_value for t in list_targets(store)}
    assert got == {
        ("gmv", dt.date(2026, 5, 1), "amazon:S01"): Decimal("15000.5"),
        ("gmv", dt.date(2026, 1, 1), "default"): Decimal(1200000),
        ("orders", dt.date(2026, 7, 1), "P03"): Decimal(800),
    }


def test_a_bad_sheet_names_each_bad_cell_and_imports_nothing(lite_store, tmp_path):
    store = lite_store
    set_target(
        store,
        metric_id="gmv",
        grain="month",
        period="2026-04",
        scope_type="tenant",
        scope_id="default",
        value=1,
    )
    before = list_targets(store)
    path = _workbook(
        tmp_path / "bad.xlsx",
        HEADER,
        ["gmv", "month", "2026-04", "shop", "amazon:S01", 100],
        ["gmv", "month", "2026-04", "shop", "amazon:S02", "lots"],
        ["gmv", "month", "2026-04-15", "shop", "amazon:S03", 100],
        ["gmv", "fortnight", "2026-04", "shop", "amazon:S04", 100],
        ["gmv", "month", "2026-04", "shop", "amazon:S01", 200],
        ["gmv", "month", "2026-04", "shop", None, 100],
        ["gmv", "month", "2026-04", "shop", "amazon:S05", -3],
    )
    with pytest.raises(ConfigError) as caught:
        import_xlsx(store, path)
    message = str(caught.value)
    assert "6 problem(s), nothing imported" in message
    assert "targets!F3: target value 'lots' is not a number" in message
    assert "targets!C4: 2026-04-15 is not the first day of a month" in message
    assert "targets!A5: grain 'fortnight' is not one of month, quarter, year" in message
    assert "targets!A6: the same target as row 2" in message
    assert "targets!E7: scope_id is empty" in message
    assert "targets!F8" in message
    assert list_targets(store) == before


def test_unusable_files_are_clear_errors(lite_store, tmp_path):
    store = lite_store
    missing_column = _workbook(tmp_path / "cols.xlsx", HEADER[:5], ["gmv", "month", "2026-04", "shop", "x"])
    with pytest.raises(ConfigError, match=r"header row \(row 1\) has no target_value column"):
        import_xlsx(store, missing_column)
    not_xlsx = tmp_path / "targets.xlsx"
    not_xlsx.write_text("metric_id,grain\n")
    with pytest.raises(ConfigError, match=r"not an Excel \.xlsx workbook"):
        import_xlsx(store, not_xlsx)
    with pytest.raises(ConfigError, match="does not exist"):
        import_xlsx(store, tmp_path / "nowhere.xlsx")
    # A workbook whose targets sheet is not first is still read from the targets sheet.
    path = _workbook(tmp_path / "two.xlsx", HEADER, ["gmv", "month", "2026-04", "shop", "amazon:S09", 5])
    book = load_workbook(path)
    book.create_sheet("notes", 0)
    book.save(path)
    assert import_xlsx(store, path) == 1
