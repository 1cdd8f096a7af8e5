"""The statements the database sink writes with, in each dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, delete
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from sdk import ConfigError

__all__ = ["copy_merge", "delete_all", "upsert_rows"]


def delete_all(conn: Connection, table: Table) -> None:
    # DELETE, not TRUNCATE: it is transactional on every backend (TRUNCATE commits on MySQL).
    conn.execute(delete(table))


def _upsert(table: Table, dialect: str, key: Sequence[str], columns: Sequence[str]) -> Insert:
    updated = [c for c in columns if c not in key]
    if dialect in ("sqlite", "postgresql"):
        module: Any = sqlite if dialect == "sqlite" else postgresql
        stmt = module.insert(table)
        if not updated:
            return stmt.on_conflict_do_nothing(index_elements=list(key))  # type: ignore[no-any-return]
        return stmt.on_conflict_do_update(  # type: ignore[no-any-return]
            index_elements=list(key), set_={c: stmt.excluded[c] for c in updated}
        )
    if dialect in ("mysql", "mariadb"):
        stmt = mysql.insert(table)
        return stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in updated or key})
    raise ConfigError(f"the database sink writes to PostgreSQL, MySQL/MariaDB or SQLite, not {dialect}")


def upsert_rows(conn: Connection, table: Table, key: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows``, replacing the values of rows whose key exists (one executemany)."""
    if rows:
        conn.execute(_upsert(table, conn.dialect.name, key, list(rows[0])), rows)


def copy_merge(
    conn: Connection, table: Table, key: Sequence[str], rows: list[dict[str, Any]], *, empty: bool
) -> None:
    """PostgreSQL's fast path: ``COPY`` the rows into the table when it was just emptied, else
    into a temporary staging table merged with ``INSERT … ON CONFLICT DO UPDATE``."""
    if not rows:
        return
    from psycopg import sql  # only ever reached on a psycopg connection

    columns = list(rows[0])
    raw = conn.connection.driver_connection
    assert raw is not None
    target = sql.Identifier(*(p for p in (table.schema, table.name) if p))
    names = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    with raw.cursor() as cursor:
        if empty:
            _copy(cursor, sql.SQL("COPY {} ({}) FROM STDIN").format(target, names), rows, columns)
            return
        stage = sql.Identifier(f"_kpihub_stage_{table.name}")
        cursor.execute(
            sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
                stage, target
            )
        )
        cursor.execute(sql.SQL("TRUNCATE {}").format(stage))
        _copy(cursor, sql.SQL("COPY {} ({}) FROM STDIN").format(stage, names), rows, columns)
        updated = [c for c in columns if c not in key]
        action = (
            sql.SQL("DO UPDATE SET {}").format(
                sql.SQL(", ").join(
                    sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in updated
                )
            )
            if updated
            else sql.SQL("DO NOTHING")
        )
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
                target, names, names, stage, sql.SQL(", ").join(sql.Identifier(c) for c in key), action
            )
        )


def _copy(cursor: Any, statement: Any, rows: list[dict[str, Any]], columns: list[str]) -> None:
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
