"""The store: a SQLAlchemy engine on the configured database, migrated by alembic."""

from __future__ import annotations

from .database import Store, inserted_id, open_store
from .upsert import PreparedUpsert, bulk_upsert, prepare_upsert, upsert

__all__ = [
    "PreparedUpsert",
    "Store",
    "bulk_upsert",
    "inserted_id",
    "open_store",
    "prepare_upsert",
    "upsert",
]
