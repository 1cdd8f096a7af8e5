"""Where replaced standard rows were counted: so an incremental compute forgets them there.

The KPI engine recomputes the (shop, day) partitions of rows ingested since its last run. A
row that changes its shop or date (a platform restating an order's time, a mapping that now
reads another date field, another connection taking the order over) or disappears (its record
quarantined, remapped away, superseded) would also need its *old* partitions recomputed, which
no new row names. Whatever replaces, rewrites or deletes standard rows (the landing, the
precedence rule, a remap) first records, in ``kpi_moved``, the shop and the dates of every row
that moved or went. The engine reads these records with the rows ingested since its watermark.

A row of an order (a line, a refund, a shipment) can be counted on its *order's* day (refunds
dated by their order, lines by their order's status and date): its order's dates are recorded
with its own.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Select, select
from sqlalchemy.sql.type_api import TypeEngine

from sdk import standard_record

from ..store.kpi_tables import kpi_moved
from ..store.tables import of_its_order, standard_tables
from ..store.types import UtcDateTime

__all__ = ["Places", "dated_columns", "moved_rows", "position", "record_moved"]

_NOT_DATES = frozenset({"ingested_at", "updated_at"})
"""Dates no KPI counts a row by: updated_at moves on every change, and would only add work."""

_QUARTER_HOUR = 15 * 60
"""Every time zone's offset is a whole number of quarter hours, so a moment's local day in any
zone is that of its quarter hour: moments are kept to the quarter hour, which bounds what a
shop's records hold to 96 a day however many rows moved."""


def _is_date(kind: TypeEngine[Any]) -> bool:
    return isinstance(kind, Date | DateTime | UtcDateTime)


@cache
def dated_columns(table: str) -> tuple[str, ...]:
    """The columns of ``table`` a KPI may date its rows by."""
    target = standard_tables[table]
    return tuple(c.name for c in target.columns if _is_date(c.type) and c.name not in _NOT_DATES)


def position(table: str, row: Mapping[str, Any]) -> tuple[Any, ...]:
    """What decides where ``row`` is counted: its shop and its dates."""
    return (row.get("platform"), row.get("shop_id"), *(row.get(name) for name in dated_columns(table)))


def _moment(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        seconds = int(moment.timestamp()) // _QUARTER_HOUR * _QUARTER_HOUR
        return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()
    return value.isoformat()


class Places:
    """The old places of rows that moved or went, gathered per shop before they are recorded."""

    def __init__(self) -> None:
        self._by_shop: dict[tuple[str, Any, Any], set[str]] = defaultdict(set)

    def add(self, table: str, row: Mapping[str, Any], order_dates: Iterable[Any] = ()) -> None:
        """Where ``row`` of ``table`` was counted (and its order's dates, when it has an order)."""
        dates = [row.get(name) for name in dated_columns(table)]
        moments = {_moment(value) for value in (*dates, *order_dates) if value is not None}
        if moments:
            self._by_shop[(table, row.get("platform"), row.get("shop_id"))].update(moments)

    def __bool__(self) -> bool:
        return bool(self._by_shop)

    def records(self) -> list[dict[str, Any]]:
        return [
            {"source_table": table, "platform": platform, "shop_id": shop_id, "moments": sorted(moments)}
            for (table, platform, shop_id), moments in self._by_shop.items()
        ]


def _order_dates(table: str) -> tuple[str, ...]:
    """The order's dates a row of ``table`` may be counted by, when the row belongs to an order."""
    if table == "orders" or "order_id" not in standard_tables[table].c:
        return ()
    return dated_columns("orders")


def _select_rows(table: str, *conditions: Any) -> Any:
    """``table``'s natural key, shop and dates, with its order's dates (``order_<name>``)."""
    target = standard_tables[table]
    key = standard_record(table).natural_key
    wanted = [
        target.c[name]
        for name in dict.fromkeys((*key, "platform", "shop_id", *dated_columns(table)))
        if name in target.c
    ]
    order_dates = _order_dates(table)
    if not order_dates:
        return select(*wanted).where(*conditions)
    orders = standard_tables["orders"].alias("owning_order")
    joined = target.outerjoin(orders, of_its_order(orders, target))
    dates = [orders.c[name].label(f"order_{name}") for name in order_dates]
    return select(*wanted, *dates).select_from(joined).where(*conditions)


def moved_rows(
    conn: Connection,
    table: str,
    raw_record_ids: Sequence[int] | Select[Any],
    replacements: Mapping[tuple[Any, ...], Mapping[str, Any]] | None,
    places: Places,
) -> None:
    """Add to ``places`` the rows of ``table`` these raw records (ids, or a select of them)
    derived that their replacements (by natural key) do not keep in the same shop and on the
    same dates; every row when ``replacements`` is None (all are derived again, anywhere)."""
    if not dated_columns(table) and not _order_dates(table):
        return
    target = standard_tables[table]
    key = standard_record(table).natural_key
    order_dates = [f"order_{name}" for name in _order_dates(table)]
    ids = raw_record_ids if isinstance(raw_record_ids, Select) else list(raw_record_ids)
    statement = _select_rows(table, target.c.raw_record_id.in_(ids))
    for found in conn.execute(statement).mappings():
        row: Mapping[str, Any] = dict(found)
        if replacements is not None:
            new = replacements.get(tuple(row[name] for name in key))
            if new is not None and position(table, new) == position(table, row):
                continue
        places.add(table, row, (row[name] for name in order_dates))


def order_dates_of(
    conn: Connection, tenant_id: int, table: str, rows: Sequence[Mapping[str, Any]]
) -> list[list[Any]]:
    """The dates of each row's order (none for rows of no order), in the order of ``rows``."""
    names = _order_dates(table)
    if not names or not rows:
        return [[] for _ in rows]
    orders = standard_tables["orders"]
    found: dict[tuple[Any, ...], list[Any]] = {}
    keys = sorted({(r["platform"], r["shop_id"], r["order_id"]) for r in rows}, key=str)
    for start in range(0, len(keys), 400):
        chunk = keys[start : start + 400]
        statement = select(
            orders.c.platform, orders.c.shop_id, orders.c.order_id, *(orders.c[n] for n in names)
        ).where(orders.c.tenant_id == tenant_id, orders.c.order_id.in_([k[2] for k in chunk]))
        for row in conn.execute(statement):
            found[(row[0], row[1], row[2])] = list(row[3:])
    return [found.get((r["platform"], r["shop_id"], r["order_id"]), []) for r in rows]


def record_moved(conn: Connection, tenant_id: int, places: Places, now: dt.datetime) -> None:
    """Keep the old places gathered in ``places`` for the next compute."""
    if places:
        conn.execute(
            kpi_moved.insert(),
            [{**record, "tenant_id": tenant_id, "recorded_at": now} for record in places.records()],
        )
