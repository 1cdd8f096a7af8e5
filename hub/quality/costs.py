"""``missing_cost`` and ``stock_without_cost``: goods the KPIs cannot put a cost on.

The engine costs an order line at its SKU's cost valid on the order's (local) day, the
``sku_costs`` row with the latest ``valid_from`` on or before it; a stock snapshot at its own
unit cost or, without one, at its SKU's cost valid on the snapshot's day. A SKU's first
``valid_from`` is all it takes to tell: a line or snapshot dated before it (or a SKU with no
cost at all) has none, so each check is one join on the SKUs' first cost dates, grouped by
shop and SKU.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from ..kpi.basis import CountingBasis
from ..store.tables import standard_tables
from .days import local_day_of, shop_zones
from .finding import Finding, as_date, day_span, plural, shop_key

__all__ = ["missing_cost", "stock_without_cost"]

SHOWN = 20
"""SKUs a finding lists in its details (the most affected first); the count covers them all."""
COST_SOURCES = (
    "the ERP's SKU costs or a files connection's sku_costs.csv "
    "(sku, valid_from, purchase_cost, first_leg_cost, currency)"
)


def _first_costs(tenant_id: int) -> Any:
    c = standard_tables["sku_costs"]
    return (
        sa.select(c.c.sku, sa.func.min(c.c.valid_from).label("first"))
        .where(c.c.tenant_id == tenant_id)
        .group_by(c.c.sku)
        .subquery("first_cost")
    )


def _by_shop(rows: Sequence[Any]) -> dict[tuple[str | None, str | None], list[dict[str, Any]]]:
    """Per (platform, shop_id), its SKUs' rows, the most affected first."""
    shops: dict[tuple[str | None, str | None], list[dict[str, Any]]] = defaultdict(list)
    for platform, shop_id, sku, n, first, last, cost_from in rows:
        shops[(platform, shop_id)].append(
            {
                "sku": sku,
                "rows": int(n),
                "first_day": as_date(first),
                "last_day": as_date(last),
                "cost_valid_from": None if cost_from is None else as_date(cost_from),
            }
        )
    for skus in shops.values():
        skus.sort(key=lambda s: (-s["rows"], s["sku"]))
    return dict(sorted(shops.items(), key=lambda item: (item[0][0] or "", item[0][1] or "")))


def _cost_note(sku: dict[str, Any]) -> str:
    if sku["cost_valid_from"] is None:
        return "no cost at all"
    return f"its first cost is valid from {sku['cost_valid_from']}"


def _listed(skus: list[dict[str, Any]], unit: str) -> list[dict[str, Any]]:
    return [
        {
            "sku": s["sku"],
            unit: s["rows"],
            "first_day": str(s["first_day"]),
            "last_day": str(s["last_day"]),
            "cost_valid_from": None if s["cost_valid_from"] is None else str(s["cost_valid_from"]),
        }
        for s in skus[:SHOWN]
    ]


