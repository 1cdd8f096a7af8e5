"""The few SQL functions whose spelling differs between SQLite, PostgreSQL and MySQL/MariaDB.

Local days need a UTC offset that depends on the timezone and, with daylight saving, on the
instant; databases do not share a timezone database (SQLite has none), so the offsets come
from Python's ``zoneinfo`` as a ``CASE`` over the instants where they change.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from ..store.types import UtcDateTime

__all__ = ["TZ_RANGE", "local_day", "seconds_between", "transitions", "utc_offset"]

TZ_RANGE = (dt.datetime(2015, 1, 1, tzinfo=dt.UTC), dt.datetime(2036, 1, 1, tzinfo=dt.UTC))
"""Daylight-saving changes are honoured inside this range; outside it the nearest offset holds."""


class local_day(FunctionElement[dt.date]):
    """The calendar date of a UTC timestamp shifted by an offset in seconds."""

    type = sa.Date()
    name = "local_day"
    inherit_cache = True


class seconds_between(FunctionElement[float]):
    """Seconds from the first timestamp to the second, as a double."""

    type = sa.Double()
    name = "seconds_between"
    inherit_cache = True


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(c, **kw) for c in element.clauses]


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    ts, offset = _args(element, compiler, **kw)
    if sqlite3.sqlite_version_info >= (3, 38):
        # Integer seconds: no modifier string to build per row (unixepoch() is SQLite 3.38+).
        return f"date(unixepoch({ts}) + ({offset}), 'unixepoch')"
    return f"date({ts}, ({offset}) || ' seconds')"


@compiles(local_day, "postgresql")
def _local_day_pg(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    ts, offset = _args(element, compiler, **kw)
    return f"CAST({ts} + ({offset}) * INTERVAL '1 second' AS DATE)"


@compiles(local_day, "mysql")
@compiles(local_day, "mariadb")
def _local_day_mysql(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    ts, offset = _args(element, compiler, **kw)
    return f"DATE(DATE_ADD({ts}, INTERVAL ({offset}) SECOND))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = _args(element, compiler, **kw)

    # Whole epoch seconds are exact; %f adds the milliseconds julianday() would blur.
    def part(ts: str) -> str:
        return (
            f"(CAST(strftime('%s', {ts}) AS INTEGER)"
            f" + (CAST(strftime('%f', {ts}) AS REAL) - CAST(strftime('%S', {ts}) AS INTEGER)))"
        )

    return f"({part(b)} - {part(a)})"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = _args(element, compiler, **kw)
    return f"CAST(EXTRACT(EPOCH FROM ({b} - {a})) AS DOUBLE PRECISION)"


@compiles(seconds_between, "mysql")
@compiles(seconds_between, "mariadb")
def _seconds_mysql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = _args(element, compiler, **kw)
    return f"(TIMESTAMPDIFF(MICROSECOND, {a}, {b}) / 1000000.0)"


@cache
def transitions(zone: str) -> tuple[tuple[dt.datetime, int], ...]:
    """(instant from which it holds, UTC offset in seconds) for ``zone`` across ``TZ_RANGE``."""
    tz = ZoneInfo(zone)

    def offset(at: dt.datetime) -> int:
        delta = at.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    start, end = TZ_RANGE
    result = [(start, offset(start))]
    at = start
    step = dt.timedelta(days=1)  # offsets change at most a few times a year
    while at < end:
        nxt = at + step
        if offset(nxt) != result[-1][1]:
            lo, hi = at, nxt  # the change lies in (lo, hi]; narrow it to the minute
            while hi - lo > dt.timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid <= lo:
                    break
                if offset(mid) == result[-1][1]:
                    lo = mid
                else:
                    hi = mid
            result.append((hi, offset(hi)))
        at = nxt
    return tuple(result)


def _offset_tree(ts: ColumnElement[Any], changes: tuple[tuple[dt.datetime, int], ...]) -> ColumnElement[Any]:
    """A flat CASE, newest change first (recent rows match early); nested CASEs overflow SQLite's parser."""
    if len(changes) == 1:
        return sa.literal(changes[0][1])
    newest_first = list(reversed(changes[1:]))
    return sa.case(
        *[(ts >= sa.literal(start, UtcDateTime()), sa.literal(offset)) for start, offset in newest_first],
        else_=sa.literal(changes[0][1]),
    )


def utc_offset(
    ts: ColumnElement[Any], zones: ColumnElement[Any] | str, names: set[str]
) -> ColumnElement[Any]:
    """The UTC offset in seconds at ``ts`` in the timezone ``zones`` (a column or one name).

    ``names`` lists the timezones the column can hold; any other reads as UTC.
    """
    if isinstance(zones, str):
        return _offset_tree(ts, transitions(zones))
    fixed = {name: transitions(name) for name in sorted(names) if name != "UTC"}
    if not fixed:
        return sa.literal(0)
    return sa.case(
        *[(zones == name, _offset_tree(ts, ch)) for name, ch in fixed.items()], else_=sa.literal(0)
    )
