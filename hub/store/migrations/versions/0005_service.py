"""service: users, API keys, schedules, run leases, pipeline runs, the scheduler's job store

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import hub.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Utc = hub.store.types.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column(
            "next_run_time",
            sa.Float(precision=25).with_variant(mysql.DOUBLE(), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    op.create_index(
        op.f("ix_apscheduler_jobs_next_run_time"), "apscheduler_jobs", ["next_run_time"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False, comment="data scope: shops, platforms, categories"),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", Utc(), nullable=False),
        sa.Column("updated_at", Utc(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_users_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("tenant_id", "email", name=op.f("uq_users_tenant_id_email")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "prefix",
            sa.String(length=16),
            nullable=False,
            comment="the key's first characters, to recognise it",
        ),
        sa.Column(
            "key_hash", sa.String(length=64), nullable=False, comment="sha256 of the key, never the key"
        ),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False, comment="data scope: shops, platforms, categories"),
        sa.Column("created_at", Utc(), nullable=False),
        sa.Column("last_used_at", Utc(), nullable=True),
        sa.Column("revoked_at", Utc(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_api_keys_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "pipeline_runs",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("connection_id", Id, nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False, comment="schedule or manual"),
        sa.Column("scheduled_for", Utc(), nullable=False),
        sa.Column(
            "status",
            sa.String(length=16),
            nullable=False,
            comment="running, succeeded, partial, failed, skipped",
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sync_run_id", Id, nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False, comment="what each step of the pipeline did"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("started_at", Utc(), nullable=False),
        sa.Column("finished_at", Utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["connections.id"], name=op.f("fk_pipeline_runs_connection_id_connections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
        sa.UniqueConstraint(
            "connection_id",
            "trigger",
            "scheduled_for",
            name=op.f("uq_pipeline_runs_connection_id_trigger_scheduled_for"),
        ),
    )
    op.create_index(
        op.f("ix_pipeline_runs_connection_id_started_at"),
        "pipeline_runs",
        ["connection_id", "started_at"],
        unique=False,
    )
    op.create_table(
        "run_leases",
        sa.Column("connection_id", Id, nullable=False),
        sa.Column(
            "holder", sa.String(length=128), nullable=False, comment="process and run holding the lease"
        ),
        sa.Column("expires_at", Utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["connections.id"], name=op.f("fk_run_leases_connection_id_connections")
        ),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_run_leases")),
    )
    op.create_table(
        "schedules",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("connection_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="interval or cron"),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(length=128), nullable=True),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), server_default="3", nullable=False),
        sa.Column(
            "revision", sa.Integer(), server_default="1", nullable=False, comment="bumped on every change"
        ),
        sa.Column("anchor", Utc(), nullable=False, comment="interval runs fall on anchor + n * every"),
        sa.Column("created_at", Utc(), nullable=False),
        sa.Column("updated_at", Utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["connections.id"], name=op.f("fk_schedules_connection_id_connections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("connection_id", name=op.f("uq_schedules_connection_id")),
    )


def downgrade() -> None:
    op.drop_table("schedules")
    op.drop_table("run_leases")
    op.drop_index(op.f("ix_pipeline_runs_connection_id_started_at"), table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
    op.drop_table("api_keys")
    op.drop_table("users")
    op.drop_index(op.f("ix_apscheduler_jobs_next_run_time"), table_name="apscheduler_jobs")
    op.drop_table("apscheduler_jobs")
