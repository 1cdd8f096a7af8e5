"""Tables of the KPI engine: counting-basis versions, computed KPI facts and published dimensions.

They live in the store's one ``metadata`` (imported at the end of ``tables.py``) so migrations
are checked against them like every other table.

``kpi_fact`` and the ``dim_*`` tables are the published contract (ARCHITECTURE.md, "Published KPI
tables"): sinks push them as they are, so columns are only ever added. ``kpi_measures`` and
``kpi_compute_state`` are the engine's own working tables and are not published.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, Integer, String, Table, Text

from .exact import ExactMeasure, ExactValue
from .tables import Id, metadata, standard_tables
from .types import UtcDateTime

__all__ = [
    "CONTRACT_VERSION",
    "counting_bases",
    "dim_date",
    "dim_metric",
    "dim_person",
    "dim_shop",
    "dim_team",
    "kpi_compute_state",
    "kpi_fact",
    "kpi_measures",
    "kpi_moved",
]

CONTRACT_VERSION = "1.0"
"""Version of the published KPI tables; additive changes only within a major version."""

counting_bases = Table(
    "counting_bases",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("settings", JSON, nullable=False, comment="the full counting basis (口径) of this version"),
    Column("note", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(128), nullable=False),
)

kpi_fact = Table(
    "kpi_fact",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("metric_id", String(64), primary_key=True),
    Column("grain", String(8), primary_key=True, comment="day, week, month, quarter or year"),
    Column("period_start", Date, primary_key=True),
    Column("scope_type", String(16), primary_key=True),
    Column("scope_id", String(160), primary_key=True, comment="shop and site scopes: platform:id"),
    Column("platform", String(128), nullable=True),
    Column("shop_id", String(128), nullable=True),
    Column(
        "value",
        ExactValue(),
        nullable=True,
        comment="exact; null when undefined (division by zero) or unknown (see unknown_reason), never 0",
    ),
    Column("numerator", ExactValue(), nullable=True),
    Column("denominator", ExactValue(), nullable=True),
    Column("unit", String(16), nullable=False),
    Column("currency", String(3), nullable=True, comment="the tenant's base currency for amounts"),
    Column("basis_version", Integer, nullable=False),
    Column("computed_at", UtcDateTime(), nullable=False),
    Column("contract_version", String(8), nullable=False),
    Column(
        "coverage",
        ExactValue(),
        nullable=True,
        comment="share of the input rows that were complete (FX rate, cost, fees known); null: no input",
    ),
    Column(
        "unknown_reason",
        Text,
        nullable=True,
        comment="why value is null though there was input: which inputs were incomplete",
    ),
    Column("input_rows", Integer, nullable=True, comment="source rows the value is computed from"),
    Column("known_rows", Integer, nullable=True, comment="of them, those whose inputs were all known"),
    # Sinks read what changed since their watermark.
    Index(None, "tenant_id", "computed_at"),
)

kpi_measures = Table(
    "kpi_measures",
    metadata,
    # No foreign key: the engine bulk-writes this scratch table, and PostgreSQL's per-row
    # foreign-key check cost about as much as the insert itself.
    Column("tenant_id", Id, primary_key=True),
    Column("measure", String(64), primary_key=True),
    Column("grain", String(8), primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("shop_key", String(160), primary_key=True, comment="platform:shop_id; '-' when no shop"),
    Column("sku", String(128), primary_key=True, comment="'' for shop-level measures"),
    Column("value", ExactMeasure(), nullable=False, comment="exact, four places"),
    Column(
        "input_rows", Integer, nullable=False, server_default="0", comment="source rows counted (or samples)"
    ),
    Column(
        "known_rows",
        Integer,
        nullable=False,
        server_default="0",
        comment="of them, those whose inputs were all known",
    ),
    comment="additive components per shop (and SKU) and period that KPIs roll up from; engine-internal",
)

kpi_moved = Table(
    "kpi_moved",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, nullable=False),
    Column("source_table", String(64), nullable=False),
    Column("platform", String(128), nullable=True),
    Column("shop_id", String(128), nullable=True),
    Column("moments", JSON, nullable=False, comment="ISO dates and UTC times the row was dated by"),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Index(None, "tenant_id", "recorded_at"),
    comment="where a replaced or removed standard row was counted before: its old (shop, day) "
    "partitions are recomputed by the next incremental compute; engine-internal",
)

kpi_compute_state = Table(
    "kpi_compute_state",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("watermark", UtcDateTime(), nullable=False, comment="rows ingested before it are computed"),
    Column("basis_version", Integer, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True, comment="start of the compute that set it"),
    Column(
        "fingerprints",
        JSON,
        nullable=True,
        comment="lookup and FX digests and the lag window's stamps that compute saw",
    ),
)

dim_metric = Table(
    "dim_metric",
    metadata,
    Column("metric_id", String(64), primary_key=True),
    Column("name_en", String(128), nullable=False),
    Column("name_zh", String(128), nullable=False),
    Column("family", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("formula", Text, nullable=False),
    Column("direction", String(24), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("contract_version", String(8), nullable=False),
)

dim_shop = Table(
    "dim_shop",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("shop_key", String(160), primary_key=True, comment="platform:shop_id, the kpi_fact scope_id"),
    Column("shop_id", String(128), nullable=False),
    Column("platform", String(128), nullable=False),
    Column("site", String(255), nullable=True),
    Column("shop_name", String(255), nullable=True),
    Column("timezone", String(64), nullable=False),
    Column("currency", String(3), nullable=True),
    Column("phase", String(8), nullable=False, comment="new or mature, from the launch date"),
    Column("launched_on", Date, nullable=True),
    Column("team_id", String(128), nullable=True),
    Column("contract_version", String(8), nullable=False),
)

dim_person = Table(
    "dim_person",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("person_id", String(128), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("team_id", String(128), nullable=True),
    Column("role", String(255), nullable=True),
    Column("contract_version", String(8), nullable=False),
)

dim_team = Table(
    "dim_team",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("team_id", String(128), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("parent_team_id", String(128), nullable=True),
    Column("contract_version", String(8), nullable=False),
)

dim_date = Table(
    "dim_date",
    metadata,
    Column("date", Date, primary_key=True),
    Column("week", Date, nullable=False, comment="Monday of the ISO week"),
    Column("month", Date, nullable=False, comment="first day of the month"),
    Column("quarter", Date, nullable=False, comment="first day of the quarter"),
    Column("year", Integer, nullable=False),
    Column("year_start", Date, nullable=False, comment="1 January of the year"),
    Column("iso_week", Integer, nullable=False),
    Column("month_of_year", Integer, nullable=False),
    Column("quarter_of_year", Integer, nullable=False),
    Column("prev_day", Date, nullable=False, comment="the day before: finds the previous period"),
    Column("year_ago", Date, nullable=False, comment="the same date a year earlier (29 Feb: 28 Feb)"),
)

# The engine finds what a sync touched by ``ingested_at`` and re-reads a few days of orders by
# their creation time; without these indexes both would scan the largest standard tables.
for _name, _column in (
    ("orders", "ingested_at"),
    ("orders", "created_at"),
    ("order_items", "ingested_at"),
    ("refunds", "ingested_at"),
    ("refunds", "created_at"),
):
    Index(None, standard_tables[_name].c.tenant_id, standard_tables[_name].c[_column])

# Refunds meet their orders by order id, which is not in the refunds' key: without this index a
# refund dated by its order, or found through a re-ingested order, scans its shop's refunds.
_refunds = standard_tables["refunds"]
Index(None, _refunds.c.tenant_id, _refunds.c.platform, _refunds.c.shop_id, _refunds.c.order_id)
