"""Insert-or-update by primary key, in the dialect of the connected database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import mysql, postgresql, sqlite

__all__ = ["upsert"]

_BATCH = 500


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, key: Sequence[str] | None = None
) -> int:
    """Write ``rows`` into ``table``; a row whose key exists replaces the old values.

    ``key`` names the columns of a unique constraint to match on (default: the primary key).
    Returns the number of rows given. Rows must all carry the same columns.
    """
    if not rows:
        return 0
    key = list(key) if key is not None else [c.name for c in table.primary_key.columns]
    dialect = conn.dialect.name
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        updated = [c for c in batch[0] if c not in key]
        if dialect in ("sqlite", "postgresql"):
            module: Any = sqlite if dialect == "sqlite" else postgresql
            stmt = module.insert(table).values(list(batch))
            if updated:
                stmt = stmt.on_conflict_do_update(
                    index_elements=key, set_={c: stmt.excluded[c] for c in updated}
                )
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=key)
        elif dialect in ("mysql", "mariadb"):
            stmt = mysql.insert(table).values(list(batch))
            stmt = stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in updated or key})
        else:
            raise NotImplementedError(f"upsert is not implemented for the {dialect} dialect")
        conn.execute(stmt)
    return len(rows)
