"""Client overrides of a stream's default mapping, versioned per connection and stream.

A version stores only the client's override; the effective mapping is the plugin's default
with the override merged on top, so a plugin upgrade that improves its default still reaches
every field the client did not override. Rolling back adds a new version equal to an old one,
so history is never rewritten.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from sdk import MappingError, NotFound, Stream

from .mapping import CompiledMapping, compile_mapping, merge_mapping
from .store.tables import mapping_versions

__all__ = [
    "CONTEXT_FIELDS",
    "MappingVersion",
    "effective_mapping",
    "history",
    "provided_fields",
    "rollback",
    "save_override",
]

CONTEXT_FIELDS = frozenset({"platform", "shop_id"})
"""Fields the sync engine fills from the connection when a mapping leaves them out."""


@dataclass(frozen=True)
class MappingVersion:
    version: int
    override: dict[str, Any]
    note: str | None
    actor: str
    created_at: dt.datetime


def provided_fields(stream: Stream) -> frozenset[str]:
    """Fields the engine fills without the mapping: the connection's and the partitions' defaults."""
    keys = {key for partition in stream.partitions() for key in partition.defaults}
    return CONTEXT_FIELDS | keys


def history(conn: Connection, connection_id: int, stream: str) -> list[MappingVersion]:
    """Every saved override of ``stream``, oldest first."""
    rows = conn.execute(
        select(mapping_versions)
        .where(mapping_versions.c.connection_id == connection_id, mapping_versions.c.stream == stream)
        .order_by(mapping_versions.c.version)
    )
    return [MappingVersion(r.version, dict(r.override), r.note, r.actor, r.created_at) for r in rows]


def _latest(conn: Connection, connection_id: int, stream: str) -> tuple[int, dict[str, Any]]:
    row = conn.execute(
        select(mapping_versions.c.version, mapping_versions.c.override)
        .where(mapping_versions.c.connection_id == connection_id, mapping_versions.c.stream == stream)
        .order_by(mapping_versions.c.version.desc())
        .limit(1)
    ).first()
    return (0, {}) if row is None else (int(row.version), dict(row.override))


def effective_mapping(conn: Connection, connection_id: int, stream: Stream) -> tuple[int, CompiledMapping]:
    """The compiled mapping in force for ``stream`` and the override version it includes."""
    version, override = _latest(conn, connection_id, stream.name)
    merged = merge_mapping(stream.mapping(), override) if override else stream.mapping()
    if not merged.get("targets"):
        raise MappingError(
            f"stream {stream.name!r} has no mapping: its plugin ships no default; "
            "save one with `kpihub mapping set`"
        )
    try:
        return version, compile_mapping(merged, provided=provided_fields(stream))
    except MappingError as exc:
        where = f"mapping version {version}" if version else "the plugin's default mapping"
        raise MappingError(f"stream {stream.name!r}: {where} is invalid: {exc}", exc.problems) from exc


def save_override(
    conn: Connection,
    connection_id: int,
    stream: Stream,
    override: dict[str, Any],
    *,
    actor: str,
    note: str | None = None,
) -> int:
    """Validate the default merged with ``override`` and store it as the next version.

    Raises ``MappingError`` listing every problem, and stores nothing, if the merged mapping
    is invalid.
    """
    merged = merge_mapping(stream.mapping(), override)
    compile_mapping(merged, provided=provided_fields(stream))
    current = conn.execute(
        select(func.max(mapping_versions.c.version)).where(
            mapping_versions.c.connection_id == connection_id, mapping_versions.c.stream == stream.name
        )
    ).scalar_one_or_none()
    version = int(current or 0) + 1
    conn.execute(
        mapping_versions.insert().values(
            connection_id=connection_id,
            stream=stream.name,
            version=version,
            override=override,
            note=note,
            actor=actor,
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    return version


def rollback(conn: Connection, connection_id: int, stream: Stream, to_version: int, *, actor: str) -> int:
    """Make ``to_version`` current again by saving a copy of it as the next version.

    Version 0 is the plugin's default mapping with no override.
    """
    if to_version == 0:
        return save_override(conn, connection_id, stream, {}, actor=actor, note="rollback to the default")
    for item in history(conn, connection_id, stream.name):
        if item.version == to_version:
            return save_override(
                conn,
                connection_id,
                stream,
                item.override,
                actor=actor,
                note=f"rollback to version {to_version}",
            )
    raise NotFound(f"stream {stream.name!r} has no mapping version {to_version}")
