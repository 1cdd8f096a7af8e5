"""sync_runs, pipeline_runs: who runs a run

A process killed mid-run left its run ``running`` for ever and, for a pipeline run, its
connection blocked until the lease expired. Each run now records the host, pid and start of
the process running it, so a new run of the connection can tell a run whose process is gone
(``interrupted``, its lease released) from one still running. Runs recorded before have
nulls and are judged by their lease, as runs of another host are.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("sync_runs", "pipeline_runs")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "host", sa.String(255), nullable=True, comment="host name of the process running it"
                )
            )
            batch.add_column(
                sa.Column("pid", sa.Integer(), nullable=True, comment="pid of the process running it")
            )
            batch.add_column(
                sa.Column(
                    "process_start",
                    sa.String(64),
                    nullable=True,
                    comment="when that process started, so a reused pid is not taken for it",
                )
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("process_start")
            batch.drop_column("pid")
            batch.drop_column("host")
