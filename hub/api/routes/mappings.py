"""``/connections/{id}/streams/{stream}/mapping``: the default, the override, validate,
preview against kept raw records, versions and rollback.

A saved mapping is used by the next sync and by ``remap``; saving changes no standard row
by itself (run a remap for that). A key limited to some shops saves overrides that may map
rows only to those shops: checked on the kept raw records when it saves, and on every record
at every later sync and remap (``ShopScope``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from sdk import MappingError, NotFound, Source, Stream

from ...connections import ConnectionInfo, open_source
from ...context import HubContext
from ...mapping import PreviewResult, check_override_size, compile_mapping, merge_mapping, preview
from ...mapping_versions import ShopScope, history, provided_fields, rollback, save_override
from ...store.tables import raw_records
from ...sync import partition_defaults
from ..access import Permission, Principal
from ..deps import Caller, Hub, ObjectId, Page, Paging, require
from ..errors import ApiError
from ..scoping import not_found, record, visible_connection

__all__ = ["router"]

router = APIRouter(prefix="/connections/{connection_id}/streams", tags=["mappings"])
Configure = Annotated[Principal, Depends(require(Permission.CONFIGURE))]


class StreamPublic(BaseModel):
    name: str
    primary_key: list[str]
    version: int = Field(description="The override version in force; 0 is the plugin's default.")


class MappingPublic(BaseModel):
    stream: str
    version: int
    default: dict[str, Any] = Field(description="The plugin's default mapping.")
    override: dict[str, Any] = Field(description="The client's override in force (empty: none).")
    effective: dict[str, Any] = Field(description="The default with the override merged in.")


class MappingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    override: dict[str, Any] = Field(description="Names only what it changes of the default.")
    note: str | None = Field(default=None, max_length=500, description="Why the mapping changes.")


class MappingCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    override: dict[str, Any]


class MappingPreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    override: dict[str, Any] | None = Field(default=None, description="Try this instead of the saved one.")
    limit: int = Field(default=5, ge=1, le=200, description="How many of the newest raw records.")


class ValidationResult(BaseModel):
    valid: bool
    problems: list[dict[str, str]] = Field(default_factory=list, description="path and reason of each")


class MappingVersionPublic(BaseModel):
    version: int
    override: dict[str, Any]
    note: str | None
    actor: str
    created_at: dt.datetime


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(
        ge=0, le=2**31 - 1, description="The version to return to; 0 is the plugin's default."
    )


def _open(hub: HubContext, caller: Principal, connection_id: ObjectId) -> tuple[ConnectionInfo, Source]:
    info = visible_connection(hub, caller, connection_id)
    return info, open_source(hub.ready_store, hub.vault, hub.registry, info, egress=hub.egress)


def _stream(source: Source, name: str) -> Stream:
    for stream in source.streams():
        if stream.name == name:
            return stream
    raise not_found("stream", name)


def _current(hub: HubContext, info: ConnectionInfo, stream: str) -> tuple[int, dict[str, Any]]:
    with hub.ready_store.begin() as conn:
        versions = history(conn, info.id, stream)
    return (versions[-1].version, versions[-1].override) if versions else (0, {})


_SCOPE_SAMPLE = 500
"""Kept raw records a scoped key's override is tried on before it is saved."""


def _within(caller: Principal) -> ShopScope | None:
    return None if caller.scope.unlimited else ShopScope.of(caller.scope.model_dump())


def _check_scope(
    hub: HubContext,
    info: ConnectionInfo,
    source: Source,
    stream: Stream,
    override: dict[str, Any],
    caller: Principal,
) -> ShopScope | None:
    """The caller's shop scope, after trying ``override`` on the newest kept raw records: a
    row for a shop outside it refuses the save (403), naming the shop."""
    within = _within(caller)
    if within is None:
        return None
    try:
        compiled = compile_mapping(
            merge_mapping(stream.mapping(), override), provided=provided_fields(stream)
        )
    except MappingError as exc:
        raise _invalid(exc) from None
    with hub.ready_store.begin() as conn:
        rows = conn.execute(
            select(raw_records.c.data, raw_records.c.partition_key)
            .where(raw_records.c.connection_id == info.id, raw_records.c.stream == stream.name)
            .order_by(raw_records.c.id.desc())
            .limit(_SCOPE_SAMPLE)
        ).all()
    by_partition = partition_defaults(source, stream)
    outside: set[str] = set()
    for data, key in rows:
        try:
            mapped = compiled.apply(data, by_partition.get(key, by_partition[None]))
        except MappingError:
            continue  # a record the mapping cannot map is reported by preview, not here
        outside |= {str(row.get("shop_id")) for _, row in mapped if not within.allows(row)}
    if outside:
        raise ApiError(
            403,
            "this override maps records to shops outside your key's scope; nothing was saved",
            [("body.override", f"rows for shop(s) {', '.join(sorted(outside)[:10])}")],
        )
    return within


def _invalid(exc: MappingError) -> ApiError:
    fields = [(f"body.override.{path}" if path else "body.override", reason) for path, reason in exc.problems]
    return ApiError(
        422, f"the mapping is invalid, nothing was saved: {exc}", fields or [("body.override", str(exc))]
    )


