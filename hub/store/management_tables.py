"""Tables of KPI management: targets, scorecards, adjustments, alert rules, alerts, work orders.

They live in the store's one ``metadata`` (imported at the end of ``tables.py``) so migrations
are checked against them like every other table.

``kpi_target``, ``kpi_scorecard`` and ``kpi_alert`` are published tables (ARCHITECTURE.md,
"Published KPI tables"): their columns are a contract, stamped with ``contract_version``, and
only grow within a major version. The others are the hub's own working tables.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .exact import ExactValue
from .kpi_tables import CONTRACT_VERSION  # one version for every published table
from .tables import Id, metadata
from .types import UtcDateTime

__all__ = [
    "CONTRACT_VERSION",
    "alert_rules",
    "kpi_adjustments",
    "kpi_alert",
    "kpi_scorecard",
    "kpi_target",
    "scorecard_templates",
    "work_orders",
]


# Targets are money or counts set by people: four decimals hold every cent exactly.
TargetAmount = Numeric(20, 4)

kpi_target = Table(
    "kpi_target",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("metric_id", String(64), primary_key=True),
    Column("grain", String(8), primary_key=True, comment="month, quarter or year"),
    Column("period_start", Date, primary_key=True),
    Column("scope_type", String(16), primary_key=True),
    Column("scope_id", String(255), primary_key=True, comment="a category under a shop is shop/category"),
    Column("target_value", TargetAmount, nullable=False),
    Column(
        "actual_value", ExactValue(), nullable=True, comment="the KPI's value, exactly; null until it has one"
    ),
    Column("attainment", Double, nullable=True, comment="null when not computable, never 0"),
    Column("paced_attainment", Double, nullable=True, comment="period-to-date pace against the target"),
    Column("source", String(16), nullable=False, comment="set or decomposed"),
    Column("parent_scope_type", String(16), nullable=True),
    Column("parent_scope_id", String(255), nullable=True),
    Column("method", String(16), nullable=True, comment="weights or previous_share when decomposed"),
    Column("share", Double, nullable=True, comment="the part of the parent this row received"),
    Column("phase", String(8), nullable=True, comment="new or mature, for shop targets"),
    Column("contract_version", String(8), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(128), nullable=False),
)

scorecard_templates = Table(
    "scorecard_templates",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("template_id", String(64), primary_key=True),
    Column("role", String(64), nullable=False),
    Column("subject_type", String(8), nullable=False, comment="person or team"),
    Column("definition", JSON, nullable=False, comment="metrics with weights and scoring rules"),
    Column("updated_at", UtcDateTime(), nullable=False),
)

kpi_scorecard = Table(
    "kpi_scorecard",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id"), primary_key=True),
    Column("grain", String(8), primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("subject_type", String(8), primary_key=True, comment="person or team"),
    Column("subject_id", String(255), primary_key=True),
    Column("metric_id", String(64), primary_key=True),
    Column("template_id", String(64), nullable=False),
    Column("weight", Double, nullable=False, comment="the weight applied, after any adjustment"),
    Column("actual_value", Double, nullable=True),
    Column("target_value", Double, nullable=True),
    Column("attainment", Double, nullable=True, comment="null when the target is not configured"),
    Column("score", Double, nullable=True, comment="0-100 for this metric; null when not scored"),
    Column("total_score", Double, nullable=True, comment="weighted total of the subject, same on each row"),
    Column("adjusted", Boolean, nullable=False),
    Column("adjustment_reason", Text, nullable=True),
    Column("guardrail", Text, nullable=True, comment="why an improvement is flagged, not praised"),
    Column("contract_version", String(8), nullable=False),
    Column("computed_at", UtcDateTime(), nullable=False),
)

kpi_adjustments = Table(
    "kpi_adjustments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False),
    Column("subject_type", String(8), nullable=False, comment="person, team or shop"),
    Column("subject_id", String(255), nullable=False),
    Column("grain", String(8), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("kind", String(8), nullable=False, comment="reweight or exempt"),
    Column("metric_id", String(64), nullable=True, comment="null exempts the whole scorecard"),
    Column("weight", Double, nullable=True, comment="the temporary weight for a reweight"),
    Column("reason", Text, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(None, "tenant_id", "grain", "period_start"),
)

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("kind", String(16), nullable=False, comment="metric, stale_data or sync_failed"),
    Column("metric_id", String(64), nullable=True),
    Column("scope_type", String(16), nullable=True),
    Column("scope_id", String(255), nullable=True, comment="null: every scope of the type"),
    Column("grain", String(8), nullable=True),
    Column("comparator", String(4), nullable=True),
    Column("threshold", Double, nullable=False, comment="metric threshold, or hours for stale data"),
    Column("window_periods", Integer, nullable=False, comment="consecutive periods the breach must last"),
    Column("severity", String(8), nullable=False),
    Column("cooldown_minutes", Integer, nullable=False),
    Column("channels", Text, nullable=True, comment="vault ciphertext of the apprise URLs, never plain"),
    Column("work_order", Boolean, nullable=False),
    Column("assignee", String(128), nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "name"),
)

kpi_alert = Table(
    "kpi_alert",
    metadata,
    Column("alert_id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False),
    Column("rule_id", Id, ForeignKey("alert_rules.id"), nullable=False),
    Column("raised_at", UtcDateTime(), nullable=False),
    Column("metric_id", String(64), nullable=True),
    Column("scope_type", String(16), nullable=False),
    Column("scope_id", String(255), nullable=False),
    Column("grain", String(8), nullable=True),
    Column("period_start", Date, nullable=True),
    Column("value", Double, nullable=True),
    Column("threshold", Double, nullable=False),
    Column("severity", String(8), nullable=False),
    Column("status", String(16), nullable=False, comment="open, acknowledged or resolved"),
    Column("message", Text, nullable=False),
    Column("delivery", String(16), nullable=False, comment="sent, failed or none (no channels)"),
    Column("work_order_id", Id, nullable=True),
    Column("contract_version", String(8), nullable=False),
    # The cool-down looks up the latest alert of a rule for a scope.
    Index(None, "rule_id", "scope_type", "scope_id", "raised_at"),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False),
    Column("alert_id", Id, nullable=False, comment="the alert that opened it"),
    Column("title", Text, nullable=False),
    Column("assignee", String(128), nullable=True),
    Column("status", String(16), nullable=False, comment="open, in_progress or done"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
