"""The demo's KPIs, every one at every grain and scope, equal an independent exact recomputation.

The small demo runs once (a fixed clock, seed 7). From the standard tables it leaves in its
store, the oracle of tests/fixtures/kpi_oracle.py (written from docs/kpi.md, not from the
engine) recomputes every catalogue KPI with ``decimal`` and every published ``kpi_fact`` value
and coverage must equal it exactly:

1. under the demo's own counting basis, as the demo computed it;
2. net of tax and shipping, refunds dated by their order, month-average rates;
3. tenant days, refund rate by amount, ad spend with a 5 % management fee in the margin,
   ``min_coverage`` 0.5 (values from their known rows);
4. after a later sync re-dates rows through the hub's landing (TikTok orders three days
   earlier, one of them before the first FX rate; a shipment three days later; an order line
   gone; a review three days earlier) and an *incremental* compute;

and the incremental compute's facts equal a full compute's, column by column.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from kpi_oracle import PUBLISHED, SCOPE_TYPES, Comparison, Key, expected_facts

from hub.connections import get_connection, open_source
from hub.context import HubContext
from hub.demo import SMALL, run_demo, settings_for
from hub.kpi import CountingBasis, compute, current_basis, set_counting_basis
from hub.mapping_versions import effective_mapping
from hub.store import open_store
from hub.store.kpi_tables import kpi_fact, kpi_moved
from hub.store.tables import raw_records, standard_tables, tenants
from hub.sync.engine import partition_defaults
from hub.sync.landing import Landing, PageRecords

TENANT = "default"
CLOCK = dt.datetime(2026, 10, 31, 10, tzinfo=dt.UTC)
DAY = 86400

BASES = {
    "net-by-order-month-average": {
        "tax_included": False,
        "shipping_included": False,
        "refund_dated_by": "order",
        "fx_rate": "month_average",
    },
    "tenant-days-amount-fee": {
        "day_boundary": "tenant",
        "refund_rate_by": "amount",
        "ad_spend_with_fee": True,
        "ad_management_fee_rate": 0.05,
        "margin_includes_ad_spend": True,
        "min_coverage": 0.5,
    },
}
"""Set on top of the defaults (not of the basis before), each followed by a compute."""
STAGES = ("demo", *BASES, "after-re-dating")

# -- re-dating rows the way a sync does ---------------------------------------------------------


def reland(
    ctx: HubContext, connection: str, stream_name: str, edits: dict[str, Callable[[Any], Any]]
) -> None:
    """Land edited copies of the connection's kept raw records (by record key) through the
    hub's ``Landing``, in one transaction, exactly as a sync lands a page that re-sends them."""
    store = ctx.ready_store
    info = get_connection(store, connection, tenant=TENANT)
    source = open_source(store, ctx.vault, ctx.registry, info, egress=ctx.egress)
    try:
        [stream] = [s for s in source.streams() if s.name == stream_name]
        defaults = partition_defaults(source, stream)
        with store.begin() as conn:
            rows = conn.execute(
                sa.select(raw_records.c.record_key, raw_records.c.partition_key, raw_records.c.data).where(
                    raw_records.c.connection_id == info.id,
                    raw_records.c.stream == stream_name,
                    raw_records.c.record_key.in_(list(edits)),
                )
            ).all()
            assert len(rows) == len(edits)
            pages = [
                PageRecords(
                    r.partition_key,
                    defaults.get(r.partition_key, defaults[None]),
                    [edits[r.record_key](copy.deepcopy(r.data))],
                )
                for r in rows
            ]
            landing = Landing(
                tenant_id=info.tenant_id,
                connection_id=info.id,
                run_id=None,
                stream=stream_name,
                primary_key=tuple(stream.primary_key),
                mapping=effective_mapping(conn, info.id, stream)[1],
                pages=pages,
                check=stream.problems,
                dialect=conn.dialect,
            )
            results = landing.write(conn)
        assert all(r.rejected == 0 and r.written for r in results), results
    finally:
        asyncio.run(source.aclose())


def _shift(field_name: str, seconds: int) -> Callable[[Any], Any]:
    def edit(data: Any) -> Any:
        data[field_name] += seconds
        return data

    return edit


def _drop_last_line(data: Any) -> Any:
    data["line_items"] = data["line_items"][:-1]
    return data


def _review_earlier(data: Any) -> Any:
    moved = dt.datetime.fromisoformat(data["created_at"].replace("Z", "+00:00")) - dt.timedelta(days=3)
    data["created_at"] = moved.strftime("%Y-%m-%dT%H:%M:%SZ")
    return data


@dataclass
class Redated:
    """What the later sync changed: natural keys by what was done to them."""

    orders: list[str] = field(default_factory=list)
    shipment_order: str = ""
    line_order: str = ""
    review: str = ""


