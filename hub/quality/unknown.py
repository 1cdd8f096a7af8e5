"""Per shop, how many of a table's rows leave a column unknown (null): the query several checks share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from ..kpi.basis import CountingBasis
from ..store.tables import connections, standard_tables
from .days import local_day_of, shop_zones
from .finding import as_date, day_span

__all__ = ["ShopGap", "unknown_per_shop"]


@dataclass
class ShopGap:
    """One shop's rows, those of them with the column unknown, and where they came from."""

    rows: int = 0
    unknown: int = 0
    days: list[dt.date] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    connection_ids: set[int] = field(default_factory=set)
    connections: list[str] = field(default_factory=list)
    """The connections that wrote the rows with the column unknown, by name."""

    @property
    def span(self) -> str:
        return day_span(min(self.days), max(self.days))

    @property
    def example(self) -> str:
        return min(self.examples)


def unknown_per_shop(
    conn: Connection,
    tenant_id: int,
    basis: CountingBasis,
    table_name: str,
    column: str,
    *,
    dated_by: str,
    ident: str,
    where: Callable[[Any], list[Any]],
) -> dict[tuple[str, str], ShopGap]:
    """Shops with rows of ``table_name`` (those ``where`` keeps) whose ``column`` is null: their
    counts, the local days of those rows (by ``dated_by``), their smallest ``ident`` as an
    example, and the connections that wrote them; in one grouped query."""
    t = standard_tables[table_name].alias("t")
    from_, day = local_day_of(t, t, t.c[dated_by], basis, shop_zones(conn, tenant_id))
    unknown = t.c[column].is_(None)
    rows = conn.execute(
        sa.select(
            t.c.platform,
            t.c.shop_id,
            t.c.connection_id,
            sa.func.count(),
            sa.func.count(sa.case((unknown, 1))),
            sa.func.min(sa.case((unknown, day))),
            sa.func.max(sa.case((unknown, day))),
            sa.func.min(sa.case((unknown, t.c[ident]))),
        )
        .select_from(from_)
        .where(t.c.tenant_id == tenant_id, *where(t))
        .group_by(t.c.platform, t.c.shop_id, t.c.connection_id)
    ).all()
    shops: dict[tuple[str, str], ShopGap] = {}
    for platform, shop_id, connection_id, total, missing, first, last, example in rows:
        gap = shops.setdefault((platform, shop_id), ShopGap())
        gap.rows += int(total)
        if missing:
            gap.unknown += int(missing)
            gap.days += [as_date(first), as_date(last)]
            gap.examples.append(str(example))
            if connection_id is not None:
                gap.connection_ids.add(int(connection_id))
    gaps = {key: gap for key, gap in sorted(shops.items()) if gap.unknown}
    ids = sorted({c for gap in gaps.values() for c in gap.connection_ids})
    if ids:
        named = sa.select(connections.c.id, connections.c.name).where(connections.c.id.in_(ids))
        names = {int(i): str(name) for i, name in conn.execute(named)}
        for gap in gaps.values():
            gap.connections = sorted(names[c] for c in gap.connection_ids if c in names)
    return gaps