def missing_cost(conn: Connection, tenant_id: int, basis: CountingBasis) -> list[Finding]:
    """Per shop: the SKUs sold (orders not cancelled) on days before any cost of theirs is valid."""
    li, o = standard_tables["order_items"].alias("li"), standard_tables["orders"].alias("o")
    joined = li.join(
        o,
        sa.and_(
            o.c.tenant_id == li.c.tenant_id,
            o.c.platform == li.c.platform,
            o.c.shop_id == li.c.shop_id,
            o.c.order_id == li.c.order_id,
        ),
    )
    from_, day = local_day_of(joined, li, o.c.created_at, basis, shop_zones(conn, tenant_id))
    first = _first_costs(tenant_id)
    rows = conn.execute(
        sa.select(
            li.c.platform,
            li.c.shop_id,
            li.c.sku,
            sa.func.count(),
            sa.func.min(day),
            sa.func.max(day),
            sa.func.max(first.c.first),
        )
        .select_from(from_.outerjoin(first, first.c.sku == li.c.sku))
        .where(
            li.c.tenant_id == tenant_id,
            o.c.status != "cancelled",
            sa.or_(first.c.first.is_(None), day < first.c.first),
        )
        .group_by(li.c.platform, li.c.shop_id, li.c.sku)
    ).all()
    findings = []
    for (platform, shop_id), skus in _by_shop(rows).items():
        lines = sum(s["rows"] for s in skus)
        span = day_span(min(s["first_day"] for s in skus), max(s["last_day"] for s in skus))
        top = skus[0]
        findings.append(
            Finding(
                check="missing_cost",
                severity="error",
                count=len(skus),
                summary=(
                    f"{plural(len(skus), 'SKU')} sold on {plural(lines, 'order line')} ({span}) without a "
                    "cost valid on the order day: COGS, gross margin, inventory turnover and days of "
                    "inventory leave these lines out"
                ),
                example=(
                    f"{top['sku']}: {plural(top['rows'], 'line')} "
                    f"({day_span(top['first_day'], top['last_day'])}), {_cost_note(top)}"
                ),
                fix=(
                    "add each SKU's cost, valid from its first day sold, through "
                    f"{COST_SOURCES}; then `kpihub compute`"
                ),
                details={"lines": lines, "skus": _listed(skus, "lines")},
                scope="shop",
                scope_id=shop_key(platform, shop_id),
            )
        )
    return findings


def stock_without_cost(conn: Connection, tenant_id: int, basis: CountingBasis) -> list[Finding]:
    """Per shop (or for stock held for no shop): snapshots on hand with no unit cost of their
    own and no SKU cost valid on their day, so the engine's SKU-cost fallback finds none."""
    s = standard_tables["inventory_snapshots"].alias("s")
    first = _first_costs(tenant_id)
    rows = conn.execute(
        sa.select(
            s.c.platform,
            s.c.shop_id,
            s.c.sku,
            sa.func.count(),
            sa.func.min(s.c.date),
            sa.func.max(s.c.date),
            sa.func.max(first.c.first),
        )
        .select_from(s.outerjoin(first, first.c.sku == s.c.sku))
        .where(
            # Every snapshot, as the engine values every one: nothing on hand at an unknown cost
            # is an unknown value to it, not 0.
            s.c.tenant_id == tenant_id,
            s.c.unit_cost.is_(None),
            sa.or_(first.c.first.is_(None), s.c.date < first.c.first),
        )
        .group_by(s.c.platform, s.c.shop_id, s.c.sku)
    ).all()
    findings = []
    for (platform, shop_id), skus in _by_shop(rows).items():
        snapshots = sum(k["rows"] for k in skus)
        span = day_span(min(k["first_day"] for k in skus), max(k["last_day"] for k in skus))
        top = skus[0]
        findings.append(
            Finding(
                check="stock_without_cost",
                severity="error",
                count=snapshots,
                summary=(
                    f"{plural(snapshots, 'stock snapshot')} of {plural(len(skus), 'SKU')} ({span}) "
                    f"{'has' if snapshots == 1 else 'have'} neither a unit cost nor a SKU cost valid on "
                    "the day: inventory value, turnover and days of inventory leave them out"
                ),
                example=(
                    f"{top['sku']}: {plural(top['rows'], 'snapshot')} "
                    f"({day_span(top['first_day'], top['last_day'])}), {_cost_note(top)}"
                ),
                fix=(
                    f"add the SKUs' costs, valid from the first snapshot day, through {COST_SOURCES}, "
                    "or map the snapshots' unit cost; then `kpihub compute`"
                ),
                details={"snapshots": snapshots, "skus": _listed(skus, "snapshots")},
                scope="tenant" if shop_id is None else "shop",
                scope_id=None if shop_id is None else shop_key(platform, shop_id),
            )
        )
    return findings
