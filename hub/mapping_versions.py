"""Client overrides of a stream's default mapping, versioned per connection and stream.

A version stores only the client's override; the effective mapping is the plugin's default
with the override merged on top, so a plugin upgrade that improves its default still reaches
every field the client did not override. Rolling back adds a new version equal to an old one,
so history is never rewritten.

An override saved by a key limited to some shops keeps that scope with it: every row it maps,
at every sync and remap, must be of one of those shops, or its record is quarantined. A scoped
manager cannot write into another team's shops by overriding ``shop_id``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from sdk import MappingError, NotFound, Stream

from .mapping import CompiledMapping, compile_mapping, merge_mapping
from .store.tables import mapping_versions

__all__ = [
    "CONTEXT_FIELDS",
    "MappingVersion",
    "ScopedMapping",
    "ShopScope",
    "effective_mapping",
    "history",
    "provided_fields",
    "rollback",
    "save_override",
]

CONTEXT_FIELDS = frozenset({"platform", "shop_id"})
"""Fields the sync engine fills from the connection when a mapping leaves them out."""


@dataclass(frozen=True)
class ShopScope:
    """The shops (and platforms) an override's author could reach; empty lists: any."""

    shops: frozenset[str] = field(default_factory=frozenset)
    platforms: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, value: Mapping[str, Any] | None) -> ShopScope | None:
        """From a stored scope (``{"shops": [...], "platforms": [...]}``); ``None`` for none."""
        if not value or not (value.get("shops") or value.get("platforms")):
            return None
        return cls(frozenset(value.get("shops") or ()), frozenset(value.get("platforms") or ()))

    def stored(self) -> dict[str, list[str]]:
        return {"shops": sorted(self.shops), "platforms": sorted(self.platforms)}

    def allows(self, row: Mapping[str, Any]) -> bool:
        shop, platform = row.get("shop_id"), row.get("platform")
        if shop is None:
            return False  # a tenant-wide row (rates, costs, staff) is beyond any shop scope
        if self.platforms and platform not in self.platforms:
            return False
        return not self.shops or shop in self.shops


class ScopedMapping(CompiledMapping):
    """A compiled mapping whose rows must all lie within the scope of its override's author."""

    def __init__(self, targets: Any, within: ShopScope, version: int) -> None:
        super().__init__(targets)
        self.within = within
        self.version = version

    def __reduce__(self) -> Any:
        return (ScopedMapping, (self._targets, self.within, self.version))

    def apply(
        self, raw: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        rows = super().apply(raw, defaults)
        outside = sorted({str(row.get("shop_id")) for _, row in rows if not self.within.allows(row)})
        if outside:
            raise MappingError(
                f"mapping version {self.version} was saved by a key limited to some shops; this record "
                f"maps to shop(s) {', '.join(outside)} outside them, so it is quarantined"
            )
        return rows


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


def _latest(
    conn: Connection, connection_id: int, stream: str
) -> tuple[int, dict[str, Any], ShopScope | None]:
    row = conn.execute(
        select(mapping_versions.c.version, mapping_versions.c.override, mapping_versions.c.scope)
        .where(mapping_versions.c.connection_id == connection_id, mapping_versions.c.stream == stream)
        .order_by(mapping_versions.c.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return 0, {}, None
    return int(row.version), dict(row.override), ShopScope.of(row.scope)


def effective_mapping(conn: Connection, connection_id: int, stream: Stream) -> tuple[int, CompiledMapping]:
    """The compiled mapping in force for ``stream`` and the override version it includes."""
    version, override, within = _latest(conn, connection_id, stream.name)
    merged = merge_mapping(stream.mapping(), override) if override else stream.mapping()
    if not merged.get("targets"):
        raise MappingError(
            f"stream {stream.name!r} has no mapping: its plugin ships no default; "
            "save one with `kpihub mapping set`"
        )
    try:
        compiled = compile_mapping(merged, provided=provided_fields(stream))
    except MappingError as exc:
        where = f"mapping version {version}" if version else "the plugin's default mapping"
        raise MappingError(f"stream {stream.name!r}: {where} is invalid: {exc}", exc.problems) from exc
    if within is None:
        return version, compiled
    return version, ScopedMapping(compiled._targets, within, version)


def save_override(
    conn: Connection,
    connection_id: int,
    stream: Stream,
    override: dict[str, Any],
    *,
    actor: str,
    note: str | None = None,
    within: ShopScope | None = None,
) -> int:
    """Validate the default merged with ``override`` and store it as the next version.

    ``within`` is the scope of a key limited to some shops: the version keeps it, and every
    row it maps must lie inside it. Raises ``MappingError`` listing every problem, and stores
    nothing, if the merged mapping is invalid.
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
            scope=within.stored() if within is not None else None,
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    return version


def rollback(
    conn: Connection,
    connection_id: int,
    stream: Stream,
    to_version: int,
    *,
    actor: str,
    within: ShopScope | None = None,
) -> int:
    """Make ``to_version`` current again by saving a copy of it as the next version.

    Version 0 is the plugin's default mapping with no override. ``within``: as for
    ``save_override``, the scope of the key that rolls back.
    """
    if to_version == 0:
        return save_override(
            conn, connection_id, stream, {}, actor=actor, note="rollback to the default", within=within
        )
    for item in history(conn, connection_id, stream.name):
        if item.version == to_version:
            return save_override(
                conn,
                connection_id,
                stream,
                item.override,
                actor=actor,
                note=f"rollback to version {to_version}",
                within=within,
            )
    raise NotFound(f"stream {stream.name!r} has no mapping version {to_version}")
