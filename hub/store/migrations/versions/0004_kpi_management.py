"""KPI management: targets, scorecards, adjustments, alerts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_rules',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False, comment='metric, stale_data or sync_failed'),
    sa.Column('metric_id', sa.String(length=64), nullable=True),
    sa.Column('scope_type', sa.String(length=16), nullable=True),
    sa.Column('scope_id', sa.String(length=255), nullable=True, comment='null: every scope of the type'),
    sa.Column('grain', sa.String(length=8), nullable=True),
    sa.Column('comparator', sa.String(length=4), nullable=True),
    sa.Column('threshold', sa.Double(), nullable=False, comment='metric threshold, or hours for stale data'),
    sa.Column('window_periods', sa.Integer(), nullable=False, comment='consecutive periods the breach must last'),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('cooldown_minutes', sa.Integer(), nullable=False),
    sa.Column('channels', sa.Text(), nullable=True, comment='vault ciphertext of the apprise URLs, never plain'),
    sa.Column('work_order', sa.Boolean(), nullable=False),
    sa.Column('assignee', sa.String(length=128), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_alert_rules_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_rules')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_alert_rules_tenant_id_name'))
    )
    op.create_table('kpi_adjustments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject_type', sa.String(length=8), nullable=False, comment='person, team or shop'),
    sa.Column('subject_id', sa.String(length=255), nullable=False),
    sa.Column('grain', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False, comment='reweight or exempt'),
    sa.Column('metric_id', sa.String(length=64), nullable=True, comment='null exempts the whole scorecard'),
    sa.Column('weight', sa.Double(), nullable=True, comment='the temporary weight for a reweight'),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('created_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kpi_adjustments_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_adjustments'))
    )
    with op.batch_alter_table('kpi_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kpi_adjustments_tenant_id_grain_period_start'), ['tenant_id', 'grain', 'period_start'], unique=False)

    op.create_table('kpi_scorecard',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('grain', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('subject_type', sa.String(length=8), nullable=False, comment='person or team'),
    sa.Column('subject_id', sa.String(length=255), nullable=False),
    sa.Column('metric_id', sa.String(length=64), nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('weight', sa.Double(), nullable=False, comment='the weight applied, after any adjustment'),
    sa.Column('actual_value', sa.Double(), nullable=True),
    sa.Column('target_value', sa.Double(), nullable=True),
    sa.Column('attainment', sa.Double(), nullable=True, comment='null when the target is not configured'),
    sa.Column('score', sa.Double(), nullable=True, comment='0-100 for this metric; null when not scored'),
    sa.Column('total_score', sa.Double(), nullable=True, comment='weighted total of the subject, same on each row'),
    sa.Column('adjusted', sa.Boolean(), nullable=False),
    sa.Column('adjustment_reason', sa.Text(), nullable=True),
    sa.Column('guardrail', sa.Text(), nullable=True, comment='why an improvement is flagged, not praised'),
    sa.Column('contract_version', sa.String(length=8), nullable=False),
    sa.Column('computed_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kpi_scorecard_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'grain', 'period_start', 'subject_type', 'subject_id', 'metric_id', name=op.f('pk_kpi_scorecard'))
    )
    op.create_table('kpi_target',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('metric_id', sa.String(length=64), nullable=False),
    sa.Column('grain', sa.String(length=8), nullable=False, comment='month, quarter or year'),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('scope_type', sa.String(length=16), nullable=False),
    sa.Column('scope_id', sa.String(length=255), nullable=False, comment='a category under a shop is shop/category'),
    sa.Column('target_value', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('actual_value', sa.Double(), nullable=True, comment='null until the KPI has a value'),
    sa.Column('attainment', sa.Double(), nullable=True, comment='null when not computable, never 0'),
    sa.Column('paced_attainment', sa.Double(), nullable=True, comment='period-to-date pace against the target'),
    sa.Column('source', sa.String(length=16), nullable=False, comment='set or decomposed'),
    sa.Column('parent_scope_type', sa.String(length=16), nullable=True),
    sa.Column('parent_scope_id', sa.String(length=255), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=True, comment='weights or previous_share when decomposed'),
    sa.Column('share', sa.Double(), nullable=True, comment='the part of the parent this row received'),
    sa.Column('phase', sa.String(length=8), nullable=True, comment='new or mature, for shop targets'),
    sa.Column('contract_version', sa.String(length=8), nullable=False),
    sa.Column('updated_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kpi_target_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'metric_id', 'grain', 'period_start', 'scope_type', 'scope_id', name=op.f('pk_kpi_target'))
    )
    op.create_table('scorecard_templates',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=8), nullable=False, comment='person or team'),
    sa.Column('definition', sa.JSON(), nullable=False, comment='metrics with weights and scoring rules'),
    sa.Column('updated_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_scorecard_templates_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'template_id', name=op.f('pk_scorecard_templates'))
    )
    op.create_table('work_orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alert_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False, comment='the alert that opened it'),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('assignee', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False, comment='open, in_progress or done'),
    sa.Column('created_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_work_orders_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_orders'))
    )
    op.create_table('kpi_alert',
    sa.Column('alert_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('raised_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('metric_id', sa.String(length=64), nullable=True),
    sa.Column('scope_type', sa.String(length=16), nullable=False),
    sa.Column('scope_id', sa.String(length=255), nullable=False),
    sa.Column('grain', sa.String(length=8), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('threshold', sa.Double(), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False, comment='open, acknowledged or resolved'),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('delivery', sa.String(length=16), nullable=False, comment='sent, failed or none (no channels)'),
    sa.Column('work_order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('contract_version', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], name=op.f('fk_kpi_alert_rule_id_alert_rules')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kpi_alert_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('alert_id', name=op.f('pk_kpi_alert'))
    )
    with op.batch_alter_table('kpi_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kpi_alert_rule_id_scope_type_scope_id_raised_at'), ['rule_id', 'scope_type', 'scope_id', 'raised_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kpi_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_alert_rule_id_scope_type_scope_id_raised_at"))
    op.drop_table("kpi_alert")
    op.drop_table("work_orders")
    op.drop_table("alert_rules")
    with op.batch_alter_table("kpi_adjustments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_adjustments_tenant_id_grain_period_start"))
    op.drop_table("kpi_adjustments")
    op.drop_table("kpi_scorecard")
    op.drop_table("scorecard_templates")
    op.drop_table("kpi_target")
