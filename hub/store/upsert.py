"""Insert-or-update by key, in the dialect of the connected database."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from sdk import StoreError

__all__ = ["upsert"]


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


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, key: Sequence[str] | None = None
) -> int:
    """Write ``rows`` into ``table``; a row whose key exists replaces the old values.

    ``key`` names the columns of a unique constraint to match on (default: the primary key).
    Returns the number of rows given. Rows must all carry the same columns.
    """
    if not rows:
        return 0
    names = tuple(key) if key is not None else tuple(c.name for c in table.primary_key.columns)
    stmt = _statement(table, conn.dialect.name, names, tuple(rows[0]))
    conn.execute(stmt, list(rows))
    return len(rows)
