"""The old (shop, day) partitions of standard rows that moved or went since a compute.

The sync records them in ``kpi_moved`` (``hub.sync.moved``) as a shop and the raw dates the
row carried; here they become the partitions they were counted in, by the same day rule the
measures use (the shop's time zone, or the tenant's with the ``day_boundary`` basis option).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Connection

from ..store.kpi_tables import kpi_moved
from ..store.tables import standard_tables
from .atoms import NO_SHOP, MeasureContext

__all__ = ["forget_moved", "moved_partitions"]


def moved_partitions(conn: Connection, ctx: MeasureContext, since: dt.datetime) -> set[tuple[str, dt.date]]:
    """(shop key, local day) of every row recorded as moved or gone after ``since``."""
    rows = conn.execute(
        sa.select(kpi_moved.c.platform, kpi_moved.c.shop_id, kpi_moved.c.moments).where(
            kpi_moved.c.tenant_id == ctx.tenant_id, kpi_moved.c.recorded_at > since
        )
    ).all()
    if not rows:
        return set()
    shops = standard_tables["shops"]
    zones = {
        (platform, shop_id): zone
        for platform, shop_id, zone in conn.execute(
            sa.select(shops.c.platform, shops.c.shop_id, shops.c.timezone).where(
                shops.c.tenant_id == ctx.tenant_id
            )
        )
    }
    found: set[tuple[str, dt.date]] = set()
    for platform, shop_id, moments in rows:
        has_shop = platform is not None and shop_id is not None
        key = f"{platform}:{shop_id}" if has_shop else NO_SHOP
        zone = ctx.basis.tenant_timezone
        if ctx.basis.day_boundary == "shop":
            zone = zones.get((platform, shop_id)) or "UTC" if has_shop else ctx.basis.tenant_timezone
        for moment in moments:
            found.add((key, _local_day(moment, zone)))
    return found


def _local_day(moment: str, zone: str) -> dt.date:
    if len(moment) == 10:  # a date column: the day it names
        return dt.date.fromisoformat(moment)
    return dt.datetime.fromisoformat(moment).astimezone(ZoneInfo(zone)).date()


def forget_moved(conn: Connection, tenant_id: int, upto: dt.datetime) -> None:
    """Drop the records a compute whose watermark is ``upto`` has taken into account."""
    conn.execute(
        kpi_moved.delete().where(kpi_moved.c.tenant_id == tenant_id, kpi_moved.c.recorded_at <= upto)
    )
