"""Insert-or-update by key, in the dialect of the connected database."""

from __future__ import annotations

import json
import threading
import weakref
import zlib
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Table
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert

from sdk import StoreError

__all__ = ["PreparedUpsert", "bulk_upsert", "prepare_upsert", "upsert"]

_ANALYZE_FROM = 1000
"""Rows a process bulk-writes into a PostgreSQL table before it first refreshes its statistics."""


@cache
def _statement(table: Table, dialect: str, key: tuple[str, ...], columns: tuple[str, ...]) -> Insert:
    """One statement per (table, key, columns), executed with many rows: compiled once, cached."""
    updated = [c for c in columns if c not in key]
    if dialect in ("sqlite", "postgresql"):
        module: Any = sqlite if dialect == "sqlite" else postgresql
        stmt = module.insert(table)
        set_ = {c: stmt.excluded[c] for c in updated}
        chosen: Insert = (
            stmt.on_conflict_do_update(index_elements=list(key), set_=set_)
            if updated
            else stmt.on_conflict_do_nothing(index_elements=list(key))
        )
        return chosen
    if dialect in ("mysql", "mariadb"):
        stmt = mysql.insert(table)
        return stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in updated or key})
    raise StoreError(f"kpihub stores live in SQLite, PostgreSQL or MySQL/MariaDB, not {dialect}")


def _key(table: Table, key: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(key) if key is not None else tuple(c.name for c in table.primary_key.columns)


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, key: Sequence[str] | None = None
) -> int:
    """Write ``rows`` into ``table``; a row whose key exists replaces the old values.

    ``key`` names the columns of a unique constraint to match on (default: the primary key).
    Returns the number of rows given. Rows must all carry the same columns.
    """
    if not rows:
        return 0
    stmt = _statement(table, conn.dialect.name, _key(table, key), tuple(rows[0]))
    conn.execute(stmt, list(rows))
    return len(rows)


class _BulkPlan:
    """An upsert's SQL with its values in driver form: what SQLAlchemy would send, built once.

    SQLAlchemy prepares each row's parameters one by one (a dictionary per row, the type's
    bind processor per value) on every execution; for the sync's pages of hundreds of rows
    that preparation cost more than the database's own work. The plan converts each row with
    the same bind processors straight into a tuple in statement order, with a function
    generated for its columns (no loop over columns per row).
    """

    def __init__(
        self, table: Table, dialect: Dialect, key: tuple[str, ...], columns: tuple[str, ...]
    ) -> None:
        self.pg = dialect.name == "postgresql"
        if self.pg:
            # The rows are copied into a temporary table like the target and merged from there
            # with one statement: COPY formats rows in psycopg's C code, where binding them
            # as parameters (a list per column) adapted every value in Python.
            quote = dialect.identifier_preparer
            target = quote.format_table(table)
            # Named for the table's columns too: a session's staging table outlives a schema change.
            shape = zlib.crc32(",".join(table.c.keys()).encode())
            stage = quote.quote(f"_kpihub_stage_{table.name}_{shape:08x}")
            names = ", ".join(quote.quote(c) for c in columns)
            updated = [c for c in columns if c not in key]
            action = (
                "DO UPDATE SET " + ", ".join(f"{quote.quote(c)} = excluded.{quote.quote(c)}" for c in updated)
                if updated
                else "DO NOTHING"
            )
            # Names are quoted by the dialect; values travel by COPY.
            self.stage_sql = (
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {target} INCLUDING DEFAULTS) "
                "ON COMMIT DELETE ROWS"
            )
            self.copy_sql = f"COPY {stage} ({names}) FROM STDIN"
            self.sql = (
                f"INSERT INTO {target} ({names}) SELECT {names} FROM {stage} "  # noqa: S608
                f"ON CONFLICT ({', '.join(quote.quote(c) for c in key)}) {action}"
            )
            self.empty_sql = f"TRUNCATE {stage}"
            self.order = columns
        else:
            compiled = _statement(table, dialect.name, key, columns).compile(
                dialect=dialect, column_keys=list(columns)
            )
            self.sql = compiled.string
            assert compiled.positiontup is not None, "a positional paramstyle is needed"
            self.order = tuple(compiled.positiontup)
            if sorted(self.order) != sorted(columns):
                raise StoreError(f"the upsert of {table.name} binds {self.order}, not {columns}")
        processors: dict[int, Callable[[Any], Any]] = {}
        for index, column in enumerate(self.order):
            kind = table.c[column].type
            if self.pg and isinstance(kind, JSON):
                # The JSON text itself (the staging column parses it) rather than psycopg's wrapper.
                serializer = getattr(dialect, "_json_serializer", None) or json.dumps
                processor: Callable[[Any], Any] | None = serializer
            else:
                processor = kind.dialect_impl(dialect).bind_processor(dialect)  # as execute()
            if processor is not None:
                processors[index] = processor
        self.processors = processors
        self.values = _tuples_function(self.order, processors)

    def send(self, conn: Connection, values: list[tuple[Any, ...]]) -> None:
        if not self.pg:
            conn.exec_driver_sql(self.sql, values)
            return
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            with driver.cursor() as cursor:
                cursor.execute(self.stage_sql)
                with cursor.copy(self.copy_sql) as copy:
                    for row in values:
                        copy.write_row(row)
                cursor.execute(self.sql)
                cursor.execute(self.empty_sql)
        except conn.dialect.loaded_dbapi.Error as exc:
            # The driver's own error, as SQLAlchemy would have raised it: the store reports it
            # as the database refusing the write, not as a bug of whoever called.
            raise DBAPIError.instance(self.sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc


def _tuples_function(
    order: tuple[str, ...], processors: dict[int, Callable[[Any], Any]]
) -> Callable[[Sequence[dict[str, Any]]], list[tuple[Any, ...]]]:
    """A function from rows to tuples of their values in ``order``, each processed (when not
    null) by its processor: generated once per plan, since a loop over the columns of every
    row cost more than the database's work on it."""
    items = []
    for index, column in enumerate(order):
        read = f"row[{column!r}]"
        items.append(
            f"(_p{index}(_v{index}) if (_v{index} := {read}) is not None else None)"
            if index in processors
            else read
        )
    source = f"def values(rows):\n    return [({', '.join(items)},) for row in rows]\n"
    namespace: dict[str, Any] = {f"_p{index}": processor for index, processor in processors.items()}
    exec(compile(source, f"<upsert values {len(order)} columns>", "exec"), namespace)  # noqa: S102 - text built above from column names
    function: Callable[[Sequence[dict[str, Any]]], list[tuple[Any, ...]]] = namespace["values"]
    return function


@lru_cache(maxsize=512)
def _bulk_plan(table: Table, dialect: Dialect, key: tuple[str, ...], columns: tuple[str, ...]) -> _BulkPlan:
    return _BulkPlan(table, dialect, key, columns)


def bulk_upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, key: Sequence[str] | None = None
) -> int:
    """``upsert`` for many rows at once: the same result, with the values prepared in one pass.

    On SQLite one ``executemany`` of the compiled upsert; on PostgreSQL ``COPY`` into a
    temporary table and one ``INSERT … SELECT … ON CONFLICT`` from it; elsewhere ``upsert``.
    A batch must not name the same key twice (PostgreSQL refuses an upsert statement that
    touches one row twice).
    """
    prepared = prepare_upsert(conn.dialect, table, rows, key=key)
    if prepared is None:
        return upsert(conn, table, rows, key=key)
    return prepared.run(conn)