@router.get("", response_model=Page[StreamPublic], summary="List the connection's streams")
def list_streams(hub: Hub, caller: Caller, connection_id: ObjectId, paging: Paging) -> Page[StreamPublic]:
    info, source = _open(hub, caller, connection_id)
    items = [
        StreamPublic(name=s.name, primary_key=list(s.primary_key), version=_current(hub, info, s.name)[0])
        for s in source.streams()
    ]
    return Page[StreamPublic].of(items, paging)


@router.get("/{stream}/mapping", response_model=MappingPublic, summary="The mapping in force")
def get_mapping(hub: Hub, caller: Caller, connection_id: ObjectId, stream: str) -> MappingPublic:
    info, source = _open(hub, caller, connection_id)
    found = _stream(source, stream)
    version, override = _current(hub, info, stream)
    default = found.mapping()
    effective = merge_mapping(default, override) if override else default
    return MappingPublic(
        stream=stream, version=version, default=default, override=override, effective=effective
    )


@router.put("/{stream}/mapping", response_model=MappingPublic, summary="Save an override as the next version")
def put_mapping(
    hub: Hub, caller: Configure, connection_id: ObjectId, stream: str, body: MappingUpdate
) -> MappingPublic:
    info, source = _open(hub, caller, connection_id)
    found = _stream(source, stream)
    before, _ = _current(hub, info, stream)
    within = _check_scope(hub, info, source, found, body.override, caller)
    try:
        with hub.ready_store.begin() as conn:
            version = save_override(
                conn, info.id, found, body.override, actor=caller.actor, note=body.note, within=within
            )
            record(
                conn,
                caller,
                "mapping.save",
                f"connection:{info.id}/{stream}",
                before={"version": before},
                after={"version": version, "override": body.override, "note": body.note},
            )
    except MappingError as exc:
        raise _invalid(exc) from None
    return get_mapping(hub, caller, connection_id, stream)


@router.post(
    "/{stream}/mapping/validate", response_model=ValidationResult, summary="Check an override; save nothing"
)
def validate(
    hub: Hub, caller: Caller, connection_id: ObjectId, stream: str, body: MappingCheck
) -> ValidationResult:
    check_override_size(body.override)
    _, source = _open(hub, caller, connection_id)
    found = _stream(source, stream)
    try:
        compile_mapping(merge_mapping(found.mapping(), body.override), provided=provided_fields(found))
    except MappingError as exc:
        problems = [{"path": p, "reason": r} for p, r in exc.problems] or [{"path": "", "reason": str(exc)}]
        return ValidationResult(valid=False, problems=problems)
    return ValidationResult(valid=True)


@router.post(
    "/{stream}/mapping/preview",
    response_model=list[PreviewResult],
    summary="Apply a mapping to the newest kept raw records; store nothing",
)
def preview_mapping(
    hub: Hub, caller: Caller, connection_id: ObjectId, stream: str, body: MappingPreviewRequest
) -> list[PreviewResult]:
    info, source = _open(hub, caller, connection_id)
    found = _stream(source, stream)
    override = body.override if body.override is not None else _current(hub, info, stream)[1]
    check_override_size(override)
    try:
        compiled = compile_mapping(merge_mapping(found.mapping(), override), provided=provided_fields(found))
    except MappingError as exc:
        raise _invalid(exc) from None
    with hub.ready_store.begin() as conn:
        rows = conn.execute(
            select(raw_records.c.data, raw_records.c.partition_key)
            .where(raw_records.c.connection_id == info.id, raw_records.c.stream == stream)
            .order_by(raw_records.c.id.desc())
            .limit(body.limit)
        ).all()
    by_partition = partition_defaults(source, found)
    defaults = [by_partition.get(key, by_partition[None]) for _, key in rows]
    return preview(compiled, [data for data, _ in rows], defaults, check=found.problems)


@router.get("/{stream}/mapping/versions", response_model=Page[MappingVersionPublic], summary="Saved versions")
def versions(
    hub: Hub, caller: Caller, connection_id: ObjectId, stream: str, paging: Paging
) -> Page[MappingVersionPublic]:
    info, source = _open(hub, caller, connection_id)
    _stream(source, stream)
    with hub.ready_store.begin() as conn:
        items = [MappingVersionPublic(**vars(v)) for v in history(conn, info.id, stream)]
    return Page[MappingVersionPublic].of(items, paging)


@router.post(
    "/{stream}/mapping/rollback", response_model=MappingPublic, summary="Make an earlier version current"
)
def rollback_mapping(
    hub: Hub, caller: Configure, connection_id: ObjectId, stream: str, body: RollbackRequest
) -> MappingPublic:
    info, source = _open(hub, caller, connection_id)
    found = _stream(source, stream)
    before, _ = _current(hub, info, stream)
    with hub.ready_store.begin() as conn:
        target = next((v.override for v in history(conn, info.id, stream) if v.version == body.version), {})
    within = _check_scope(hub, info, source, found, target, caller)
    try:
        with hub.ready_store.begin() as conn:
            try:
                version = rollback(conn, info.id, found, body.version, actor=caller.actor, within=within)
            except NotFound as exc:
                raise ApiError(422, str(exc), [("body.version", "no such version")]) from None
            record(
                conn,
                caller,
                "mapping.rollback",
                f"connection:{info.id}/{stream}",
                before={"version": before},
                after={"version": version, "equals": body.version},
            )
    except MappingError as exc:
        raise _invalid(exc) from None
    return get_mapping(hub, caller, connection_id, stream)