def redate(ctx: HubContext) -> Redated:
    """Re-send TikTok orders and a seller-files review with other dates, and an order without
    its last line, through the landing."""
    with ctx.ready_store.begin() as conn:
        tiktok = get_connection(ctx.ready_store, "tiktok", tenant=TENANT)
        files = get_connection(ctx.ready_store, "seller-files", tenant=TENANT)
        orders = conn.execute(
            sa.select(raw_records.c.record_key, raw_records.c.data)
            .where(raw_records.c.connection_id == tiktok.id, raw_records.c.stream == "orders")
            .order_by(raw_records.c.record_key)
        ).all()
        review = conn.execute(
            sa.select(raw_records.c.record_key, raw_records.c.data)
            .where(raw_records.c.connection_id == files.id, raw_records.c.stream == "reviews")
            .order_by(raw_records.c.record_key)
            .limit(1)
        ).one()
    live = [o for o in orders if o.data.get("status") != "CANCELLED"]
    # The earliest order moves before the first day with FX rates (its amount becomes unknown),
    # a later one across a week boundary; another order's parcel ships three days later.
    first = min(live, key=lambda o: o.data["create_time"])
    middle = sorted(live, key=lambda o: o.data["create_time"])[len(live) // 2]
    shipped = next(o for o in live if o.data.get("collection_time") and o not in (first, middle))
    several = next(o for o in live if len(o.data["line_items"]) >= 2 and o not in (first, middle, shipped))
    reland(
        ctx,
        "tiktok",
        "orders",
        {
            first.record_key: _shift("create_time", -3 * DAY),
            middle.record_key: _shift("create_time", -3 * DAY),
            shipped.record_key: _shift("collection_time", 3 * DAY),
            several.record_key: _drop_last_line,
        },
    )
    reland(ctx, "seller-files", "reviews", {review.record_key: _review_earlier})
    return Redated(
        orders=[first.data["id"], middle.data["id"]],
        shipment_order=shipped.data["id"],
        line_order=several.data["id"],
        review=review.data["review_id"],
    )


# -- reading the store ----------------------------------------------------------------------------


def read_tables(conn: sa.Connection, tenant_id: int) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [dict(r) for r in conn.execute(sa.select(t).where(t.c.tenant_id == tenant_id)).mappings()]
        for name, t in standard_tables.items()
    }


def read_facts(conn: sa.Connection, tenant_id: int) -> dict[Key, dict[str, Any]]:
    rows = conn.execute(sa.select(kpi_fact).where(kpi_fact.c.tenant_id == tenant_id)).mappings()
    return {
        (r["metric_id"], r["grain"], r["scope_type"], r["scope_id"], r["period_start"]): dict(r) for r in rows
    }


@dataclass
class Recomputed:
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    reports: dict[str, Any] = field(default_factory=dict)
    before: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    after: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    facts_before: dict[Key, dict[str, Any]] = field(default_factory=dict)
    incremental: dict[Key, dict[str, Any]] = field(default_factory=dict)
    full: dict[Key, dict[str, Any]] = field(default_factory=dict)
    moved: list[dict[str, Any]] = field(default_factory=list)
    redated: Redated = field(default_factory=Redated)


def _compare(conn: sa.Connection, tenant_id: int, base: str, stage: str, found: Recomputed) -> None:
    basis = current_basis(conn, tenant_id).settings
    tables = read_tables(conn, tenant_id)
    facts = read_facts(conn, tenant_id)
    # sales_attainment is the target module's (from kpi_fact and kpi_target), not the engine's.
    published = {k: v for k, v in facts.items() if k[0] != "sales_attainment"}
    comparison = Comparison()
    comparison.compare(stage, expected_facts(tables, basis, tenant=TENANT, base_currency=base), published)
    found.comparisons[stage] = comparison


@pytest.fixture(scope="module")
def recomputed(tmp_path_factory) -> Iterator[Recomputed]:
    workdir = tmp_path_factory.mktemp("demo") / "work"
    found = Recomputed()
    # The whole module on the demo's clock: its watermarks and the re-landed rows' stamps
    # follow one another as they would on one day.
    with time_machine.travel(CLOCK, tick=True):
        result = run_demo(workdir, 7, size=SMALL)
        assert result.succeeded
        store = open_store(settings_for(workdir).database_url)
        try:
            with store.begin() as conn:
                tenant_id, base = conn.execute(
                    sa.select(tenants.c.id, tenants.c.base_currency).where(tenants.c.name == TENANT)
                ).one()
                _compare(conn, tenant_id, base, "demo", found)
            for stage, changes in BASES.items():
                with store.begin() as conn:
                    settings = {**CountingBasis().model_dump(), **changes}
                    set_counting_basis(conn, tenant_id, settings, actor="test", note=stage)
                found.reports[stage] = compute(store, TENANT)
                with store.begin() as conn:
                    _compare(conn, tenant_id, base, stage, found)
            with store.begin() as conn:
                found.before = read_tables(conn, tenant_id)
                found.facts_before = read_facts(conn, tenant_id)
            ctx = HubContext(settings_for(workdir))
            try:
                found.redated = redate(ctx)
            finally:
                ctx.close()
            found.reports["after-re-dating"] = compute(store, TENANT)
            with store.begin() as conn:
                found.after = read_tables(conn, tenant_id)
                found.moved = [dict(r) for r in conn.execute(sa.select(kpi_moved)).mappings()]
                _compare(conn, tenant_id, base, "after-re-dating", found)
                found.incremental = read_facts(conn, tenant_id)
            found.reports["full"] = compute(store, TENANT, full=True)
            with store.begin() as conn:
                found.full = read_facts(conn, tenant_id)
        finally:
            store.dispose()
        yield found


