"""SQL tables for published table schemas, and adding new contract columns to existing ones."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Double,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    inspect,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.schema import CreateColumn
from sqlalchemy.types import TypeEngine

from sdk import TableSchema

__all__ = ["add_missing_columns", "row_converter", "sql_table"]

# Key columns need a bounded length (MySQL indexes at most 3,072 bytes; 4-byte characters):
# six 128-character string columns fit, and the contract's ids are far shorter.
KEY_STRING_LENGTH = 128


def _sql_type(type_name: str, *, in_key: bool, places: int = 4) -> TypeEngine[Any]:
    match type_name:
        case "int":
            return BigInteger()
        case "float":
            return Double()
        case "decimal":
            # Exact: amounts carry four places, KPI values ten (their quotients).
            return Numeric(38, places)
        case "bool":
            return Boolean()
        case "datetime":
            # timestamptz on PostgreSQL; elsewhere naive UTC, with microseconds kept on MySQL.
            return DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
        case "date":
            return Date()
        case _:
            return String(KEY_STRING_LENGTH) if in_key else Text()


def sql_table(schema: TableSchema, metadata: MetaData) -> Table:
    """The SQL table for ``schema`` in ``metadata``: typed columns, the key as primary key."""
    columns = [
        Column(
            name,
            _sql_type(type_name, in_key=name in schema.key, places=schema.decimal_places(name)),
            primary_key=name in schema.key,
            nullable=name not in schema.key,
        )
        for name, type_name in schema.columns.items()
    ]
    return Table(schema.name, metadata, *columns, comment=schema.description or None)


def add_missing_columns(conn: Connection, table: Table) -> list[str]:
    """Create ``table`` if absent, else add the columns it lacks (nullable); never drop any."""
    inspector = inspect(conn)
    if not inspector.has_table(table.name, schema=table.schema):
        table.create(conn)
        return []
    present = {c["name"] for c in inspector.get_columns(table.name, schema=table.schema)}
    added = []
    preparer = conn.dialect.identifier_preparer
    for column in table.columns:
        if column.name in present:
            continue
        definition = CreateColumn(column).compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {definition}")
        added.append(column.name)
    return added


Row = dict[str, Any]


def row_converter(columns: Mapping[str, str], *, aware: bool) -> Callable[[Mapping[str, Any]], Row]:
    """A function turning a row into what the driver takes: non-finite floats as NULL, and
    datetimes naive UTC unless the column keeps an offset (``aware``)."""
    names = list(columns)
    floats = [n for n, kind in columns.items() if kind == "float"]
    stamps = [] if aware else [n for n, kind in columns.items() if kind == "datetime"]

    def convert(row: Mapping[str, Any]) -> dict[str, Any]:
        out = {name: row.get(name) for name in names}
        for name in floats:
            value = out[name]
            if value is not None and not math.isfinite(value):
                out[name] = None
        for name in stamps:
            value = out[name]
            if isinstance(value, datetime) and value.tzinfo is not None:
                out[name] = value.astimezone(UTC).replace(tzinfo=None)
        return out

    return convert
