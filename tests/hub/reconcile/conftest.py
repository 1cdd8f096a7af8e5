"""A small seller with known orders, refunds and rates, and a hand report with planted differences.

Three shops in three zones (February 2026, no daylight saving anywhere), base currency CNY at
fixed rates: USD 7.1, SGD 5.3, GBP 9.0. kpihub's figures (shop's site day, refunds by refund
day) and the report's are worked out by hand below; ``PLANTED`` says what differs and why.

=============  ==========================================  ======================================
shop           orders (UTC)                                kpihub's days
=============  ==========================================  ======================================
amazon:A1      A1-4 Feb 10 03:00 20 USD                    Feb 9 (Los Angeles, UTC-8)
(US, LA)       A1-1 Feb 10 18:00 100 USD                   Feb 10
               A1-2 Feb 11 07:30 50 USD                    Feb 10 (23:30 local)
               A1-3 Feb 11 20:00 30 USD                    Feb 11
               A1-5 Feb 10 19:00 999 USD, cancelled        -
               R1 (A1-1) Feb 11 20:00 10 USD               Feb 11
shopee:S1      S1-1 Feb 10 02:00 80 SGD                    Feb 10 (Singapore, UTC+8)
(SG)           S1-2 Feb 10 05:00 40 SGD                    Feb 10
               S1-3 Feb 11 03:00 60 SGD                    Feb 11
               R2 (S1-1) Feb 11 06:00 5 SGD                Feb 11
tiktok:T1      T1-1 Feb 10 12:00 10 GBP                    Feb 10 (London, UTC+0)
(UK)           T1-2 Feb 10 23:30 25 GBP                    Feb 10
               T1-3 Feb 11 09:00 15 GBP                    Feb 11
               R3 (T1-1) requested, not completed          -
=============  ==========================================  ======================================
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from hub.kpi import compute
from hub.store.tables import standard_tables, tenants
from sdk import STANDARD_RECORDS

FEB = dt.date(2026, 2, 1)
RATES = {"USD": Decimal("7.1"), "SGD": Decimal("5.3"), "GBP": Decimal("9.0")}
SHOPS = [
    ("amazon", "A1", "US", "Amazon US", "America/Los_Angeles", "USD"),
    ("shopee", "S1", "SG", "Shopee SG", "Asia/Singapore", "SGD"),
    ("tiktok", "T1", "UK", "TikTok UK", "Europe/London", "GBP"),
]
ORDERS = [  # shop, order id, UTC time, amount, cancelled
    ("amazon:A1", "A1-4", "2026-02-10T03:00", "20", False),
    ("amazon:A1", "A1-1", "2026-02-10T18:00", "100", False),
    ("amazon:A1", "A1-2", "2026-02-11T07:30", "50", False),
    ("amazon:A1", "A1-3", "2026-02-11T20:00", "30", False),
    ("amazon:A1", "A1-5", "2026-02-10T19:00", "999", True),
    ("shopee:S1", "S1-1", "2026-02-10T02:00", "80", False),
    ("shopee:S1", "S1-2", "2026-02-10T05:00", "40", False),
    ("shopee:S1", "S1-3", "2026-02-11T03:00", "60", False),
    ("tiktok:T1", "T1-1", "2026-02-10T12:00", "10", False),
    ("tiktok:T1", "T1-2", "2026-02-10T23:30", "25", False),
    ("tiktok:T1", "T1-3", "2026-02-11T09:00", "15", False),
]
REFUNDS = [  # shop, refund id, order id, UTC time, amount, status
    ("amazon:A1", "R1", "A1-1", "2026-02-11T20:00", "10", "completed"),
    ("shopee:S1", "R2", "S1-1", "2026-02-11T06:00", "5", "completed"),
    ("tiktok:T1", "R3", "T1-1", "2026-02-11T10:00", "4", "requested"),
]
D9, D10, D11, D12 = (dt.date(2026, 2, d) for d in (9, 10, 11, 12))

# kpihub's values, by hand: (shop, day) -> (gmv, orders, net_sales) in CNY.
KPIHUB = {
    ("amazon:A1", D10): (Decimal("1065.00"), 2, Decimal("1065.00")),  # 150 USD
    ("amazon:A1", D11): (Decimal("213.00"), 1, Decimal("142.00")),  # 30 USD, R1 10 USD
    ("shopee:S1", D10): (Decimal("636.00"), 2, Decimal("636.00")),  # 120 SGD
    ("shopee:S1", D11): (Decimal("318.00"), 1, Decimal("291.50")),  # 60 SGD, R2 5 SGD
    ("tiktok:T1", D10): (Decimal("315.00"), 2, Decimal("315.00")),  # 35 GBP
    ("tiktok:T1", D11): (Decimal("135.00"), 1, Decimal("135.00")),  # 15 GBP
}
# The report: the same, except what was planted (see PLANTED).
REPORT = {
    ("amazon:A1", D10): (Decimal("142.00"), 1, Decimal("142.00")),  # China time: A1-4 only
    ("amazon:A1", D11): KPIHUB["amazon:A1", D11],
    ("shopee:S1", D10): (Decimal("636.00"), 2, Decimal("609.50")),  # R2 dated by its order
    ("shopee:S1", D11): (Decimal("318.00"), 1, Decimal("318.00")),
    ("tiktok:T1", D10): (Decimal("90.00"), 1, Decimal("90.00")),  # T1-2 left out
    ("tiktok:T1", D11): (Decimal("136.50"), 1, Decimal("136.50")),  # at 9.10
    ("amazon:A1", D12): (Decimal(0), 0, Decimal(0)),
    ("shopee:S1", D12): (Decimal(0), 0, Decimal(0)),
    ("tiktok:T1", D12): (Decimal(0), 0, Decimal(0)),
}
LABELS = {"amazon:A1": "Amazon US", "shopee:S1": "S1", "tiktok:T1": "tiktok:T1"}
"""How the report names each shop: by name, by the platform's id, by kpihub's scope id."""
DETAIL = [  # the report's order list: T1 (without T1-2) and S1, not A1
    ("tiktok:T1", "T1-1", D10, Decimal("90.00")),
    ("tiktok:T1", "T1-3", D11, Decimal("136.50")),
    ("shopee:S1", "S1-1", D10, Decimal("424.00")),
    ("shopee:S1", "S1-2", D10, Decimal("212.00")),
    ("shopee:S1", "S1-3", D11, Decimal("318.00")),
]
MAP = """\
sheet: 销售日报
scope: shop
grain: day
columns:
  date: 日期
  shop: 店铺
  metrics:
    gmv: 销售额
    orders: 订单数
    net_sales: 净销售额
