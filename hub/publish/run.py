"""``push_sink``: open a configured sink, push its tables, close it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import MetaData

from ..connections import DEFAULT_TENANT
from ..destinations import Egress
from ..plugins import Registry
from ..store import Store
from ..vault import Vault
from .engine import Progress, PushResult, push_tables
from .sinks import get_sink, open_sink

__all__ = ["push_sink"]


async def push_sink(
    store: Store,
    vault: Vault,
    registry: Registry,
    name: str,
    *,
    tenant: str = DEFAULT_TENANT,
    full: bool = False,
    tables: Sequence[str] | None = None,
    metadata: MetaData | None = None,
    progress: Progress | None = None,
    egress: Egress | None = None,
) -> PushResult:
    """Push sink ``name``'s tables (see ``push_tables``); the sink is closed whatever happens.
    ``egress``: the operator's rules (from the environment when not given)."""
    info = get_sink(store, name, tenant=tenant)
    sink = open_sink(store, vault, registry, info, egress=egress)
    try:
        return await push_tables(
            store, sink, info, full=full, tables=tables, metadata=metadata, progress=progress
        )
    finally:
        await sink.aclose()
