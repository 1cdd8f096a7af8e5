"""Tables of the sinks: configured sinks and a push watermark per sink and table.

They live in the store's one ``metadata`` (imported at the end of ``tables.py``) so migrations
are checked against them like every other table.

A watermark row says what the sink's copy of one published table reflects: the newest change
time pushed (tables with a change column) or a fingerprint of the rows (tables without one),
how many rows the target holds, which columns it has, and whether a push of it is under way
(``pending``: set before the target is touched, cleared with the new watermark), which is how a
push interrupted at any point is recognised and repaired by the next one.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, ForeignKey, String, Table, Text, UniqueConstraint

from .tables import Id, metadata
from .types import UtcDateTime

__all__ = ["sink_watermarks", "sinks"]

sinks = Table(
    "sinks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("plugin", String(64), nullable=False),
    Column("options", JSON, nullable=False),
    Column("credentials", Text, nullable=True, comment="vault ciphertext, never plain"),
    Column("tables", JSON, nullable=True, comment="published tables it receives; null: the default set"),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "name"),
)

sink_watermarks = Table(
    "sink_watermarks",
    metadata,
    Column("sink_id", Id, ForeignKey("sinks.id"), primary_key=True),
    Column("table_name", String(64), primary_key=True),
    Column("watermark", UtcDateTime(), nullable=True, comment="newest change time the target reflects"),
    Column("fingerprint", String(64), nullable=True, comment="digest of the rows (no change time)"),
    Column("rows_pushed", BigInteger, nullable=False, server_default="0"),
    Column("at_watermark", BigInteger, nullable=False, server_default="0", comment="rows stamped exactly so"),
    Column("columns", JSON, nullable=False, comment="the columns the target's table has"),
    Column("pending", Boolean, nullable=False, comment="a push of this table started and has not finished"),
    Column("pushed_at", UtcDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)
