"""The demo's planted report: every planted difference is found and explained down to the order,
refund or rate, and nothing else differs, whatever day the demo runs.

The demo runs in-process with the clock moved to fixed days (one crossing a month end, one a
daylight-saving change in the US and UK shops' zones). Each plant is first checked against the
demo's store with the test's own reading of the orders, refunds and rates (zoneinfo and plain
SQL), so the test knows independently which orders must be named.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook

from hub.context import HubContext
from hub.demo import SMALL, run_demo, settings_for
from hub.reconcile import load_map, read_report, reconcile

CHINA = ZoneInfo("Asia/Shanghai")


def _rows(engine, query, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(query), params).mappings().all()


def _utc(value) -> dt.datetime:
    at = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return at.replace(tzinfo=dt.UTC)


@pytest.fixture(scope="module", params=[dt.date(2026, 3, 2), dt.date(2026, 11, 3)], ids=str)
def demo(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo") / "work"
    with time_machine.travel(dt.datetime.combine(request.param, dt.time(9), dt.UTC), tick=True):
        run_demo(workdir, 7, size=SMALL)
    folder = workdir / "reconcile"
    planted = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
    plants = {p["kind"]: p for p in planted if p["kind"] != "refund_in_other_period"}
    plants["refunds"] = [p for p in planted if p["kind"] == "refund_in_other_period"]
    ctx = HubContext(settings_for(workdir))
    try:
        colmap = load_map(folder / "map.yaml")
        result = reconcile(
            ctx.ready_store, "default", read_report(folder / "seller-report.xlsx", colmap), colmap
        )
    finally:
        ctx.close()
    engine = sa.create_engine(f"sqlite:///{workdir / 'kpihub.db'}")
    yield folder, plants, result, engine
    engine.dispose()


def _zone(engine, shop_key):
    platform, shop_id = shop_key.split(":", 1)
    [row] = _rows(
        engine, "SELECT timezone FROM shops WHERE platform = :p AND shop_id = :s", p=platform, s=shop_id
    )
    return ZoneInfo(row["timezone"])


def _differing(result):
    return {(r.metric_id, r.scope_id, r.period): r for r in result.rows if r.status != "matched"}


def test_the_left_out_order_is_named_with_its_amount(demo):
    folder, plants, result, engine = demo
    plant = plants["left_out"]
    shop, day = plant["shop"], dt.date.fromisoformat(plant["day"])
    platform, shop_id = shop.split(":", 1)
    [order] = _rows(
        engine, "SELECT * FROM orders WHERE platform = :p AND shop_id = :s AND order_id = :o",
        p=platform, s=shop_id, o=plant["ident"],
    )  # fmt: skip
    assert order["status"] != "cancelled"
    assert _utc(order["created_at"]).astimezone(_zone(engine, shop)).date() == day
    listed = [
        r[0] for r in load_workbook(folder / "seller-report.xlsx")["订单明细"].iter_rows(values_only=True)
    ]
    assert plant["ident"] not in listed
    rows = _differing(result)
    for metric in ("gmv", "orders", "net_sales"):
        row = rows[metric, shop, day]
        assert row.status == "explained"
        [explanation] = row.explanations
        assert (explanation.kind, explanation.order_id) == ("missing_from_report", plant["ident"])
        assert (
            explanation.amount == Decimal(str(order["gross_amount"]))
            and explanation.currency == order["currency"]
        )


def test_the_day_in_china_time_names_every_order_that_moves(demo):
    _, plants, result, engine = demo
    plant = plants["china_time"]
    shop, day = plant["shop"], dt.date.fromisoformat(plant["day"])
    platform, shop_id = shop.split(":", 1)
    zone = _zone(engine, shop)
    moving = {}
    query = "SELECT order_id, created_at FROM orders WHERE platform = :p AND shop_id = :s"
    query += " AND status != 'cancelled'"
    for order in _rows(engine, query, p=platform, s=shop_id):
        at = _utc(order["created_at"])
        site, china = at.astimezone(zone).date(), at.astimezone(CHINA).date()
        if (site == day) != (china == day):
            moving[order["order_id"]] = (site, china)
    assert moving, "a shop's day in China time moves at least one order"
    row = _differing(result)["gmv", shop, day]
    assert row.status == "explained"
    assert {e.order_id: (e.kpihub_day, e.report_day) for e in row.explanations} == moving
    assert {e.kind for e in row.explanations} == {"another_day"}
    assert {(e.kpihub_zone, e.report_zone) for e in row.explanations} == {(str(zone), "Asia/Shanghai")}
    out = sum(1 for site, _ in moving.values() if site == day)
    orders = _differing(result).get(("orders", shop, day))
    assert (orders is not None) == (out != len(moving) - out)


def test_the_other_rate_is_the_planted_one(demo):
    _, plants, result, engine = demo
    plant = plants["another_rate"]
    shop, day = plant["shop"], dt.date.fromisoformat(plant["day"])
    rows = _differing(result)
    for metric in ("gmv", "net_sales"):
        row = rows[metric, shop, day]
        [rate] = row.explanations
        assert rate.kind == "another_rate" and row.status == "explained"
        [fx] = _rows(
            engine, "SELECT rate FROM fx_rates WHERE currency = :c AND base_currency = 'CNY' AND date = :d",
            c=rate.currency, d=day.isoformat(),
        )  # fmt: skip
        assert rate.kpihub_rate == Decimal(str(fx["rate"])).normalize()
        # The report's figures are to the cent, so its rate is known to 0.01 / amount.
        assert abs(rate.report_rate - Decimal(plant["rate"])) <= Decimal("0.01") / abs(rate.amount)
    assert ("orders", shop, day) not in rows


def test_refunds_on_their_orders_days_are_named_on_both_days(demo):
    _, plants, result, engine = demo
    refunds = plants["refunds"]
    assert refunds and len({p["shop"] for p in refunds}) == 1
    shop = refunds[0]["shop"]
    platform, shop_id = shop.split(":", 1)
    zone = _zone(engine, shop)
    days = {}
    for plant in refunds:
        [refund] = _rows(
            engine,
            "SELECT r.created_at, r.status, o.created_at AS ordered FROM refunds r JOIN orders o ON "
            "o.platform = r.platform AND o.shop_id = r.shop_id AND o.order_id = r.order_id "
            "WHERE r.platform = :p AND r.shop_id = :s AND r.refund_id = :r",
            p=platform, s=shop_id, r=plant["ident"],
        )  # fmt: skip
        assert refund["status"] == "completed"
        refunded = _utc(refund["created_at"]).astimezone(zone).date()
        ordered = _utc(refund["ordered"]).astimezone(zone).date()
        assert (refunded.isoformat(), ordered.isoformat()) == (
            plant["day"],
            plant["other_day"],
        ) and refunded != ordered
        for day in (refunded, ordered):
            days.setdefault(day, set()).add(plant["ident"])
    rows = {
        day: row
        for (metric, s, day), row in _differing(result).items()
        if s == shop and metric == "net_sales"
    }
    first, last = min(r.period for r in result.rows), max(r.period for r in result.rows)
    for day, idents in days.items():
        if first <= day <= last and len(idents) == 1:
            assert day in rows, f"net sales of {shop} on {day} should differ by refund {idents}"
    for day, row in rows.items():
        assert {(e.kind, e.refund_id) for e in row.explanations} == {("another_period", i) for i in days[day]}
        for explanation in row.explanations:
            plant = next(p for p in refunds if p["ident"] == explanation.refund_id)
            assert (str(explanation.refund_day), str(explanation.order_day)) == (
                plant["day"],
                plant["other_day"],
            )


def test_nothing_else_differs(demo):
    _, plants, result, _ = demo
    planted = {(p["shop"], dt.date.fromisoformat(p["day"])) for k, p in plants.items() if k != "refunds"}
    for refund in plants["refunds"]:
        planted |= {(refund["shop"], dt.date.fromisoformat(refund[day])) for day in ("day", "other_day")}
    differing = _differing(result)
    assert {(shop, day) for _, shop, day in differing} <= planted
    assert {(p["shop"], dt.date.fromisoformat(p["day"])) for k, p in plants.items() if k != "refunds"} <= {
        (shop, day) for _, shop, day in differing
    }
    assert all(
        row.status == "explained" and abs(row.unexplained) <= row.tolerance for row in differing.values()
    )
    assert result.counts["unexplained"] == result.counts["not_in_report"] == 0
    assert len(result.rows) == 12 * 30 * 3  # twelve shops, thirty days, three metrics
