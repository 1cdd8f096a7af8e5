"""Bad reports and bad column maps: one clear error naming the file, the sheet, the row and the
column at fault (or the map's key), and nothing compared."""

from __future__ import annotations

import io
from decimal import Decimal

import crafted_xlsx
import pytest
from openpyxl import Workbook

from hub.kpi.xlsx import WorkbookError
from hub.reconcile import parse_map, read_report, reconcile
from sdk import ConfigError

from .conftest import D10, HEADER, MAP, write_report

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _book(*rows, title="销售日报") -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(HEADER)
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def _map(text: str = MAP, **changes: str):
    for old, new in changes.items():
        text = text.replace(old, new)
    return parse_map(text, "map.yaml")


NO_DETAIL = MAP.split("orders:\n")[0]
"""The map without its order detail sheet."""


def test_a_sheet_the_report_does_not_have(tmp_path):
    path = write_report(tmp_path / "seller-report.xlsx")
    with pytest.raises(ConfigError) as caught:
        read_report(path, _map(**{"sheet: 销售日报": "sheet: 日报"}))
    message = str(caught.value)
    assert "seller-report.xlsx has no sheet '日报'" in message and "'销售日报', '订单明细'" in message


def test_a_column_the_header_does_not_have(tmp_path):
    path = write_report(tmp_path / "seller-report.xlsx")
    with pytest.raises(ConfigError) as caught:
        read_report(path, _map(**{"gmv: 销售额": "gmv: 销售金额"}))
    assert str(caught.value) == (
        "seller-report.xlsx, sheet '销售日报' has no column '销售金额' (for metric gmv) in its header, "
        "row 1; its columns are: '日期', '店铺', '销售额', '订单数', '净销售额'. "
        "Fix the header or the column map"
    )


def test_cells_that_are_not_dates_or_numbers_are_named_each():
    book = _book(
        (D10, "Amazon US", "1,065.00", 2, "¥1,065.00"),  # fine: thousands and a currency sign
        ("明天", "Amazon US", 1, 1, 1),
        (D10, "Shopee SG", "12a", 1, 1),
        ("2026-02-30", "", 1, True, None),
    )
    with pytest.raises(WorkbookError) as caught:
        read_report(book, parse_map(NO_DETAIL, "map.yaml"), name="seller-report.xlsx")
    problems = {(p.cell, p.name): p.why for p in caught.value.problems}
    assert problems == {
        ("销售日报!A3", "日期"): "'明天' is not a date; write 2026-03-05 or 2026年3月5日",
        ("销售日报!C4", "销售额"): "'12a' is not a number",
        ("销售日报!A5", "日期"): "'2026-02-30' is not a date of the calendar",
        ("销售日报!B5", "店铺"): "the shop is empty",
        ("销售日报!D5", "订单数"): "True is not a number",
    }
    message = str(caught.value)
    assert message.startswith(
        "seller-report.xlsx, sheet '销售日报': row 3, column A (日期): '明天' is not a date"
    )
    assert "row 4, column C (销售额): '12a' is not a number" in message


@SQLITE
def test_a_shop_that_matches_nothing_names_its_cell_and_the_shops(seller, tmp_path):
    figures = {("amazon:A1", D10): (Decimal(1), 1, Decimal(1)), ("nowhere", D10): (Decimal(1), 1, Decimal(1))}
    colmap = parse_map(NO_DETAIL, "map.yaml")
    labels = {"amazon:A1": "Amazon US", "nowhere": "Lazada VN"}
    path = write_report(tmp_path / "seller-report.xlsx", figures, detail=[], labels=labels)
    with pytest.raises(WorkbookError) as caught:
        reconcile(seller.ready_store, "default", read_report(path, colmap), colmap)
    [problem] = caught.value.problems
    assert (problem.cell, problem.name) == ("销售日报!B3", "店铺")
    assert str(caught.value) == (
        "seller-report.xlsx, sheet '销售日报': row 3, column B (店铺): shop 'Lazada VN' matches no kpihub "
        "shop; the shops are: Amazon US (amazon:A1), Shopee SG (shopee:S1), TikTok UK (tiktok:T1)"
    )


@SQLITE
def test_an_unknown_metric_names_the_map_key_and_the_metrics(seller, tmp_path):
    path = write_report(tmp_path / "seller-report.xlsx")
    colmap = _map(**{"orders: 订单数": "order_count: 订单数"})
    with pytest.raises(ConfigError) as caught:
        reconcile(seller.ready_store, "default", read_report(path, colmap), colmap, map_name="map.yaml")
    message = str(caught.value)
    assert message.startswith(
        "the column map map.yaml: columns.metrics.order_count: unknown metric 'order_count'"
    )
    assert "gmv" in message and "net_sales" in message


