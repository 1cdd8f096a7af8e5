"""kpi_perf: the compute state keeps its start and content fingerprints

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kpi_compute_state") as batch:
        batch.add_column(
            sa.Column(
                "started_at",
                hub.store.types.UtcDateTime(),
                nullable=True,
                comment="start of the compute that set it",
            )
        )
        batch.add_column(
            sa.Column(
                "fingerprints",
                sa.JSON(),
                nullable=True,
                comment="lookup and FX digests and the lag window's stamps that compute saw",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("kpi_compute_state") as batch:
        batch.drop_column("fingerprints")
        batch.drop_column("started_at")
