"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.store.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=255), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_table('tenants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('base_currency', sa.String(length=3), server_default='USD', nullable=False),
    sa.Column('created_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('name', name=op.f('uq_tenants_name'))
    )
    op.create_table('vault_state',
    sa.Column('id', sa.Integer(), nullable=False, comment='always 1'),
    sa.Column('key_id', sa.String(length=64), nullable=False, comment='fingerprint of the master key in use'),
    sa.Column('updated_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vault_state'))
    )
    op.create_table('ad_performance',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform', sa.String(length=128), nullable=False),
    sa.Column('shop_id', sa.String(length=128), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('campaign_id', sa.String(length=128), nullable=False),
    sa.Column('campaign_name', sa.String(length=255), nullable=True),
    sa.Column('ad_type', sa.String(length=128), nullable=False),
    sa.Column('spend', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('attributed_sales', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('attributed_orders', sa.BigInteger(), nullable=False),
    sa.Column('attributed_units', sa.BigInteger(), nullable=False),
    sa.Column('clicks', sa.BigInteger(), nullable=False),
    sa.Column('impressions', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=255), nullable=False),
    sa.Column('attribution_window_days', sa.BigInteger(), nullable=True),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ad_performance_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'platform', 'shop_id', 'date', 'campaign_id', 'ad_type', name=op.f('pk_ad_performance'))
    )
    with op.batch_alter_table('ad_performance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ad_performance_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('assignments',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('staff_id', sa.String(length=128), nullable=False),
    sa.Column('scope_type', sa.String(length=255), nullable=False),
    sa.Column('scope_id', sa.String(length=128), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_assignments_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'staff_id', 'scope_type', 'scope_id', 'valid_from', name=op.f('pk_assignments'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignments_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('connections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('plugin', sa.String(length=64), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('credentials', sa.Text(), nullable=True, comment='vault ciphertext, never plain'),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('created_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_connections_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connections')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_connections_tenant_id_name'))
    )
    op.create_table('fx_rates',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=255), nullable=False),
    sa.Column('base_currency', sa.String(length=255), nullable=False),
    sa.Column('rate', sa.Numeric(precision=20, scale=10), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_fx_rates_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'date', 'currency', 'base_currency', name=op.f('pk_fx_rates'))
    )
    with op.batch_alter_table('fx_rates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fx_rates_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('inventory_snapshots',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('sku', sa.String(length=128), nullable=False),
    sa.Column('warehouse', sa.String(length=128), nullable=False),
    sa.Column('warehouse_type', sa.String(length=255), nullable=False),
    sa.Column('platform', sa.String(length=255), nullable=True),
    sa.Column('shop_id', sa.String(length=255), nullable=True),
    sa.Column('on_hand', sa.BigInteger(), nullable=False),
    sa.Column('inbound', sa.BigInteger(), nullable=False),
    sa.Column('reserved', sa.BigInteger(), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('currency', sa.String(length=255), nullable=True),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_inventory_snapshots_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'date', 'sku', 'warehouse', name=op.f('pk_inventory_snapshots'))
    )
    with op.batch_alter_table('inventory_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inventory_snapshots_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('order_items',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform', sa.String(length=128), nullable=False),
    sa.Column('shop_id', sa.String(length=128), nullable=False),
    sa.Column('order_id', sa.String(length=128), nullable=False),
    sa.Column('line_id', sa.String(length=128), nullable=False),
    sa.Column('sku', sa.String(length=128), nullable=False),
    sa.Column('platform_item_id', sa.String(length=255), nullable=True),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=255), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_order_items_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'platform', 'shop_id', 'order_id', 'line_id', name=op.f('pk_order_items'))
    )
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_items_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('orders',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform', sa.String(length=128), nullable=False),
    sa.Column('shop_id', sa.String(length=128), nullable=False),
    sa.Column('order_id', sa.String(length=128), nullable=False),
    sa.Column('site', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('currency', sa.String(length=255), nullable=False),
    sa.Column('created_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('paid_at', hub.store.types.UtcDateTime(), nullable=True),
    sa.Column('shipped_at', hub.store.types.UtcDateTime(), nullable=True),
    sa.Column('delivered_at', hub.store.types.UtcDateTime(), nullable=True),
    sa.Column('ship_by', hub.store.types.UtcDateTime(), nullable=True),
    sa.Column('deliver_by', hub.store.types.UtcDateTime(), nullable=True),
    sa.Column('gross_amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('tax', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('shipping_fee', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('discount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('platform_fees', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('buyer_country', sa.String(length=2), nullable=True),
    sa.Column('fulfilment_channel', sa.String(length=255), nullable=True),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_orders_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'platform', 'shop_id', 'order_id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('refunds',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform', sa.String(length=128), nullable=False),
    sa.Column('shop_id', sa.String(length=128), nullable=False),
    sa.Column('refund_id', sa.String(length=128), nullable=False),
    sa.Column('order_id', sa.String(length=128), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('created_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_refunds_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'platform', 'shop_id', 'refund_id', name=op.f('pk_refunds'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('reviews',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform', sa.String(length=128), nullable=False),
    sa.Column('shop_id', sa.String(length=128), nullable=False),
    sa.Column('review_id', sa.String(length=128), nullable=False),
    sa.Column('order_id', sa.String(length=255), nullable=True),
    sa.Column('sku', sa.String(length=255), nullable=True),
    sa.Column('rating', sa.BigInteger(), nullable=False),
    sa.Column('created_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_reviews_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'platform', 'shop_id', 'review_id', name=op.f('pk_reviews'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('service_tickets',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform', sa.String(length=128), nullable=False),
    sa.Column('shop_id', sa.String(length=128), nullable=False),
    sa.Column('ticket_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=255), nullable=False),
    sa.Column('order_id', sa.String(length=255), nullable=True),
    sa.Column('opened_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('first_response_at', hub.store.types.UtcDateTime(), nullable=True),
    sa.Column('resolved_at', hub.store.types.UtcDateTime(), nullable=True),
    sa.Column('status', sa.String(length=255), nullable=True),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_service_tickets_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'platform', 'shop_id', 'ticket_id', name=op.f('pk_service_tickets'))
    )
    with op.batch_alter_table('service_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_tickets_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('shipments',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform', sa.String(length=128), nullable=False),
    sa.Column('shop_id', sa.String(length=128), nullable=False),
    sa.Column('order_id', sa.String(length=128), nullable=False),
    sa.Column('shipment_id', sa.String(length=128), nullable=False),
    sa.Column('carrier', sa.String(length=255), nullable=True),
    sa.Column('tracking_number', sa.String(length=255), nullable=True),
    sa.Column('shipped_at', hub.store.types.UtcDateTime(), nullable=True),
    sa.Column('delivered_at', hub.store.types.UtcDateTime(), nullable=True),
    sa.Column('ship_by', hub.store.types.UtcDateTime(), nullable=True),
    sa.Column('promised_delivery_at', hub.store.types.UtcDateTime(), nullable=True),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_shipments_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'platform', 'shop_id', 'order_id', 'shipment_id', name=op.f('pk_shipments'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipments_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('shops',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform', sa.String(length=128), nullable=False),
    sa.Column('shop_id', sa.String(length=128), nullable=False),
    sa.Column('site', sa.String(length=255), nullable=True),
    sa.Column('shop_name', sa.String(length=255), nullable=True),
    sa.Column('timezone', sa.String(length=255), nullable=False),
    sa.Column('currency', sa.String(length=255), nullable=True),
    sa.Column('launched_on', sa.Date(), nullable=True),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_shops_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'platform', 'shop_id', name=op.f('pk_shops'))
    )
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shops_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('sku_costs',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sku', sa.String(length=128), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('purchase_cost', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('first_leg_cost', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=255), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sku_costs_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'sku', 'valid_from', name=op.f('pk_sku_costs'))
    )
    with op.batch_alter_table('sku_costs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sku_costs_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('skus',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sku', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('category', sa.String(length=255), nullable=True),
    sa.Column('launched_on', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_skus_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'sku', name=op.f('pk_skus'))
    )
    with op.batch_alter_table('skus', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_skus_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('staff',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('staff_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('team_id', sa.String(length=255), nullable=True),
    sa.Column('role', sa.String(length=255), nullable=True),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'staff_id', name=op.f('pk_staff'))
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('teams',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('team_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('parent_team_id', sa.String(length=255), nullable=True),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True, comment='lineage: the connection that wrote the row'),
    sa.Column('source_stream', sa.String(length=64), nullable=True, comment='lineage: the stream it came from'),
    sa.Column('source_key', sa.String(length=255), nullable=True, comment='lineage: the raw record it came from'),
    sa.Column('ingested_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_teams_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'team_id', name=op.f('pk_teams'))
    )
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_connection_id_source_stream_source_key'), ['connection_id', 'source_stream', 'source_key'], unique=False)

    op.create_table('mapping_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('override', sa.JSON(), nullable=False, comment="the client's override of the default"),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('created_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_mapping_versions_connection_id_connections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mapping_versions')),
    sa.UniqueConstraint('connection_id', 'stream', 'version', name=op.f('uq_mapping_versions_connection_id_stream_version'))
    )
    op.create_table('raw_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('partition_key', sa.String(length=128), nullable=False),
    sa.Column('record_key', sa.String(length=255), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('fetched_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('error', sa.Text(), nullable=True, comment='why the record is quarantined; null when mapped'),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_raw_records_connection_id_connections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raw_records')),
    sa.UniqueConstraint('connection_id', 'stream', 'record_key', name=op.f('uq_raw_records_connection_id_stream_record_key'))
    )
    op.create_table('stream_states',
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('partition_key', sa.String(length=128), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('updated_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_stream_states_connection_id_connections')),
    sa.PrimaryKeyConstraint('connection_id', 'stream', 'partition_key', name=op.f('pk_stream_states'))
    )
    op.create_table('sync_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('connection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False, comment='sync, full_refresh or remap'),
    sa.Column('status', sa.String(length=16), nullable=False, comment='running, succeeded, failed'),
    sa.Column('started_at', hub.store.types.UtcDateTime(), nullable=False),
    sa.Column('finished_at', hub.store.types.UtcDateTime(), nullable=True),
    sa.Column('rows_read', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rows_written', sa.Integer(), server_default='0', nullable=False),
    sa.Column('rows_rejected', sa.Integer(), server_default='0', nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('freshness', sa.JSON(), nullable=False, comment='latest data time per stream'),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_sync_runs_connection_id_connections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_runs_connection_id_started_at'), ['connection_id', 'started_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_runs_connection_id_started_at'))

    op.drop_table('sync_runs')
    op.drop_table('stream_states')
    op.drop_table('raw_records')
    op.drop_table('mapping_versions')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teams_connection_id_source_stream_source_key'))

    op.drop_table('teams')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_connection_id_source_stream_source_key'))

    op.drop_table('staff')
    with op.batch_alter_table('skus', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_skus_connection_id_source_stream_source_key'))

    op.drop_table('skus')
    with op.batch_alter_table('sku_costs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sku_costs_connection_id_source_stream_source_key'))

    op.drop_table('sku_costs')
    with op.batch_alter_table('shops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shops_connection_id_source_stream_source_key'))

    op.drop_table('shops')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipments_connection_id_source_stream_source_key'))

    op.drop_table('shipments')
    with op.batch_alter_table('service_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_tickets_connection_id_source_stream_source_key'))

    op.drop_table('service_tickets')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_connection_id_source_stream_source_key'))

    op.drop_table('reviews')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_connection_id_source_stream_source_key'))

    op.drop_table('refunds')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_connection_id_source_stream_source_key'))

    op.drop_table('orders')
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_items_connection_id_source_stream_source_key'))

    op.drop_table('order_items')
    with op.batch_alter_table('inventory_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inventory_snapshots_connection_id_source_stream_source_key'))

    op.drop_table('inventory_snapshots')
    with op.batch_alter_table('fx_rates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fx_rates_connection_id_source_stream_source_key'))

    op.drop_table('fx_rates')
    op.drop_table('connections')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignments_connection_id_source_stream_source_key'))

    op.drop_table('assignments')
    with op.batch_alter_table('ad_performance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ad_performance_connection_id_source_stream_source_key'))

    op.drop_table('ad_performance')
    op.drop_table('vault_state')
    op.drop_table('tenants')
    op.drop_table('audit_log')
