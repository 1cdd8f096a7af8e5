"""Which connection's rows stand when two connections describe the same order.

A marketplace connector and an ERP both send the order ``(platform, shop_id, order_id)``; the
standard tables must hold it once. The rule is data: a mapping target may declare
``merge: {defer_to_others: true, owns: [...]}`` (see ``hub.mapping.MergeRule``); the ERP's
default mapping does, and a client can change it with an override like any other part.

Rows of an order are grouped by ``(platform, shop_id, order_id)`` in tables whose records
belong to an order (orders, order_items, refunds, shipments); elsewhere by the natural key.
When a batch is written, for each of its groups:

- a **deferring** target writes nothing where another connection already has rows in the
  group; on another connection's row with the same natural key it sets its ``owns`` columns
  (it wins those) and fills the columns that row leaves empty. Where no other connection has
  rows, it writes its rows as usual.
- any **other** target (the default) takes the group over in order tables: another
  connection's rows of the group are replaced. A row with the same natural key keeps the
  values (its own earlier ones or another connection's) of the columns this target does not
  map and leaves empty, so the ERP's ship and delivery times survive a marketplace write that
  has none; rows with other keys (the ERP's lines of an order the marketplace itemises
  itself) are removed.

Lineage stays one connection per row: re-sending or remapping a deferring source touches only
its own rows and the columns it owns; a re-sent record that lost a line still loses that row.
A remap of the taking-over connection rebuilds its rows from its own raw records, so what the
deferring one merged in returns with that connection's next write or remap (docs/mapping.md).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Select, Table, and_, delete, select, union_all, update
from sqlalchemy.engine import Dialect

from sdk import standard_record

from ..mapping.compiled import MergeRule
from .moved import Places, order_dates_of, position

__all__ = ["ORDER_GROUP", "MergeWriter", "existing_rows", "group_columns"]

ORDER_GROUP = ("platform", "shop_id", "order_id")
LINEAGE = frozenset(("tenant_id", "connection_id", "raw_record_id", "ingested_at"))
_CHUNK = 400
_BRANCHES = 8
"""Selects of at most ``_CHUNK`` values united in one statement: within every database's parameter limit."""


def group_columns(table: str) -> tuple[str, ...]:
    """The columns that say which order (or which thing) a row of ``table`` describes."""
    model = standard_record(table)
    fields = model.model_fields
    if all(name in fields and fields[name].is_required() for name in ORDER_GROUP):
        return ORDER_GROUP
    return model.natural_key


def existing_rows(
    conn: Connection,
    tenant_id: int,
    writers: dict[str, MergeWriter],
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """``MergeWriter.existing`` for each table of ``writers``, with the rows of ``rows``.

    Most orders of a sync are new: one statement first finds which order groups any order
    table has rows for, and only those groups are read, where reading each table for every
    group would cost a statement per table and shop even when nothing is stored.
    """
    in_groups = [table for table, writer in writers.items() if writer.group == ORDER_GROUP]
    occupied = _occupied_groups(conn, tenant_id, [writers[t].table for t in in_groups], rows)
    found = {}
    for table, writer in writers.items():
        wanted: Iterable[dict[str, Any]] = rows[table].values()
        if writer.group == ORDER_GROUP:
            wanted = (
                [row for row in wanted if tuple(row[c] for c in ORDER_GROUP) in occupied] if occupied else []
            )
        found[table] = writer.existing(wanted) if wanted else []
    return found


def _occupied_groups(
    conn: Connection,
    tenant_id: int,
    tables: list[Table],
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]],
) -> set[tuple[Any, ...]]:
    """The order groups of ``rows`` that any of ``tables`` holds a row of."""
    if not tables:
        return set()
    wanted: dict[tuple[Any, ...], set[Any]] = defaultdict(set)
    for table in tables:
        for row in rows[table.name].values():
            wanted[(row["platform"], row["shop_id"])].add(row["order_id"])
    if conn.dialect.name == "postgresql":
        columns: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
        for (platform, shop_id), orders in wanted.items():
            columns[0].extend([platform] * len(orders))
            columns[1].extend([shop_id] * len(orders))
            columns[2].extend(orders)
        sql = _pg_occupied_sql(tuple(tables), conn.dialect)
        return {tuple(row) for row in conn.exec_driver_sql(sql, (tenant_id, *columns) * len(tables))}
    branches: list[Select[Any]] = []
    for (platform, shop_id), orders in wanted.items():
        listed = sorted(orders)
        for start in range(0, len(listed), _CHUNK):
            branches.extend(
                select(table.c.platform, table.c.shop_id, table.c.order_id).where(
                    table.c.tenant_id == tenant_id,
                    table.c.platform == platform,
                    table.c.shop_id == shop_id,
                    table.c.order_id.in_(listed[start : start + _CHUNK]),
                )
                for table in tables
            )
    occupied: set[tuple[Any, ...]] = set()
    for start in range(0, len(branches), _BRANCHES):
        occupied.update(tuple(row) for row in conn.execute(union_all(*branches[start : start + _BRANCHES])))
    return occupied


