"""KPI engine: counting bases, computed KPI facts and the published dimensions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dim_date',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False, comment='Monday of the ISO week'),
    sa.Column('month', sa.Date(), nullable=False, comment='first day of the month'),
    sa.Column('quarter', sa.Date(), nullable=False, comment='first day of the quarter'),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('year_start', sa.Date(), nullable=False, comment='1 January of the year'),
    sa.Column('iso_week', sa.Integer(), nullable=False),
    sa.Column('month_of_year', sa.Integer(), nullable=False),
    sa.Column('quarter_of_year', sa.Integer(), nullable=False),
    sa.Column('prev_day', sa.Date(), nullable=False, comment='the day before: finds the previous period'),
    sa.Column('year_ago', sa.Date(), nullable=False, comment='the same date a year earlier (29 Feb: 28 Feb)'),
    sa.PrimaryKeyConstraint('date', name=op.f('pk_dim_date'))
    )
    op.create_table('dim_metric',
    sa.Column('metric_id', sa.String(length=64), nullable=False),
    sa.Column('name_en', sa.String(length=128), nullable=False),
    sa.Column('name_zh', sa.String(length=128), nullable=False),
    sa.Column('family', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('formula', sa.Text(), nullable=False),
    sa.Column('direction', sa.String(length=24), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('contract_version', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('metric_id', name=op.f('pk_dim_metric'))
    )
    op.create_table('counting_bases',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False, comment='the full counting basis (口径) of this version'),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_counting_bases_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'version', name=op.f('pk_counting_bases'))
    )
    op.create_table('dim_person',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('team_id', sa.String(length=128), nullable=True),
    sa.Column('role', sa.String(length=255), nullable=True),
    sa.Column('contract_version', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dim_person_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'person_id', name=op.f('pk_dim_person'))
    )
    op.create_table('dim_shop',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shop_key', sa.String(length=160), nullable=False, comment='platform:shop_id, the kpi_fact scope_id'),
    sa.Column('shop_id', sa.String(length=128), nullable=False),
    sa.Column('platform', sa.String(length=128), nullable=False),
    sa.Column('site', sa.String(length=255), nullable=True),
    sa.Column('shop_name', sa.String(length=255), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('phase', sa.String(length=8), nullable=False, comment='new or mature, from the launch date'),
    sa.Column('launched_on', sa.Date(), nullable=True),
    sa.Column('team_id', sa.String(length=128), nullable=True),
    sa.Column('contract_version', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dim_shop_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'shop_key', name=op.f('pk_dim_shop'))
    )
    op.create_table('dim_team',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('team_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('parent_team_id', sa.String(length=128), nullable=True),
    sa.Column('contract_version', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dim_team_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'team_id', name=op.f('pk_dim_team'))
    )
    op.create_table('kpi_compute_state',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('watermark', hub.store.types.UtcDateTime(), nullable=False, comment='rows ingested before it are computed'),
    sa.Column('basis_version', sa.Integer(), nullable=False),
    sa.Column('updated_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kpi_compute_state_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_kpi_compute_state'))
    )
    op.create_table('kpi_fact',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('metric_id', sa.String(length=64), nullable=False),
    sa.Column('grain', sa.String(length=8), nullable=False, comment='day, week, month, quarter or year'),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('scope_type', sa.String(length=16), nullable=False),
    sa.Column('scope_id', sa.String(length=160), nullable=False, comment='shop and site scopes: platform:id'),
    sa.Column('platform', sa.String(length=128), nullable=True),
    sa.Column('shop_id', sa.String(length=128), nullable=True),
    sa.Column('value', sa.Double(), nullable=True, comment='null when undefined (division by zero), never 0'),
    sa.Column('numerator', sa.Double(), nullable=True),
    sa.Column('denominator', sa.Double(), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True, comment="the tenant's base currency for amounts"),
    sa.Column('basis_version', sa.Integer(), nullable=False),
    sa.Column('computed_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('contract_version', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kpi_fact_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'metric_id', 'grain', 'period_start', 'scope_type', 'scope_id', name=op.f('pk_kpi_fact'))
    )
    op.create_index(op.f('ix_kpi_fact_tenant_id_computed_at'), 'kpi_fact', ['tenant_id', 'computed_at'], unique=False)
    op.create_table('kpi_measures',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('measure', sa.String(length=64), nullable=False),
    sa.Column('grain', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('shop_key', sa.String(length=160), nullable=False, comment="platform:shop_id; '-' when no shop"),
    sa.Column('sku', sa.String(length=128), nullable=False, comment="'' for shop-level measures"),
    sa.Column('value', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kpi_measures_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'measure', 'grain', 'period_start', 'shop_key', 'sku', name=op.f('pk_kpi_measures')),
    comment='additive components per shop (and SKU) and period that KPIs roll up from; engine-internal'
    )
    op.create_index(op.f('ix_order_items_tenant_id_ingested_at'), 'order_items', ['tenant_id', 'ingested_at'], unique=False)
    op.create_index(op.f('ix_orders_tenant_id_created_at'), 'orders', ['tenant_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_orders_tenant_id_ingested_at'), 'orders', ['tenant_id', 'ingested_at'], unique=False)
    op.create_index(op.f('ix_refunds_tenant_id_created_at'), 'refunds', ['tenant_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_refunds_tenant_id_ingested_at'), 'refunds', ['tenant_id', 'ingested_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_refunds_tenant_id_ingested_at'), table_name='refunds')
    op.drop_index(op.f('ix_refunds_tenant_id_created_at'), table_name='refunds')
    op.drop_index(op.f('ix_orders_tenant_id_ingested_at'), table_name='orders')
    op.drop_index(op.f('ix_orders_tenant_id_created_at'), table_name='orders')
    op.drop_index(op.f('ix_order_items_tenant_id_ingested_at'), table_name='order_items')
    op.drop_table('kpi_measures')
    op.drop_index(op.f('ix_kpi_fact_tenant_id_computed_at'), table_name='kpi_fact')
    op.drop_table('kpi_fact')
    op.drop_table('kpi_compute_state')
    op.drop_table('dim_team')
    op.drop_table('dim_shop')
    op.drop_table('dim_person')
    op.drop_table('counting_bases')
    op.drop_table('dim_metric')
    op.drop_table('dim_date')
