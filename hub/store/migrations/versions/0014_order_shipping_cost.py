"""orders: the seller's shipping cost, apart from the buyer's shipping fee

Gross margin took ``shipping_fee`` off net sales, but that is what the buyer paid for shipping
(already in GMV), not what shipping cost the seller. The cost gets columns of its own, in its
own currency (an ERP such as Mabang records freight in CNY whatever the order's currency);
null means not known.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("shipping_cost", sa.Numeric(precision=18, scale=4), nullable=True))
        batch.add_column(sa.Column("shipping_cost_currency", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("shipping_cost_currency")
        batch.drop_column("shipping_cost")