@SQLITE
def test_a_report_in_another_currency_says_why_not(seller, tmp_path):
    path = write_report(tmp_path / "seller-report.xlsx")
    colmap = _map(**{"currency: CNY": "currency: USD"})
    with pytest.raises(
        ConfigError, match=r"the report is in USD, but tenant 'default' counts amounts in CNY"
    ):
        reconcile(seller.ready_store, "default", read_report(path, colmap), colmap, map_name="map.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sheet: [unclosed", "the column map map.yaml is not valid YAML (line 1, column 17)"),
        ("- a list", "the column map map.yaml must be a YAML mapping"),
        (MAP + "colour: red\n", "colour: Extra inputs are not permitted"),
        (
            MAP.replace("  shop: 店铺\n", "", 1),
            "scope shop needs columns.shop: the header of the shop column",
        ),
        (
            MAP.replace("tolerance: 0.01", "tolerance: 0.01\ntolerance_pct: 1"),
            "give tolerance or tolerance_pct, not both",
        ),
        (MAP.replace("Asia/Shanghai", "China/Beijing"), "timezone: unknown timezone; use an IANA name"),
        (MAP.replace("grain: day", "grain: week"), "grain: Input should be 'day' or 'month'"),
        (MAP.replace("scope: shop", "scope: platform"), "scope platform needs columns.platform"),
        (
            MAP.replace("scope: shop", "scope: platform").replace("shop: 店铺", "platform: 平台", 1),
            "orders (an order detail sheet) needs scope: shop",
        ),
    ],
)
def test_bad_maps_name_the_key(text, expected):
    with pytest.raises(ConfigError) as caught:
        parse_map(text, "map.yaml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("the column map map.yaml")


def test_not_a_workbook_and_a_workbook_the_limits_refuse():
    colmap = parse_map(NO_DETAIL, "map.yaml")
    with pytest.raises(ConfigError, match=r"^report.xlsx is not an Excel .xlsx workbook"):
        read_report(io.BytesIO(b"date,shop\n"), colmap, name="report.xlsx")
    # The hub's guards for untrusted workbooks run before openpyxl reads anything.
    laughs = crafted_xlsx.workbook(sheet=crafted_xlsx.sheet(prolog=crafted_xlsx.BILLION_LAUGHS))
    with pytest.raises(ConfigError, match=r"declares a DTD"):
        read_report(io.BytesIO(laughs), colmap, name="report.xlsx")
    with pytest.raises(ConfigError, match=r"as a zip bomb does"):
        read_report(io.BytesIO(crafted_xlsx.ratio_bomb()), colmap, name="report.xlsx")
    with pytest.raises(
        ConfigError, match=r"report.txt: a report is an Excel workbook \(.xlsx\) or a .csv file"
    ):
        read_report(io.BytesIO(b"x"), colmap, name="report.txt")


def test_a_csv_report_reads_like_a_sheet_in_utf8_or_gbk():
    colmap = parse_map(NO_DETAIL.replace("sheet: 销售日报\n", ""), "map.yaml")
    text = (
        '日期,店铺,销售额,订单数,净销售额\n2026/2/10,Amazon US,"1,065.00",2,1065\n'
        "2026年2月11日,S1,318,1,291.5\n"
    )
    for encoding in ("utf-8-sig", "gb18030"):
        report = read_report(io.BytesIO(text.encode(encoding)), colmap, name="日报.csv")
        assert [
            (r.period.day, r.scope_label, r.values["gmv"], r.values["net_sales"]) for r in report.rows
        ] == [
            (10, "Amazon US", Decimal("1065.00"), Decimal(1065)),
            (11, "S1", Decimal(318), Decimal("291.5")),
        ]
        assert report.rows[0].cells["gmv"] == "日报!C2"
    bad = "日期,店铺,销售额,订单数,净销售额\n2026-02-10,S1,n/a,1,1\n"
    with pytest.raises(WorkbookError, match=r"^日报.csv: row 2, column C \(销售额\): 'n/a' is not a number$"):
        read_report(io.BytesIO(bad.encode()), colmap, name="日报.csv")
    with pytest.raises(ConfigError, match=r"which has no sheets"):
        read_report(io.BytesIO(text.encode()), parse_map(NO_DETAIL, "map.yaml"), name="日报.csv")


def test_an_order_listed_twice_and_a_row_given_twice(tmp_path):
    detail = [("tiktok:T1", "T1-1", D10, Decimal(90)), ("tiktok:T1", "T1-1", D10, Decimal(90))]
    path = write_report(tmp_path / "seller-report.xlsx", detail=detail)
    with pytest.raises(
        WorkbookError,
        match=r"sheet '订单明细': row 3, column A \(订单号\): order T1-1 of tiktok:T1 is listed twice "
        r"\(also row 2\)",
    ):
        read_report(path, parse_map(MAP, "map.yaml"))


@SQLITE
def test_the_same_shop_and_day_twice_even_under_two_names(seller):
    book = _book((D10, "Amazon US", 1, 1, 1), (D10, "amazon:A1", 1, 1, 1))
    colmap = parse_map(NO_DETAIL, "map.yaml")
    with pytest.raises(WorkbookError, match=r"row 3, column A \(日期\): the same shop and day as row 2"):
        reconcile(seller.ready_store, "default", read_report(book, colmap, name="r.xlsx"), colmap)
