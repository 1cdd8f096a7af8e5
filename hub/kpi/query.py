"""``query_kpis``: read computed KPI values back, for the CLI, the admin API and the demo."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from sdk import ConfigError

from ..store import Store
from ..store.kpi_tables import kpi_fact
from .catalogue import Catalogue
from .engine import resolve_tenant
from .periods import GRAINS, SCOPES

__all__ = ["query_kpis"]


def query_kpis(
    store: Store,
    tenant: str,
    metric_id: str,
    *,
    grain: str = "month",
    scope_type: str | None = None,
    scope_id: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    catalogue: Catalogue | None = None,
) -> list[dict[str, Any]]:
    """kpi_fact rows of one metric and grain, oldest period first.

    ``scope_type`` (default: every scope type) and ``scope_id`` narrow the scope; ``start`` and
    ``end`` bound ``period_start`` (both inclusive). Unknown names raise a ``ConfigError``.
    """
    cat = catalogue or Catalogue.default()
    if not cat.get(metric_id).published:
        raise ConfigError(f"metric {metric_id!r} is a building block, not a published KPI")
    if grain not in GRAINS:
        raise ConfigError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    if scope_type is not None and scope_type not in SCOPES:
        raise ConfigError(f"unknown scope type {scope_type!r}; use one of {', '.join(SCOPES)}")
    if start and end and start > end:
        raise ConfigError(f"--from {start} is after --to {end}")
    f = kpi_fact
    with store.begin() as conn:
        tenant_id, _ = resolve_tenant(conn, tenant)
        stmt = sa.select(f).where(f.c.tenant_id == tenant_id, f.c.metric_id == metric_id, f.c.grain == grain)
        if scope_type is not None:
            stmt = stmt.where(f.c.scope_type == scope_type)
        if scope_id is not None:
            stmt = stmt.where(f.c.scope_id == scope_id)
        if start is not None:
            stmt = stmt.where(f.c.period_start >= start)
        if end is not None:
            stmt = stmt.where(f.c.period_start <= end)
        rows = conn.execute(stmt.order_by(f.c.period_start, f.c.scope_type, f.c.scope_id)).mappings().all()
    return [{k: v for k, v in row.items() if k != "tenant_id"} for row in rows]
