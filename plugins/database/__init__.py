"""Database sink: the published tables into the seller's own database (any SQLAlchemy URL).

Tables are created with typed columns and the contract's primary keys, evolved additively, and
written by upsert on the key (``ON CONFLICT … DO UPDATE`` on PostgreSQL and SQLite, ``ON
DUPLICATE KEY UPDATE`` on MySQL/MariaDB); on PostgreSQL through psycopg the rows go in by
``COPY`` into a staging table merged in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from sdk import Sink, hookimpl

from .sink import DatabaseCredentials, DatabaseOptions, DatabaseSink

__all__ = ["DatabaseCredentials", "DatabaseOptions", "DatabaseSink"]
__version__ = "0.1.0"


@hookimpl
def register_sinks(register: Callable[[type[Sink]], None]) -> None:
    register(DatabaseSink)
