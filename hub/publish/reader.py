"""Reading a published table out of the store: counts, change times, fingerprints, and rows
in key order, a page per short transaction so a push paced over an hour holds no lock."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, true, tuple_

from ..store import Store
from .catalog import PublishedTable

__all__ = ["Snapshot", "count_rows", "read_rows", "snapshot"]

PAGE_ROWS = 10_000


@dataclass(frozen=True)
class Snapshot:
    """A table's state at the start of a push: rows, newest change time, fingerprint, and how
    many rows changed after the previous watermark (up to ``newest``), and how many rows carry
    exactly the previous watermark and exactly ``newest`` (stamps are not unique: rows written
    with the watermark's stamp after it was read show up as a different count there)."""

    rows: int
    newest: dt.datetime | None
    fingerprint: str | None
    changed: int
    at_after: int = 0
    at_newest: int = 0


def _scope(table: PublishedTable, tenant_id: int) -> ColumnElement[bool]:
    if table.tenant_scoped:
        return table.table.c.tenant_id == tenant_id
    return true()


def _window(
    table: PublishedTable, after: dt.datetime | None, upto: dt.datetime | None, *, inclusive: bool
) -> ColumnElement[bool]:
    if table.change_column is None:
        return true()
    change = table.table.c[table.change_column]
    conditions = []
    if after is not None:
        conditions.append(change >= after if inclusive else change > after)
    if upto is not None:
        conditions.append(change <= upto)
    return and_(true(), *conditions)


def count_rows(store: Store, table: PublishedTable, tenant_id: int) -> int:
    """How many rows of ``table`` the tenant has."""
    with store.begin() as conn:
        query = select(func.count()).select_from(table.table).where(_scope(table, tenant_id))
        return int(conn.execute(query).scalar_one())


def snapshot(
    store: Store, table: PublishedTable, tenant_id: int, *, after: dt.datetime | None, inclusive: bool
) -> Snapshot:
    """Count, newest change time and changes since ``after`` in one transaction; tables
    without a change column get a fingerprint of every published value instead."""
    scope = _scope(table, tenant_id)
    if table.change_column is None:
        digest = hashlib.sha256()
        rows = 0
        for row in _pages(store, table, scope):
            digest.update(json.dumps(row, sort_keys=True, default=str).encode())
            rows += 1
        return Snapshot(rows, None, digest.hexdigest(), rows)
    change = table.table.c[table.change_column]
    with store.begin() as conn:

        def at(stamp: dt.datetime | None) -> int:
            if stamp is None:
                return 0
            query = select(func.count()).select_from(table.table).where(scope, change == stamp)
            return int(conn.execute(query).scalar_one())

        rows = int(conn.execute(select(func.count()).select_from(table.table).where(scope)).scalar_one())
        newest = conn.execute(select(func.max(change)).where(scope)).scalar_one()
        changed = int(
            conn.execute(
                select(func.count())
                .select_from(table.table)
                .where(scope, _window(table, after, newest, inclusive=inclusive))
            ).scalar_one()
        )
        return Snapshot(rows, newest, None, changed, at(after), at(newest))


def read_rows(
    store: Store,
    table: PublishedTable,
    tenant_id: int,
    *,
    after: dt.datetime | None = None,
    upto: dt.datetime | None = None,
    inclusive: bool = False,
    page: int = PAGE_ROWS,
) -> Iterator[dict[str, Any]]:
    """The tenant's rows (changed in ``(after, upto]``, or ``[after, upto]`` when inclusive;
    all rows without bounds), published columns only, in key order."""
    where = and_(_scope(table, tenant_id), _window(table, after, upto, inclusive=inclusive))
    yield from _pages(store, table, where, page=page)


def _pages(
    store: Store, table: PublishedTable, where: ColumnElement[bool], *, page: int = PAGE_ROWS
) -> Iterator[dict[str, Any]]:
    key = [table.table.c[name] for name in table.key]
    columns = [table.table.c[name] for name in table.columns]
    last: tuple[Any, ...] | None = None
    while True:
        query: Select[Any] = select(*columns).where(where).order_by(*key).limit(page)
        if last is not None:
            query = query.where(tuple_(*key) > tuple_(*last))
        with store.begin() as conn:
            result = conn.execute(query)
            names = list(result.keys())
            # zip over plain tuples: a Row's mapping view costs more than the row itself.
            rows = [dict(zip(names, r, strict=True)) for r in result.tuples()]
        yield from rows
        if len(rows) < page:
            return
        last = tuple(rows[-1][name] for name in table.key)
