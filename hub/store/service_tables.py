"""Tables of the service side: users, API keys, schedules, run leases and pipeline runs.

They live in the store's one ``metadata`` (imported at the end of ``tables.py``) so migrations
are checked against them like every other table. ``apscheduler_jobs`` is APScheduler's own job
store table, declared here with exactly the columns its ``SQLAlchemyJobStore`` creates, so the
migration owns it and the schema check sees it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.dialects.mysql import DOUBLE

from .tables import Id, metadata, owner_columns
from .types import UtcDateTime

__all__ = ["api_keys", "apscheduler_jobs", "pipeline_runs", "run_leases", "schedules", "users"]

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False),
    Column("email", String(255), nullable=False),
    Column("name", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("scope", JSON, nullable=False, comment="data scope: shops, platforms, categories"),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("tenant_id", "email"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=True),
    Column("name", String(64), nullable=False),
    Column("prefix", String(16), nullable=False, comment="the key's first characters, to recognise it"),
    Column("key_hash", String(64), nullable=False, unique=True, comment="sha256 of the key, never the key"),
    Column("role", String(16), nullable=False),
    Column("scope", JSON, nullable=False, comment="data scope: shops, platforms, categories"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

schedules = Table(
    "schedules",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection_id", Id, ForeignKey("connections.id"), nullable=False, unique=True),
    Column("kind", String(16), nullable=False, comment="interval or cron"),
    Column("every_seconds", Integer, nullable=True),
    Column("cron", String(128), nullable=True),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("enabled", Boolean, nullable=False),
    Column("max_attempts", Integer, nullable=False, server_default="3"),
    Column("revision", Integer, nullable=False, server_default="1", comment="bumped on every change"),
    Column("anchor", UtcDateTime(), nullable=False, comment="interval runs fall on anchor + n * every"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

run_leases = Table(
    "run_leases",
    metadata,
    Column("connection_id", Id, ForeignKey("connections.id"), primary_key=True),
    Column("holder", String(128), nullable=False, comment="process and run holding the lease"),
    Column("expires_at", UtcDateTime(), nullable=False),
)

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection_id", Id, ForeignKey("connections.id"), nullable=False),
    Column("trigger", String(16), nullable=False, comment="schedule or manual"),
    Column("scheduled_for", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False, comment="running, succeeded, partial, failed, skipped"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("sync_run_id", Id, nullable=True),
    Column("steps", JSON, nullable=False, comment="what each step of the pipeline did"),
    Column("error", Text, nullable=True),
    Column("holder", String(128), nullable=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    *owner_columns(),
    # One row per fire time: a second scheduler process firing the same time is refused here.
    UniqueConstraint("connection_id", "trigger", "scheduled_for"),
    Index(None, "connection_id", "started_at"),
)

apscheduler_jobs = Table(
    "apscheduler_jobs",
    metadata,
    Column("id", Unicode(191), primary_key=True),
    # MySQL turns FLOAT(25) into DOUBLE; saying so keeps the schema check quiet there.
    Column("next_run_time", Float(25).with_variant(DOUBLE(), "mysql", "mariadb"), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
