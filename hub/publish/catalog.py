"""What the hub publishes: the contract tables of ARCHITECTURE.md and, on request, the
standard fact tables, each described as a sink sees it (typed columns, key, relationships)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, MetaData, Numeric, String, Table, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

from sdk import ConfigError, TableSchema

__all__ = [
    "DEFAULT_TABLES",
    "PublishedTable",
    "catalog",
    "published_table",
    "select_tables",
]

DEFAULT_TABLES = (
    "dim_date",
    "dim_metric",
    "dim_shop",
    "dim_team",
    "dim_person",
    "kpi_fact",
    "kpi_target",
    "kpi_scorecard",
    "kpi_alert",
)
"""The published KPI tables, dimensions first so a BI tool's relationships find their rows."""

STANDARD_FACTS = ("orders", "order_items", "refunds", "ad_performance", "inventory_snapshots", "shipments")
"""Standard fact tables a sink may also receive (``--tables orders,…``), for sinks that can hold them."""

# Columns a sink never receives: the tenant is the sink's own, lineage is the hub's business.
HIDDEN = frozenset({"tenant_id", "connection_id", "raw_record_id"})

# The column whose time moves whenever the hub writes a row (an order's own updated_at is the
# platform's, so ingested_at comes first); tables without one are
# compared by fingerprint.
CHANGE_COLUMNS = ("computed_at", "ingested_at", "updated_at")

REFERENCES: dict[str, dict[str, tuple[str, str]]] = {
    "kpi_fact": {"metric_id": ("dim_metric", "metric_id"), "period_start": ("dim_date", "date")},
    "kpi_target": {"metric_id": ("dim_metric", "metric_id"), "period_start": ("dim_date", "date")},
    "kpi_scorecard": {"metric_id": ("dim_metric", "metric_id"), "period_start": ("dim_date", "date")},
    "kpi_alert": {"metric_id": ("dim_metric", "metric_id")},
    "dim_person": {"team_id": ("dim_team", "team_id")},
}
"""Facts to dimensions (many to one), declared as relationships by BI sinks."""


@dataclass(frozen=True)
class PublishedTable:
    """A hub table as published: which rows (the tenant's), which columns, how changes show."""

    table: Table
    columns: dict[str, str]
    key: tuple[str, ...]
    tenant_scoped: bool
    change_column: str | None
    references: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.table.name

    def schema(self, *, rows: int | None, available: Iterable[str]) -> TableSchema:
        """The sink's view; references to tables the push does not carry are left out."""
        present = set(available)
        references = {c: ref for c, ref in self.references.items() if ref[0] in present}
        comment = self.table.comment or ""
        places = {
            c: scale
            for c in self.columns
            if self.columns[c] == "decimal" and (scale := _places(self.table.c[c].type)) > 4
        }
        return TableSchema(self.name, dict(self.columns), self.key, references, rows, comment, places)


def _places(sql_type: TypeEngine[object]) -> int:
    """Decimal places of a decimal column (the published values' ten, an amount's four)."""
    impl = sql_type.impl_instance if isinstance(sql_type, TypeDecorator) else sql_type
    return int(getattr(impl, "scale", None) or 4)


def _type_name(sql_type: TypeEngine[object]) -> str | None:
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    # Order matters: Float is a Numeric and Text a String in SQLAlchemy's hierarchy.
    checks: Sequence[tuple[type, str]] = (
        (Boolean, "bool"),
        (Integer, "int"),
        (Float, "float"),
        (Numeric, "decimal"),
        (DateTime, "datetime"),
        (Date, "date"),
        (String, "str"),
        (Text, "str"),
    )
    for cls, name in checks:
        if isinstance(sql_type, cls):
            return name
    return None


def published_table(table: Table, references: Mapping[str, tuple[str, str]] | None = None) -> PublishedTable:
    """Describe ``table`` for sinks: every column of a publishable type but the hidden ones."""
    columns: dict[str, str] = {}
    for column in table.columns:
        type_name = _type_name(column.type)
        if column.name in HIDDEN or type_name is None:
            continue
        columns[column.name] = type_name
    key = tuple(c.name for c in table.primary_key.columns if c.name not in HIDDEN)
    change = next((c for c in CHANGE_COLUMNS if c in columns), None)
    return PublishedTable(
        table=table,
        columns=columns,
        key=key,
        tenant_scoped="tenant_id" in table.columns,
        change_column=change,
        references=dict(references if references is not None else REFERENCES.get(table.name, {})),
    )


def catalog(metadata: MetaData) -> dict[str, PublishedTable]:
    """Every publishable table the store's schema declares, by name."""
    names = [n for n in (*DEFAULT_TABLES, *STANDARD_FACTS) if n in metadata.tables]
    return {name: published_table(metadata.tables[name]) for name in names}


def select_tables(
    available: Mapping[str, PublishedTable], wanted: Sequence[str] | None
) -> list[PublishedTable]:
    """The tables named (all published ones by default), in the catalog's order, or a
    ``ConfigError`` naming the unknown ones and the choices."""
    if not wanted:
        return [t for name, t in available.items() if name in DEFAULT_TABLES]
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        raise ConfigError(f"unknown tables {unknown}; publishable tables: {', '.join(available)}")
    return [t for name, t in available.items() if name in wanted]