class PreparedUpsert:
    """A ``bulk_upsert`` whose values are already in driver form: ``run`` only sends them.

    Preparing is most of a bulk upsert's Python; a writer that must hold the database while
    it writes (``hub.sync.workers``) prepares first and holds it only to send.
    """

    def __init__(self, plan: _BulkPlan, table: Table, values: list[tuple[Any, ...]]) -> None:
        self.plan, self.table, self.values = plan, table, values

    def with_column(self, column: str, values: Sequence[Any]) -> PreparedUpsert:
        """The same rows with ``column`` set to ``values`` (one per row, in order): for a value
        known only when the rows are sent, such as the id of a row inserted just before."""
        index = self.plan.order.index(column)
        processor = self.plan.processors.get(index)
        if processor is not None:
            values = [None if value is None else processor(value) for value in values]
        rows = [
            (*row[:index], value, *row[index + 1 :]) for row, value in zip(self.values, values, strict=True)
        ]
        return PreparedUpsert(self.plan, self.table, rows)

    def run(self, conn: Connection) -> int:
        """Send the rows in ``conn``'s transaction; return how many."""
        self.plan.send(conn, self.values)
        if self.plan.pg:
            _growth.wrote(conn, self.table, len(self.values))
        return len(self.values)


def prepare_upsert(
    dialect: Dialect, table: Table, rows: Sequence[dict[str, Any]], *, key: Sequence[str] | None = None
) -> PreparedUpsert | None:
    """``rows`` converted for ``bulk_upsert`` in ``dialect``; ``None`` where it has no bulk form
    (no rows, or a database other than SQLite and PostgreSQL)."""
    if not rows or dialect.name not in ("sqlite", "postgresql"):
        return None
    plan = _bulk_plan(table, dialect, _key(table, key), tuple(rows[0]))
    return PreparedUpsert(plan, table, plan.values(rows))


class _Growth:
    """Keeps PostgreSQL's planner statistics in step with tables a sync is filling.

    A table created or emptied shortly before a large sync has statistics (if any) from when
    it was nearly empty, and autovacuum analyses it only now and then. On those statistics
    the planner reads the lineage and precedence look-ups (``raw_record_id IN (...)``,
    ``order_id IN (...)``) by scanning every row of the connection, so each page costs more
    than the one before. Each table is analysed (in the writing transaction, which
    PostgreSQL allows) once this process has written ``_ANALYZE_FROM`` rows into it and again
    whenever that count has doubled: a logarithmic number of ``ANALYZE`` runs per sync.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.written: weakref.WeakKeyDictionary[Engine, dict[str, list[int]]] = weakref.WeakKeyDictionary()

    def wrote(self, conn: Connection, table: Table, rows: int) -> None:
        with self.lock:
            counts = self.written.setdefault(conn.engine, {}).setdefault(table.name, [0, 0])
            counts[0] += rows
            if counts[0] < max(_ANALYZE_FROM, 2 * counts[1]):
                return
            counts[1] = counts[0]
        conn.exec_driver_sql(f"ANALYZE {conn.dialect.identifier_preparer.format_table(table)}")


_growth = _Growth()
