"""``sales_attainment`` (销售额达成率) published into ``kpi_fact`` beside the engine's KPIs.

The engine cannot compute it alone: it is the sales figure divided by its target. Which sales
figure is a counting-basis choice (``sales_attainment_by``: ``net_sales`` by default, or
``gmv``). For every target set on that figure, one fact row carries the attainment as its
value, the actual as numerator and the target as denominator, so a BI tool can re-aggregate
it. A scope without a target has no row: "not configured", never 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, select

from ..store import upsert
from ..store.kpi_tables import CONTRACT_VERSION, dim_metric, kpi_fact
from .basis import current_basis

if TYPE_CHECKING:
    from .targets import Target

__all__ = ["METRIC_ID", "publish_sales_attainment", "sales_basis"]

METRIC_ID = "sales_attainment"

DIM_METRIC = {
    "metric_id": METRIC_ID,
    "name_en": "Sales attainment",
    "name_zh": "销售额达成率",
    "family": "sales",
    "kind": "derived",
    "formula": "net_sales (or gmv, per the counting basis) / target",
    "direction": "higher_is_better",
    "unit": "ratio",
    "provider": "kpihub.management",
    "contract_version": CONTRACT_VERSION,
}


def sales_basis(conn: Connection, tid: int) -> str:
    """The sales figure sales attainment is measured on, from the tenant's counting basis."""
    settings = current_basis(conn, tid).settings
    chosen = getattr(settings, "sales_attainment_by", "net_sales")
    return str(chosen) if chosen in ("net_sales", "gmv") else "net_sales"


def publish_sales_attainment(conn: Connection, tid: int, tenant: str, targets: Sequence[Target]) -> int:
    """Replace the tenant's ``sales_attainment`` facts with those of ``targets``; return how many."""
    basis = sales_basis(conn, tid)
    version = current_basis(conn, tid).version
    conn.execute(delete(kpi_fact).where(kpi_fact.c.tenant_id == tid, kpi_fact.c.metric_id == METRIC_ID))
    upsert(conn, dim_metric, [DIM_METRIC])
    sources = {
        (r.grain, r.period_start, r.scope_type, r.scope_id): r
        for r in conn.execute(
            select(
                kpi_fact.c.grain,
                kpi_fact.c.period_start,
                kpi_fact.c.scope_type,
                kpi_fact.c.scope_id,
                kpi_fact.c.platform,
                kpi_fact.c.shop_id,
                kpi_fact.c.currency,
                kpi_fact.c.basis_version,
            ).where(kpi_fact.c.tenant_id == tid, kpi_fact.c.metric_id == basis)
        )
    }
    now = dt.datetime.now(dt.UTC)
    rows = []
    for t in targets:
        # The tenant's scope id in kpi_fact is its name; a category under a shop has no fact row.
        if t.metric_id != basis or "/" in t.scope_id:
            continue
        scope_id = tenant if t.scope_type == "tenant" else t.scope_id
        source = sources.get((t.grain, t.period_start, t.scope_type, scope_id))
        rows.append(
            {
                "tenant_id": tid,
                "metric_id": METRIC_ID,
                "grain": t.grain,
                "period_start": t.period_start,
                "scope_type": t.scope_type,
                "scope_id": scope_id,
                "platform": source.platform if source else None,
                "shop_id": source.shop_id if source else None,
                "value": t.attainment,
                "numerator": t.actual_value,
                "denominator": float(t.target_value),
                "unit": "ratio",
                "currency": source.currency if source else None,
                "basis_version": source.basis_version if source else version,
                "computed_at": now,
                "contract_version": CONTRACT_VERSION,
            }
        )
    return upsert(conn, kpi_fact, rows)
