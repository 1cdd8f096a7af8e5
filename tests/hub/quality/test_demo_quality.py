"""``kpihub check`` on the demo names every incompleteness the demo has, each counted right.

The demo (the smaller seller, on a fixed day) runs in-process; each check's counts are then
worked out again in plain Python from the rows of the standard tables (every row read, local
days from ``zoneinfo``), and must equal the findings'. The demo's known gaps are all there:
lines sold before their SKU's first cost, TikTok orders without platform fees, Mabang shops the
ERP connection does not map; and the Amazon FBA stock without a unit cost is not a finding,
since every such SKU has a cost the engine values it at.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from hub.context import HubContext
from hub.demo import SMALL, run_demo, settings_for
from hub.demo.world import build_seller
from hub.quality import run_checks
from hub.store.kpi_tables import kpi_fact
from hub.store.tables import connections, raw_records, standard_tables, sync_runs, tenants

DAY = dt.date(2026, 7, 15)
"""The day the demo runs on (its world ends the day before yesterday)."""
AT = dt.time(20)
"""In the evening (UTC), when it is already the next day in Mabang's GMT+8: the ERP's stock
snapshots and Amazon's are then of different days, and Amazon's FBA rows keep no unit cost."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """(the report, every standard row the checks read, the demo's seller) of one demo run."""
    workdir = tmp_path_factory.mktemp("quality") / "work"
    with time_machine.travel(dt.datetime.combine(DAY, AT, dt.UTC), tick=True):
        run_demo(workdir, 7, size=SMALL)
        ctx = HubContext(settings_for(workdir))
        try:
            report = run_checks(ctx.ready_store, "default")
            rows = _read(ctx.ready_store)
        finally:
            ctx.close()
    return report, rows, build_seller(7, size=SMALL, today=DAY)


def _read(store) -> dict[str, list]:
    tables = ["orders", "order_items", "refunds", "ad_performance", "inventory_snapshots", "sku_costs"]
    tables += ["shipments", "fx_rates", "shops"]
    with store.begin() as conn:
        rows = {name: conn.execute(sa.select(standard_tables[name])).all() for name in tables}
        rows["tenant"] = conn.execute(sa.select(tenants)).all()
        rows["quarantined"] = conn.execute(
            sa.select(connections.c.name, raw_records.c.stream, raw_records.c.data)
            .join(connections, connections.c.id == raw_records.c.connection_id)
            .where(raw_records.c.error.is_not(None))
        ).all()
        rows["facts"] = conn.execute(sa.select(kpi_fact)).all() if "coverage" in kpi_fact.c else []
        rows["runs"] = conn.execute(
            sa.select(connections.c.name, sync_runs.c.status, sync_runs.c.freshness, sync_runs.c.errors)
            .join(connections, connections.c.id == sync_runs.c.connection_id)
            .where(connections.c.status == "active", sync_runs.c.status != "running")
            .order_by(sync_runs.c.started_at, sync_runs.c.id)
        ).all()
    return rows


def _counts(report, check) -> dict[str | None, int]:
    return {f.scope_id or f.details.get("currency"): f.count for f in report.findings if f.check == check}


class Days:
    """Each row's local day in its shop's time zone, as the engine counts it."""

    def __init__(self, rows):
        self.zones = {(s.platform, s.shop_id): ZoneInfo(s.timezone) for s in rows["shops"]}

    def of(self, row, at: dt.datetime) -> dt.date:
        return at.astimezone(self.zones.get((row.platform, row.shop_id), dt.UTC)).date()


def _first_costs(rows) -> dict[str, dt.date]:
    first: dict[str, dt.date] = {}
    for cost in rows["sku_costs"]:
        first[cost.sku] = min(first.get(cost.sku, cost.valid_from), cost.valid_from)
    return first


def _cost_currency(rows, sku: str, day: dt.date) -> str | None:
    valid = [c for c in rows["sku_costs"] if c.sku == sku and c.valid_from <= day]
    return max(valid, key=lambda c: c.valid_from).currency if valid else None


def test_the_demo_has_the_gaps_it_is_known_for(demo):
    report, rows, seller = demo
    checks = {f.check for f in report.findings}
    assert {"missing_cost", "missing_fees", "quarantined"} <= checks
    assert report.unavailable == {}
    # The Mabang shops the connection leaves out (every shop not on Amazon) are named, one a reason.
    [mabang] = [f for f in report.findings if f.check == "quarantined"]
    listed = {r.data["shopId"] for r in rows["quarantined"] if r.name == "mabang" and r.stream == "shops"}
    assert (mabang.scope_id, mabang.count, len(listed)) == ("mabang", 8, 8)
    assert sum(s.platform != "amazon" for s in seller.world.shops) == 8
    for shop_id in listed:
        assert any(f"Mabang shop {shop_id} " in reason["reason"] for reason in mabang.details["reasons"])
    # Amazon FBA stock comes without a unit cost, but each of its SKUs has a cost on the day.
    first = _first_costs(rows)
    fba = [s for s in rows["inventory_snapshots"] if s.warehouse_type == "fba" and s.unit_cost is None]
    assert fba and all(s.sku in first and first[s.sku] <= s.date for s in fba)
    assert "stock_without_cost" not in checks


def test_missing_costs_fees_and_dates_counted_again_from_the_rows(demo):
    report, rows, _ = demo
    days, first = Days(rows), _first_costs(rows)
    orders = {(o.platform, o.shop_id, o.order_id): o for o in rows["orders"] if o.status != "cancelled"}
    skus: dict[str, set[str]] = defaultdict(set)
    for line in rows["order_items"]:
        order = orders.get((line.platform, line.shop_id, line.order_id))
        if order is None:
            continue
        day = days.of(order, order.created_at)
        if line.sku not in first or day < first[line.sku]:
            skus[f"{line.platform}:{line.shop_id}"].add(line.sku)
    assert _counts(report, "missing_cost") == {shop: len(s) for shop, s in skus.items()}
    assert skus  # the demo sells some SKUs before their first cost

    for check, column in (("missing_fees", "platform_fees"), ("missing_shipping_cost", "shipping_cost")):
        if column not in standard_tables["orders"].c:
            continue
        unknown = Counter(f"{o.platform}:{o.shop_id}" for o in orders.values() if getattr(o, column) is None)
        assert _counts(report, check) == dict(unknown), check
    assert any(key.startswith("tiktok:") for key in _counts(report, "missing_fees"))

    undated = Counter(
        f"{s.platform}:{s.shop_id}"
        for s in rows["shipments"]
        if s.shipped_at is not None and s.promised_delivery_at is None
    )
    assert _counts(report, "missing_delivery_dates") == dict(undated)


def test_rates_stock_and_shops_counted_again_from_the_rows(demo):
    report, rows, _ = demo
    days, first = Days(rows), _first_costs(rows)
    [tenant] = rows["tenant"]
    base = tenant.base_currency
    rates = {(r.currency, r.date) for r in rows["fx_rates"] if r.base_currency == base}
    needed: set[tuple[str, dt.date]] = set()
    orders = {(o.platform, o.shop_id, o.order_id): o for o in rows["orders"] if o.status != "cancelled"}
    for o in orders.values():
        needed.add((o.currency, days.of(o, o.created_at)))
        if getattr(o, "shipping_cost", None) is not None:
            needed.add((o.shipping_cost_currency, days.of(o, o.created_at)))
    for line in rows["order_items"]:
        order = orders.get((line.platform, line.shop_id, line.order_id))
        if order is not None:
            day = days.of(order, order.created_at)
            needed |= {(line.currency, day), (_cost_currency(rows, line.sku, day), day)}
    needed |= {(r.currency, days.of(r, r.created_at)) for r in rows["refunds"] if r.status == "completed"}
    needed |= {(a.currency, a.date) for a in rows["ad_performance"]}
    for s in rows["inventory_snapshots"]:
        currency = s.currency if s.unit_cost is not None else _cost_currency(rows, s.sku, s.date)
        needed.add((currency, s.date))
    missing = Counter(c for c, day in needed if c not in (None, base) and (c, day) not in rates)
    assert _counts(report, "missing_fx") == dict(missing)

    stock = Counter(
        f"{s.platform}:{s.shop_id}" if s.shop_id else None
        for s in rows["inventory_snapshots"]
        if s.unit_cost is None and (s.sku not in first or s.date < first[s.sku])
    )
    assert _counts(report, "stock_without_cost") == dict(stock)

    described = {(s.platform, s.shop_id) for s in rows["shops"] if s.site is not None or s.timezone != "UTC"}
    unknown = Counter(
        f"{o.platform}:{o.shop_id}" for o in orders.values() if (o.platform, o.shop_id) not in described
    )
    assert _counts(report, "unknown_shop") == dict(unknown)


def test_quarantine_and_coverage_counted_again_from_the_rows(demo):
    report, rows, _ = demo
    quarantined = Counter(r.name for r in rows["quarantined"])
    assert _counts(report, "quarantined") == dict(quarantined)
    if not rows["facts"]:
        pytest.skip("kpi_fact has no coverage column yet")
    below = Counter(
        f"{f.platform}:{f.shop_id}" if f.shop_id else None
        for f in rows["facts"]
        if f.coverage is not None and Decimal(str(f.coverage)) < 1
    )
    assert _counts(report, "low_coverage") == dict(below)


def test_connections_counted_again_from_their_runs(demo):
    report, rows, _ = demo
    newest: dict[str, dt.datetime] = {}
    last: dict[str, object] = {}
    for run in rows["runs"]:
        last[run.name] = run
        if run.status in ("succeeded", "partial"):
            for text in run.freshness.values():
                at = dt.datetime.fromisoformat(text)
                newest[run.name] = max(newest.get(run.name, at), at)
    limit = dt.timedelta(hours=report.stale_hours)
    stale = {name: 1 for name in last if name not in newest or report.checked_at - newest[name] > limit}
    assert _counts(report, "stale_data") == stale
    failing = {name: len(run.errors) or 1 for name, run in last.items() if run.status != "succeeded"}
    assert _counts(report, "sync_failed") == failing
