"""The push dataset's definition from the published table schemas: typed columns, DAX
measures where a ratio must be re-aggregated, relationships from facts to dimensions."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sdk import ConfigError, TableSchema

from .limits import (
    COLUMN_NAME,
    MAX_COLUMNS,
    MAX_RELATIONSHIPS,
    MAX_ROWS_FIFO,
    MAX_ROWS_PER_TABLE,
    MAX_STRING_CHARS,
    MAX_TABLES,
    TABLE_NAME,
)

__all__ = [
    "check_fits",
    "data_type",
    "dataset_body",
    "relationships",
    "table_body",
    "to_wire",
    "wire_converter",
]

POWERBI_TYPES = {
    "int": "Int64",
    "float": "Double",
    "decimal": "Decimal",
    "bool": "Boolean",
    "datetime": "DateTime",
    "date": "DateTime",
    "str": "String",
}


def data_type(schema: TableSchema, column: str) -> str:
    """The Power BI data type of a column: a decimal of more than four places (a KPI value's
    quotients) is a Double, since Power BI's Decimal is a fixed decimal of four places."""
    kind = schema.columns[column]
    if kind == "decimal" and schema.decimal_places(column) > 4:
        return "Double"
    return POWERBI_TYPES[kind]


ELSEWHERE = "push it with the database sink (`--plugin database`) or the Tableau sink (`--plugin tableau`)"


def check_fits(schemas: Sequence[TableSchema], *, retention: str) -> None:
    """Refuse, before anything is sent, what a push dataset cannot hold."""
    if len(schemas) > MAX_TABLES:
        raise ConfigError(f"a Power BI push dataset holds at most {MAX_TABLES} tables, not {len(schemas)}")
    cap = MAX_ROWS_FIFO if retention == "basicFIFO" else MAX_ROWS_PER_TABLE
    for schema in schemas:
        if not TABLE_NAME.search(schema.name):
            raise ConfigError(f"{schema.name!r} is not a valid Power BI table name")
        bad = [c for c in schema.columns if not COLUMN_NAME.search(c)]
        if bad:
            raise ConfigError(f"table {schema.name!r}: {bad} are not valid Power BI column names")
        if len(schema.columns) > MAX_COLUMNS:
            raise ConfigError(
                f"table {schema.name!r} has {len(schema.columns)} columns; a Power BI push dataset table "
                f"holds at most {MAX_COLUMNS}: {ELSEWHERE}"
            )
        if schema.rows is not None and schema.rows > cap:
            raise ConfigError(
                f"table {schema.name!r} has {schema.rows:,} rows; a Power BI push dataset table with "
                f"retention {retention} holds at most {cap:,}: {ELSEWHERE}"
            )


def _measures(schema: TableSchema) -> list[dict[str, Any]]:
    table = schema.name.replace("'", "''")
    out = []
    if {"numerator", "denominator"} <= set(schema.columns):
        # Ratios aggregate first: sum the parts, then divide (blank, not 0, on a zero denominator).
        out.append(
            {
                "name": "Value (ratio of sums)",
                "expression": f"DIVIDE(SUM('{table}'[numerator]), SUM('{table}'[denominator]))",
                "description": "Re-aggregates ratio KPIs correctly at any grain.",
            }
        )
    if {"actual_value", "target_value"} <= set(schema.columns):
        out.append(
            {
                "name": "Attainment",
                "expression": f"DIVIDE(SUM('{table}'[actual_value]), SUM('{table}'[target_value]))",
                "formatString": "0.0%",
                "description": "Actual over target; blank where no target is configured.",
            }
        )
    return out


def table_body(
    schema: TableSchema, *, measures: bool, existing: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A ``Table``: the full column list (columns the service has beyond the contract kept)."""
    columns = [{"name": name, "dataType": data_type(schema, name)} for name in schema.columns]
    for name, kept in (existing or {}).items():
        if name not in schema.columns:
            columns.append({"name": name, "dataType": kept})
    body: dict[str, Any] = {"name": schema.name, "columns": columns}
    if measures and (found := _measures(schema)):
        body["measures"] = found
    if schema.description:
        body["description"] = schema.description
    return body


def relationships(schemas: Sequence[TableSchema]) -> list[dict[str, Any]]:
    names = {s.name for s in schemas}
    out = [
        {
            "name": f"{schema.name}_{column}"[:100],
            "fromTable": schema.name,
            "fromColumn": column,
            "toTable": table,
            "toColumn": target,
            "crossFilteringBehavior": "OneDirection",
        }
        for schema in schemas
        for column, (table, target) in schema.references.items()
        if table in names
    ]
    return out[:MAX_RELATIONSHIPS]


def dataset_body(name: str, schemas: Sequence[TableSchema], *, measures: bool) -> dict[str, Any]:
    """A ``CreateDatasetRequest`` for a push dataset."""
    body: dict[str, Any] = {
        "name": name,
        "defaultMode": "Push",
        "tables": [table_body(s, measures=measures) for s in schemas],
    }
    if found := relationships(schemas):
        body["relationships"] = found
    return body


def to_wire(row: Mapping[str, Any], columns: Mapping[str, str]) -> tuple[dict[str, Any], int]:
    """One row as Power BI takes it, and how many strings had to be cut to 4,000 characters.

    NaN and infinities become null (the service rejects them); datetimes are ISO 8601 in UTC;
    dates are midnight UTC; decimals travel as JSON numbers.
    """
    return wire_converter(columns)(row)


def wire_converter(columns: Mapping[str, str]) -> Callable[[Mapping[str, Any]], tuple[dict[str, Any], int]]:
    """``to_wire`` for many rows of the same columns: the column kinds are looked at once, and
    a timestamp repeated row after row (a table's ``computed_at``) is formatted once."""
    names = list(columns)
    converted = [(name, kind) for name, kind in columns.items() if kind not in ("int", "bool")]
    last: list[Any] = [None, None]  # the last datetime formatted, and its text

    def convert(row: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        out = {name: row.get(name) for name in names}
        cut = 0
        for name, kind in converted:
            value = out[name]
            if value is None:
                continue
            if kind == "float":
                if not math.isfinite(value):
                    out[name] = None
            elif kind == "str":
                if not isinstance(value, str):
                    value = out[name] = str(value)
                if len(value) > MAX_STRING_CHARS:
                    out[name], cut = value[:MAX_STRING_CHARS], cut + 1
            elif kind == "decimal":
                number = float(value) if isinstance(value, Decimal | int | float) else float(str(value))
                out[name] = number if math.isfinite(number) else None
            elif kind == "datetime":
                if value != last[0]:
                    stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
                    last[:] = [value, stamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
                out[name] = last[1]
            elif kind == "date":
                out[name] = f"{value.isoformat()}T00:00:00Z"
        return out, cut

    return convert