@lru_cache(maxsize=64)
def _pg_occupied_sql(tables: tuple[Table, ...], dialect: Dialect) -> str:
    """``_occupied_groups`` on PostgreSQL: the wanted groups as three arrays, so the statement's
    text is the same for every batch (prepared once) where a list of values made new text,
    built and compiled again, for each."""
    quote = dialect.identifier_preparer
    platform, shop_id, order_id = (quote.quote(c) for c in ORDER_GROUP)
    # Names are quoted by the dialect; values are bound.
    return " UNION ALL ".join(
        f"SELECT {platform}, {shop_id}, {order_id} FROM {quote.format_table(table)} "  # noqa: S608
        f"WHERE tenant_id = %s AND ({platform}, {shop_id}, {order_id}) IN "
        "(SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))"
        for table in tables
    )


class MergeWriter:
    """Applies the precedence rule to one table's rows before they are upserted."""

    def __init__(
        self,
        conn: Connection,
        table: Table,
        *,
        tenant_id: int,
        connection_id: int,
        now: dt.datetime,
        rule: MergeRule | None,
        mapped: frozenset[str] | None,
    ) -> None:
        self.conn = conn
        self.table = table
        self.tenant_id = tenant_id
        self.connection_id = connection_id
        self.now = now
        self.rule = rule
        self.mapped = mapped
        self.group = group_columns(table.name)
        self.key = standard_record(table.name).natural_key

    @property
    def applies(self) -> bool:
        """Whether rows of this table can meet another connection's: order tables, or a declared rule."""
        return self.group == ORDER_GROUP or (self.rule is not None and self.rule.defer_to_others)

    def existing(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Stored rows in the groups of ``rows``; read before the batch's old rows go.

        For order tables, every connection's rows (a re-sent row keeps what others merged into
        it), found through the primary key's prefix; elsewhere only other connections' rows.
        """
        if self.group != ORDER_GROUP:
            return self._others_with_key(rows)
        wanted: dict[tuple[Any, ...], set[Any]] = defaultdict(set)
        for row in rows:
            wanted[(row["platform"], row["shop_id"])].add(row["order_id"])
        found: list[dict[str, Any]] = []
        for (platform, shop_id), orders in wanted.items():
            listed = sorted(orders)
            for start in range(0, len(listed), _CHUNK):
                condition = and_(
                    self.table.c.tenant_id == self.tenant_id,
                    self.table.c.platform == platform,
                    self.table.c.shop_id == shop_id,
                    self.table.c.order_id.in_(listed[start : start + _CHUNK]),
                )
                found.extend(self._select(condition))
        return found

    def _others_with_key(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        keys = {tuple(row[c] for c in self.key) for row in rows}
        first = self.key[0]
        values = sorted({key[0] for key in keys}, key=str)
        found: list[dict[str, Any]] = []
        for start in range(0, len(values), _CHUNK):
            condition = and_(
                self.table.c.tenant_id == self.tenant_id,
                self.table.c.connection_id != self.connection_id,
                self.table.c[first].in_(values[start : start + _CHUNK]),
            )
            found.extend(row for row in self._select(condition) if tuple(row[c] for c in self.key) in keys)
        return found

    def _select(self, condition: Any) -> list[dict[str, Any]]:
        return [dict(row) for row in self.conn.execute(select(self.table).where(condition)).mappings()]

    def resolve(
        self, rows: dict[tuple[Any, ...], dict[str, Any]], existing: list[dict[str, Any]], places: Places
    ) -> list[dict[str, Any]]:
        """The rows to upsert, after deferring to or taking over from other connections' rows;
        ``places`` gets where the rows this moves or removes were counted."""
        others = [row for row in existing if row["connection_id"] != self.connection_id]
        if self.rule is not None and self.rule.defer_to_others:
            return self._defer(rows, others, places)
        return self._take_over(rows, existing, others, places)

    def _left(self, places: Places, rows: list[dict[str, Any]]) -> None:
        """Record the places of ``rows``, which move or go, with their orders' dates."""
        name = self.table.name
        for row, order_dates in zip(rows, order_dates_of(self.conn, self.tenant_id, name, rows), strict=True):
            places.add(name, row, order_dates)

    def _defer(
        self, rows: dict[tuple[Any, ...], dict[str, Any]], others: list[dict[str, Any]], places: Places
    ) -> list[dict[str, Any]]:
        assert self.rule is not None
        taken = {tuple(row[c] for c in self.group) for row in others}
        by_key = {tuple(row[c] for c in self.key): row for row in others}
        kept, moved = [], []
        for key, row in rows.items():
            if tuple(row[c] for c in self.group) not in taken:
                kept.append(row)
                continue
            other = by_key.get(key)
            if other is None:
                continue
            changes = {c: row[c] for c in self.rule.owns if row.get(c) is not None and row[c] != other[c]}
            changes.update(
                {
                    c: value
                    for c, value in row.items()
                    if c not in LINEAGE and value is not None and other.get(c) is None and c not in changes
                }
            )
            if changes:
                if position(self.table.name, {**other, **changes}) != position(self.table.name, other):
                    moved.append(other)
                # Stamped as changed now, as a landing stamps the rows it writes, so the next
                # KPI compute sees the change.
                self.conn.execute(
                    update(self.table)
                    .where(
                        self.table.c.tenant_id == self.tenant_id,
                        *(self.table.c[c] == other[c] for c in self.key),
                    )
                    .values(**changes, ingested_at=self.now)
                )
        self._left(places, moved)
        return kept

    def _take_over(
        self,
        rows: dict[tuple[Any, ...], dict[str, Any]],
        existing: list[dict[str, Any]],
        others: list[dict[str, Any]],
        places: Places,
    ) -> list[dict[str, Any]]:
        before = {tuple(row[c] for c in self.key): row for row in existing}
        mapped = self.mapped or frozenset()
        out, moved = [], []
        for key, row in rows.items():
            old = before.get(key)
            if old is not None:
                # Values another connection gave columns this target does not map stay.
                row = {
                    **row,
                    **{
                        c: value
                        for c, value in old.items()
                        if c not in LINEAGE
                        and c not in mapped
                        and c not in self.key
                        and value is not None
                        and row.get(c) is None
                    },
                }
                if position(self.table.name, row) != position(self.table.name, old):
                    moved.append(old)
            out.append(row)
        if self.group == ORDER_GROUP and others:
            groups = {tuple(row[c] for c in self.group) for row in rows.values()}
            superseded = [
                row
                for row in others
                if tuple(row[c] for c in self.key) not in rows and tuple(row[c] for c in self.group) in groups
            ]
            moved.extend(superseded)
            for row in superseded:
                self.conn.execute(
                    delete(self.table).where(
                        self.table.c.tenant_id == self.tenant_id,
                        *(self.table.c[c] == row[c] for c in self.key),
                    )
                )
        self._left(places, moved)
        return out
