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
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, select

from ..store import upsert
from ..store.exact import VALUE_PLACES
from ..store.kpi_tables import CONTRACT_VERSION, dim_metric, kpi_fact
from .basis import current_basis
from .target_periods import TARGET_GRAINS

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


def _key(row: Any) -> tuple[str, dt.date, str, str]:
    return (row.grain, row.period_start, row.scope_type, row.scope_id)


def _exact_attainment(actual: Any, target: Any) -> Decimal | None:
    """Sales over target, exactly to ten places (half away from zero), as every published
    quotient is; sales are higher-is-better, so attainment is the plain ratio."""
    if actual is None or target is None or Decimal(target) == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 80
        ratio = Decimal(actual) / Decimal(target)
    return ratio.quantize(Decimal(1).scaleb(-VALUE_PLACES), rounding=ROUND_HALF_UP)


def publish_sales_attainment(conn: Connection, tid: int, tenant: str, targets: Sequence[Target]) -> int:
    """Make the tenant's ``sales_attainment`` facts those of ``targets``; return how many changed.

    Unchanged rows keep their ``computed_at``, so sinks (which push what changed since their
    watermark) do not push them again; rows whose target is gone are deleted.
    """
    basis = sales_basis(conn, tid)
    version = current_basis(conn, tid).version
    upsert(conn, dim_metric, [DIM_METRIC])
    columns = (kpi_fact.c.grain, kpi_fact.c.period_start, kpi_fact.c.scope_type, kpi_fact.c.scope_id)
    measured = (kpi_fact.c.platform, kpi_fact.c.shop_id, kpi_fact.c.currency, kpi_fact.c.basis_version)
    sources = {
        _key(r): r
        for r in conn.execute(
            select(*columns, *measured).where(
                kpi_fact.c.tenant_id == tid,
                kpi_fact.c.metric_id == basis,
                kpi_fact.c.grain.in_(TARGET_GRAINS),
            )
        )
    }
    existing = {
        _key(r): tuple(r)[4:]
        for r in conn.execute(
            select(*columns, kpi_fact.c.value, kpi_fact.c.numerator, kpi_fact.c.denominator, *measured).where(
                kpi_fact.c.tenant_id == tid, kpi_fact.c.metric_id == METRIC_ID
            )
        )
    }
    now = dt.datetime.now(dt.UTC)
    wanted: dict[tuple[str, dt.date, str, str], dict[str, Any]] = {}
    for t in targets:
        # The tenant's scope id in kpi_fact is its name; a category under a shop has no fact row.
        if t.metric_id != basis or "/" in t.scope_id:
            continue
        scope_id = tenant if t.scope_type == "tenant" else t.scope_id
        key = (t.grain, t.period_start, t.scope_type, scope_id)
        source = sources.get(key)
        wanted[key] = {
            "tenant_id": tid,
            "metric_id": METRIC_ID,
            "grain": t.grain,
            "period_start": t.period_start,
            "scope_type": t.scope_type,
            "scope_id": scope_id,
            "value": _exact_attainment(t.actual_value, t.target_value),
            "numerator": None if t.actual_value is None else Decimal(t.actual_value),
            "denominator": Decimal(t.target_value),
            "platform": source.platform if source else None,
            "shop_id": source.shop_id if source else None,
            "currency": source.currency if source else None,
            "basis_version": source.basis_version if source else version,
            "unit": "ratio",
            "computed_at": now,
            "contract_version": CONTRACT_VERSION,
        }
    fields = ("value", "numerator", "denominator", "platform", "shop_id", "currency", "basis_version")
    changed = [row for key, row in wanted.items() if existing.get(key) != tuple(row[f] for f in fields)]
    gone = [key for key in existing if key not in wanted]
    for grain, start, scope_type, scope_id in gone:
        conn.execute(
            delete(kpi_fact).where(
                kpi_fact.c.tenant_id == tid,
                kpi_fact.c.metric_id == METRIC_ID,
                kpi_fact.c.grain == grain,
                kpi_fact.c.period_start == start,
                kpi_fact.c.scope_type == scope_type,
                kpi_fact.c.scope_id == scope_id,
            )
        )
    return upsert(conn, kpi_fact, changed) + len(gone)
