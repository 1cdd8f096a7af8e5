"""The store's schema.

Control tables (tenants, connections, stream state, raw landing, mapping versions, sync runs,
audit log, vault state) are written out here. The standard tables are derived from the SDK's
record models, so the contract has one source of truth; every standard table's primary key is
``tenant_id`` plus the record's natural key, which is what upserts conflict on. Migrations
under ``migrations/`` are checked against this metadata by a test.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from decimal import Decimal

from pydantic.fields import FieldInfo
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.types import TypeEngine

from sdk import STANDARD_RECORDS, StandardRecord

from .types import UtcDateTime

__all__ = [
    "audit_log",
    "connections",
    "mapping_versions",
    "metadata",
    "of_its_order",
    "owner_columns",
    "raw_records",
    "standard_tables",
    "stream_states",
    "sync_runs",
    "tenants",
    "vault_state",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere ids are 64-bit.
Id = BigInteger().with_variant(Integer(), "sqlite")


def owner_columns() -> tuple[Column[typing.Any], ...]:
    """Who runs a run, so a run whose process is gone can be told from one still running
    (``hub.orphans``); null on runs recorded before these columns existed."""
    return (
        Column("host", String(255), nullable=True, comment="host name of the process running it"),
        Column("pid", Integer, nullable=True, comment="pid of the process running it"),
        Column(
            "process_start",
            String(64),
            nullable=True,
            comment="when that process started, so a reused pid is not taken for it",
        ),
    )


tenants = Table(
    "tenants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("base_currency", String(3), nullable=False, server_default="USD"),
    Column("created_at", UtcDateTime(), nullable=False),
)

connections = Table(
    "connections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("plugin", String(64), nullable=False),
    Column("options", JSON, nullable=False),
    Column("credentials", Text, nullable=True, comment="vault ciphertext, never plain"),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "name"),
)

stream_states = Table(
    "stream_states",
    metadata,
    Column("connection_id", Id, ForeignKey("connections.id"), primary_key=True),
    Column("stream", String(64), primary_key=True),
    Column("partition_key", String(128), primary_key=True),
    Column("state", JSON, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

raw_records = Table(
    "raw_records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection_id", Id, ForeignKey("connections.id"), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("partition_key", String(128), nullable=False),
    Column("record_key", String(255), nullable=False),
    Column("data", JSON, nullable=False),
    Column("fetched_at", UtcDateTime(), nullable=False),
    Column("run_id", Id, nullable=True),
    Column("error", Text, nullable=True, comment="why the record is quarantined; null when mapped"),
    # Also serves look-ups by (connection, stream): remap and quarantine listings.
    UniqueConstraint("connection_id", "stream", "record_key"),
)

mapping_versions = Table(
    "mapping_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection_id", Id, ForeignKey("connections.id"), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("override", JSON, nullable=False, comment="the client's override of the default"),
    Column("note", Text, nullable=True),
    Column("actor", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column(
        "scope",
        JSON,
        nullable=True,
        comment="the shops its author's key was limited to; every row it maps must be of them",
    ),
    UniqueConstraint("connection_id", "stream", "version"),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection_id", Id, ForeignKey("connections.id"), nullable=False),
    Column("kind", String(16), nullable=False, comment="sync, full_refresh or remap"),
    Column("status", String(16), nullable=False, comment="running, succeeded, failed"),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("rows_read", Integer, nullable=False, server_default="0"),
    Column("rows_written", Integer, nullable=False, server_default="0"),
    Column("rows_rejected", Integer, nullable=False, server_default="0"),
    Column("errors", JSON, nullable=False),
    Column("freshness", JSON, nullable=False, comment="latest data time per stream"),
    Column("stats", JSON, nullable=True, comment="the source's counters: requests, retries, refreshes"),
    *owner_columns(),
    Index(None, "connection_id", "started_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("tenant_id", Id, nullable=True),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(255), nullable=False),
    Column("detail", JSON, nullable=False),
)

vault_state = Table(
    "vault_state",
    metadata,
    Column("id", Integer, primary_key=True, comment="always 1"),
    Column("key_id", String(64), nullable=False, comment="fingerprint of the master key in use"),
    Column("updated_at", UtcDateTime(), nullable=False),
)


def of_its_order(order: typing.Any, row: typing.Any) -> typing.Any:
    """The join condition of ``order`` (orders, or an alias) to the order ``row`` (a line, a
    refund, a shipment: a table or alias with the order's key) belongs to."""
    return and_(
        order.c.tenant_id == row.c.tenant_id,
        order.c.platform == row.c.platform,
        order.c.shop_id == row.c.shop_id,
        order.c.order_id == row.c.order_id,
    )


def _column_type(annotation: object, info: FieldInfo) -> tuple[TypeEngine[typing.Any], bool]:
    """The SQL type for a record field's annotation, and whether it is nullable."""
    nullable = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        annotation = args[0]
    meta = list(info.metadata)
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        meta += [item for m in extra for item in getattr(m, "metadata", [m])]
    max_length = next((m.max_length for m in meta if getattr(m, "max_length", None)), None)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return String(32), nullable
    if annotation is Decimal:
        digits = next((m.max_digits for m in meta if getattr(m, "max_digits", None)), 18)
        places = next((m.decimal_places for m in meta if getattr(m, "decimal_places", None)), 4)
        return Numeric(digits, places), nullable
    if annotation is dt.datetime:
        return UtcDateTime(), nullable
    if annotation is dt.date:
        return Date(), nullable
    if annotation is bool:
        return Boolean(), nullable
    if annotation is int:
        return BigInteger(), nullable
    if annotation is str:
        return String(max_length or 255), nullable
    raise TypeError(f"no SQL type for {annotation!r}")


def _standard_table(record: type[StandardRecord]) -> Table:
    columns: list[Column[typing.Any]] = [Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True)]
    for name, info in record.model_fields.items():
        sql_type, nullable = _column_type(info.annotation, info)
        in_key = name in record.natural_key
        columns.append(Column(name, sql_type, primary_key=in_key, nullable=nullable and not in_key))
    columns += [
        Column("connection_id", Id, nullable=True, comment="lineage: the connection that wrote the row"),
        Column("raw_record_id", Id, nullable=True, comment="lineage: the raw_records row it came from"),
        Column("ingested_at", UtcDateTime(), nullable=False),
    ]
    # Finds the rows a raw record derived, to replace them when it arrives again or is remapped.
    # By the raw record's id, not its text key: a new record's id is the next one, so a large
    # first load appends to this index where random text keys rewrote a page of it per row.
    lineage = Index(None, "raw_record_id")
    return Table(record.table, metadata, *columns, lineage)


standard_tables: dict[str, Table] = {name: _standard_table(cls) for name, cls in STANDARD_RECORDS.items()}


# Modules that add their own tables to ``metadata``; imported last because they import this one.
from . import kpi_tables, management_tables, service_tables, sink_tables  # noqa: E402, F401
