"""The tenant facts every check needs: its base currency, its shops' time zones, a row's day.

A row's day is the one the KPI engine counts it on: its local day in its shop's time zone (or
the tenant's, with the ``day_boundary: tenant`` basis option), computed in SQL with the
engine's own helpers (``hub.kpi.sqlfuncs``), so a finding names the days a KPI is missing.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.sql.elements import ColumnElement

from ..kpi.basis import CountingBasis
from ..kpi.sqlfuncs import local_day, utc_offset
from ..store.tables import standard_tables, tenants

__all__ = ["base_currency", "is_zone", "local_day_of", "shop_zones"]


def base_currency(conn: Connection, tenant_id: int) -> str:
    return str(conn.execute(sa.select(tenants.c.base_currency).where(tenants.c.id == tenant_id)).scalar_one())


@cache
def is_zone(name: str | None) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows."""
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def shop_zones(conn: Connection, tenant_id: int) -> frozenset[str]:
    """The known time zones the tenant's shops are in (an unknown one reads as UTC)."""
    shops = standard_tables["shops"]
    names = conn.execute(sa.select(shops.c.timezone).where(shops.c.tenant_id == tenant_id).distinct())
    return frozenset(name for name in names.scalars() if is_zone(name))


def local_day_of(
    from_: Any,
    table: Any,
    ts: ColumnElement[Any],
    basis: CountingBasis,
    zones: frozenset[str],
) -> tuple[Any, ColumnElement[Any]]:
    """``from_`` joined to what the day needs, and the local day of ``ts`` for rows of ``table``
    (which has ``platform`` and ``shop_id``), as the KPI engine counts it."""
    if basis.day_boundary == "tenant":
        return from_, local_day(ts, utc_offset(ts, basis.tenant_timezone, set()))
    shop = standard_tables["shops"].alias("day_shop")
    joined = from_.outerjoin(
        shop,
        sa.and_(
            shop.c.tenant_id == table.c.tenant_id,
            shop.c.platform == table.c.platform,
            shop.c.shop_id == table.c.shop_id,
        ),
    )
    return joined, local_day(ts, utc_offset(ts, shop.c.timezone, set(zones)))
