"""refunds: an index on (tenant, platform, shop, order id)

Refunds meet their orders by order id, which is not in the refunds' key; the KPI engine's
incremental compute looked up the refunds of every re-ingested order by scanning its shop's
refunds (22 s at 10 million order lines on PostgreSQL).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_refunds_tenant_id_platform_shop_id_order_id"),
        "refunds",
        ["tenant_id", "platform", "shop_id", "order_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_refunds_tenant_id_platform_shop_id_order_id"), table_name="refunds")
