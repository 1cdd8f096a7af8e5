"""sinks: configured sinks and their push watermarks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Utc = hub.store.types.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "sinks",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("plugin", sa.String(length=64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=True, comment="vault ciphertext, never plain"),
        sa.Column(
            "tables", sa.JSON(), nullable=True, comment="published tables it receives; null: the default set"
        ),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("created_at", Utc(), nullable=False),
        sa.Column("updated_at", Utc(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_sinks_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sinks")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_sinks_tenant_id_name")),
    )
    op.create_table(
        "sink_watermarks",
        sa.Column("sink_id", Id, nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("watermark", Utc(), nullable=True, comment="newest change time the target reflects"),
        sa.Column(
            "fingerprint",
            sa.String(length=64),
            nullable=True,
            comment="digest of the rows (no change time)",
        ),
        sa.Column("rows_pushed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "at_watermark", sa.BigInteger(), server_default="0", nullable=False, comment="rows stamped exactly so"
        ),
        sa.Column("columns", sa.JSON(), nullable=False, comment="the columns the target's table has"),
        sa.Column(
            "pending", sa.Boolean(), nullable=False, comment="a push of this table started and has not finished"
        ),
        sa.Column("pushed_at", Utc(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", Utc(), nullable=False),
        sa.ForeignKeyConstraint(["sink_id"], ["sinks.id"], name=op.f("fk_sink_watermarks_sink_id_sinks")),
        sa.PrimaryKeyConstraint("sink_id", "table_name", name=op.f("pk_sink_watermarks")),
    )


def downgrade() -> None:
    op.drop_table("sink_watermarks")
    op.drop_table("sinks")
