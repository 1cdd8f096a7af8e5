"""kpi_measures: no foreign key to tenants

The engine writes this scratch table in bulk (every daily measure row of a full compute); on
PostgreSQL the per-row foreign-key trigger cost about as much as the insert itself.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kpi_measures") as batch:
        batch.drop_constraint("fk_kpi_measures_tenant_id_tenants", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("kpi_measures") as batch:
        batch.create_foreign_key("fk_kpi_measures_tenant_id_tenants", "tenants", ["tenant_id"], ["id"])