currency: CNY
tolerance: 0.01
timezone: Asia/Shanghai
orders:
  sheet: 订单明细
  columns:
    order_id: 订单号
    shop: 店铺
    date: 日期
    amount: 金额
"""
METRICS = ["gmv", "orders", "net_sales"]
"""What the report compares; computing only these (at day and month) keeps the tests quick."""
HEADER = ["日期", "店铺", "销售额", "订单数", "净销售额"]


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def seed(store, tenant: str = "default") -> None:
    """Write the seller's standard rows and compute its KPIs."""
    at = dt.datetime(2026, 2, 20, tzinfo=dt.UTC)
    rows: dict[str, list[dict]] = {name: [] for name in ("shops", "orders", "refunds", "fx_rates")}
    for platform, shop_id, site, name, zone, currency in SHOPS:
        rows["shops"].append(
            {"platform": platform, "shop_id": shop_id, "site": site, "shop_name": name, "timezone": zone,
             "currency": currency}
        )  # fmt: skip
    currency_of = {f"{p}:{s}": c for p, s, *_, c in SHOPS}
    for shop, order_id, when, amount, cancelled in ORDERS:
        platform, shop_id = shop.split(":")
        rows["orders"].append(
            {"platform": platform, "shop_id": shop_id, "order_id": order_id,
             "status": "cancelled" if cancelled else "paid", "currency": currency_of[shop],
             "created_at": _utc(when), "updated_at": _utc(when), "gross_amount": Decimal(amount)}
        )  # fmt: skip
    for shop, refund_id, order_id, when, amount, status in REFUNDS:
        platform, shop_id = shop.split(":")
        rows["refunds"].append(
            {"platform": platform, "shop_id": shop_id, "refund_id": refund_id, "order_id": order_id,
             "amount": Decimal(amount), "currency": currency_of[shop], "created_at": _utc(when),
             "status": status}
        )  # fmt: skip
    for n in range(28):
        for currency, rate in RATES.items():
            rows["fx_rates"].append(
                {
                    "date": FEB + dt.timedelta(days=n),
                    "currency": currency,
                    "base_currency": "CNY",
                    "rate": rate,
                }
            )
    with store.begin() as conn:
        tid = conn.execute(
            tenants.insert().values(name=tenant, base_currency="CNY", created_at=at)
        ).inserted_primary_key[0]
        for table, records in rows.items():
            model = STANDARD_RECORDS[table]
            conn.execute(
                standard_tables[table].insert(),
                [{**model(**r).model_dump(), "tenant_id": tid, "ingested_at": at} for r in records],
            )
    compute(
        store, tenant, metrics=METRICS, grains=("day", "month"), scopes=("tenant", "platform", "site", "shop")
    )


def write_report(
    path: Path, figures: dict | None = None, *, detail: list | None = None, labels: dict | None = None
) -> Path:
    """The report as the seller's Excel: figures by day and shop, and its order list."""
    figures = REPORT if figures is None else figures
    labels = LABELS if labels is None else labels
    book = Workbook()
    sheet = book.active
    sheet.title = "销售日报"
    sheet.append(HEADER)
    for (shop, day), (gmv, orders, net) in sorted(figures.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        sheet.append([day, labels[shop], gmv, orders, net])
    orders_sheet = book.create_sheet("订单明细")
    orders_sheet.append(["订单号", "店铺", "日期", "金额"])
    for shop, order_id, day, amount in DETAIL if detail is None else detail:
        orders_sheet.append([order_id, labels[shop], day, amount])
    book.save(path)
    return path


@pytest.fixture
def seller(hub):
    """The hub of ``tests/conftest.py`` with the seller's rows and computed KPIs."""
    seed(hub.ready_store)
    return hub


@pytest.fixture
def files(tmp_path):
    """The planted report and its column map in a folder of their own."""
    folder = tmp_path / "reconcile"
    folder.mkdir()
    (folder / "map.yaml").write_text(MAP, encoding="utf-8")
    return write_report(folder / "seller-report.xlsx"), folder / "map.yaml"
