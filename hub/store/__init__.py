"""The store: a SQLAlchemy engine on the configured database, migrated by alembic."""

from __future__ import annotations

from .database import Store, inserted_id, open_store
from .upsert import bulk_upsert, upsert

__all__ = ["Store", "bulk_upsert", "inserted_id", "open_store", "upsert"]