def test_every_stage_reaches_the_catalogue(recomputed):
    for stage in STAGES:
        comparison = recomputed.comparisons[stage]
        # The demo has no service tickets: no dispute or response times.
        assert set(PUBLISHED) - comparison.metrics == {"dispute_hours", "response_minutes"}, stage
        assert comparison.scopes == set(SCOPE_TYPES), stage
        assert comparison.facts > 30_000, stage
    assert all(recomputed.reports[stage].full for stage in BASES)
    # With half the inputs allowed unknown, values are computed from their known rows.
    assert {"gross_margin", "last_mile_delivery_rate"} <= recomputed.comparisons[
        "tenant-days-amount-fee"
    ].partial


def test_the_later_sync_moved_rows_and_the_compute_was_incremental(recomputed):
    before, after, redated = recomputed.before, recomputed.after, recomputed.redated

    def by(rows: list[dict[str, Any]], *names: str) -> dict[tuple[Any, ...], dict[str, Any]]:
        return {tuple(r[n] for n in names): r for r in rows}

    orders_before, orders_after = by(before["orders"], "order_id"), by(after["orders"], "order_id")
    for order_id in redated.orders:
        moved = orders_before[(order_id,)]["created_at"] - orders_after[(order_id,)]["created_at"]
        assert moved == dt.timedelta(days=3)
    ships_before = by(before["shipments"], "order_id", "shipment_id")
    ships_after = by(after["shipments"], "order_id", "shipment_id")
    [key] = [k for k in ships_before if k[0] == redated.shipment_order]
    assert ships_after[key]["shipped_at"] - ships_before[key]["shipped_at"] == dt.timedelta(days=3)
    lines_before = [r for r in before["order_items"] if r["order_id"] == redated.line_order]
    lines_after = [r for r in after["order_items"] if r["order_id"] == redated.line_order]
    assert len(lines_after) == len(lines_before) - 1
    reviews_before, reviews_after = by(before["reviews"], "review_id"), by(after["reviews"], "review_id")
    shift = reviews_before[(redated.review,)]["created_at"] - reviews_after[(redated.review,)]["created_at"]
    assert shift == dt.timedelta(days=3)
    # The landing kept where the moved rows were counted; the compute read it incrementally.
    assert {m["source_table"] for m in recomputed.moved} >= {"orders", "shipments", "reviews"}
    report = recomputed.reports["after-re-dating"]
    assert not report.full and report.partitions > 0, report
    # Facts changed where the orders left and where they arrived.
    changed = {
        k
        for k in recomputed.facts_before.keys() | recomputed.incremental.keys()
        if (recomputed.facts_before.get(k) or {}).get("value")
        != (recomputed.incremental.get(k) or {}).get("value")
    }
    assert {k[0] for k in changed} >= {"gmv", "orders", "units"}


def test_the_incremental_compute_ends_exactly_where_a_full_one_does(recomputed):
    assert recomputed.reports["full"].full
    columns = [c.name for c in kpi_fact.columns if c.name not in ("computed_at",)]
    incremental, full = recomputed.incremental, recomputed.full
    assert incremental.keys() == full.keys(), (
        sorted(incremental.keys() - full.keys(), key=str)[:5],
        sorted(full.keys() - incremental.keys(), key=str)[:5],
    )
    differ = [
        (k, c, incremental[k][c], full[k][c])
        for k in full
        for c in columns
        if incremental[k][c] != full[k][c]
    ]
    assert not differ, f"{len(differ)} values differ, e.g. {sorted(differ, key=str)[:5]}"


@pytest.mark.parametrize(
    ("stage", "metric"),
    [pytest.param(s, m, id=f"{s}-{m}") for s in STAGES for m in PUBLISHED],
)
def test_every_published_value_equals_the_recomputation(recomputed, stage, metric):
    differences = recomputed.comparisons[stage].differences.get(metric, [])
    assert not differences, f"{len(differences)} facts of {metric} differ, e.g.:\n" + "\n".join(
        sorted(differences)[:8]
    )
