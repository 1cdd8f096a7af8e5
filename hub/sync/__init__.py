"""The sync engine: from a source's records to raw landing, standard rows and saved state."""

from __future__ import annotations

from .engine import Progress, RunResult, declared_shops, partition_defaults, remap_connection, sync_connection
from .landing import PageResult

__all__ = [
    "PageResult",
    "Progress",
    "RunResult",
    "declared_shops",
    "partition_defaults",
    "remap_connection",
    "sync_connection",
]
