"""Settings read from the environment (prefix ``KPIHUB_``). Built on demand, never at import."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Where the store is, where the master key is, which plugins load, where plugins may reach."""

    model_config = SettingsConfigDict(env_prefix="KPIHUB_", extra="ignore")

    database_url: str = "sqlite:///kpihub.db"
    """SQLAlchemy URL; the default is a SQLite file in the working directory."""
    master_key: SecretStr | None = None
    """The master key itself (base64, 32 bytes). Prefer ``master_key_file``."""
    master_key_file: Path | None = None
    """A file holding the master key, mode 0600 (``kpihub keys create`` writes one)."""
    load_plugins: str | None = None
    """Comma-separated allow-list of entry-point plugins to load; unset loads all."""
    executor: Literal["inprocess", "celery"] = "inprocess"
    """Where scheduled runs execute: in the scheduler's process, or on ``kpihub worker`` processes."""
    broker_url: str | None = None
    """The Celery broker (``redis://…`` or ``amqp://…``) when ``executor`` is ``celery``."""
    queue: str = "kpihub"
    """The broker queue scheduled runs are sent to and ``kpihub worker`` takes them from."""
    sync_workers: int = Field(1, ge=0, le=16)
    """Worker processes a large sync lands pages in besides its own (0: only its own)."""
    sync_workers_after: int = Field(10_000, ge=0)
    """Records a sync run reads before it starts its worker processes: smaller runs never do."""
    egress_allow: str | None = None
    """Hosts and address ranges plugins may reach besides their platforms' official hosts:
    comma-separated names (``*.corp.example``), ranges (``10.1.0.0/16``), ``loopback`` (local
    simulators) or ``private``. Only the operator sets it; see docs/security.md."""
    data_dir: Path = Path("kpihub-data")
    """Where each tenant's upload and output areas are (``<data_dir>/<tenant>/uploads`` and
    ``/outputs``): file sources read and file sinks write only there."""
