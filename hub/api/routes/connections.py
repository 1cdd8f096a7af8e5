"""``/connections``: add (credentials go to the vault), change, check live, pause, resume.

Credentials are write-only: accepted on create and update, answered only as which fields
are set.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from sdk import KpihubError, SourceContext

from ...connections import (
    ConnectionInfo,
    add_connection,
    get_connection,
    open_source,
    set_connection_status,
    update_connection,
)
from ...context import HubContext
from ...errors import describe_validation
from ...scheduler import Lease
from ...scheduler.pipeline import process_name
from ...store.tables import connections as connections_table
from ...sync import declared_shops, remap_connection
from ...sync.engine import redact
from ..access import Permission, Principal
from ..deps import Caller, Hub, ObjectId, Page, Paging, Transport, require
from ..errors import ApiError, conflict
from ..scoping import visible_connection, visible_connections

__all__ = ["ConnectionPublic", "public_connection", "router"]

router = APIRouter(prefix="/connections", tags=["connections"])
Configure = Annotated[Principal, Depends(require(Permission.CONFIGURE))]
Operate = Annotated[Principal, Depends(require(Permission.OPERATE))]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ConnectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME, description="Unique in the tenant: letters, digits, _ . -")
    plugin: str = Field(min_length=1, max_length=64, description="A source plugin, see /plugins.")
    options: dict[str, Any] = Field(default_factory=dict, description="The plugin's options.")
    credentials: dict[str, Any] | None = Field(default=None, description="Write-only; stored encrypted.")


class ConnectionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    options: dict[str, Any] | None = Field(default=None, description="Replace the options.")
    credentials: dict[str, Any] | None = Field(
        default=None, description="Write-only; merged over the stored fields, so one secret can be rotated."
    )


class ConnectionPublic(BaseModel):
    id: int
    name: str
    plugin: str
    status: str
    options: dict[str, Any]
    credentials: dict[str, bool] = Field(description="Which credential fields are set; never their values.")


class RemapResult(BaseModel):
    run_id: int
    status: str
    rows_read: int
    rows_written: int
    rows_rejected: int
    errors: list[dict[str, str]]


class CheckResult(BaseModel):
    ok: bool
    error: str | None = None
    kind: str | None = Field(default=None, description="The error's class: decides whether a retry can help.")


def _credential_fields(hub: HubContext, info: ConnectionInfo) -> dict[str, bool]:
    try:
        fields = list(hub.registry.source(info.plugin).Credentials.model_fields)
    except KpihubError:
        fields = []
    stored: dict[str, Any] = {}
    if info.has_credentials:
        with hub.ready_store.begin() as conn:
            cipher = conn.execute(
                select(connections_table.c.credentials).where(connections_table.c.id == info.id)
            ).scalar_one()
        stored = hub.vault.decrypt(cipher, what=f"credentials of connection {info.name!r}")
    return {name: stored.get(name) not in (None, "") for name in fields or sorted(stored)}


def public_connection(hub: HubContext, info: ConnectionInfo) -> ConnectionPublic:
    return ConnectionPublic(
        id=info.id,
        name=info.name,
        plugin=info.plugin,
        status=info.status,
        options=info.options,
        credentials=_credential_fields(hub, info),
    )


def _validate_fields(hub: HubContext, plugin: str, options: Any, credentials: Any) -> None:
    """Check options and credentials against the plugin's models, naming each bad field."""
    source_cls = hub.registry.source(plugin)
    problems: list[tuple[str, str]] = []
    for what, model, values in (
        ("options", source_cls.Options, options),
        ("credentials", source_cls.Credentials, credentials),
    ):
        if values is None:
            continue
        try:
            model.model_validate(values)
        except ValidationError as exc:
            problems += describe_validation(exc, prefix=f"body.{what}.")
    if problems:
        raise ApiError(422, f"invalid settings for plugin {plugin!r}", problems)


def _within_scope(hub: HubContext, caller: Principal, info: ConnectionInfo, options: dict[str, Any]) -> None:
    """Refuse options that would make the connection write rows for a shop outside the scoped
    caller's (``shop_id`` of a single-shop connection, a marketplace's or a shop's hub id)."""
    source_cls = hub.registry.source(info.plugin)
    source = source_cls(
        source_cls.Options.model_validate(options),
        source_cls.Credentials.model_construct(),  # naming its shops needs no secret
        SourceContext(connection=info.name),
    )
    outside = sorted(
        str(d.get("shop_id"))
        for d in declared_shops(source)
        if d.get("shop_id") is not None and not caller.scope.allows_shop(d.get("platform"), d.get("shop_id"))
    )
    if outside:
        raise ApiError(
            403,
            "these options would write rows for shops outside your key's scope; nothing was changed",
            [("body.options", f"shop(s) {', '.join(outside[:10])}")],
        )


@router.get("", response_model=Page[ConnectionPublic], summary="List connections")
def list_connections(hub: Hub, caller: Caller, paging: Paging) -> Page[ConnectionPublic]:
    infos = visible_connections(hub, caller)
    page = infos[paging.offset : paging.offset + paging.limit]
    items = [public_connection(hub, info) for info in page]
    return Page[ConnectionPublic](items=items, total=len(infos), limit=paging.limit, offset=paging.offset)


@router.post(
    "",
    response_model=ConnectionPublic,
    status_code=201,
    responses=conflict("A connection of that name exists"),
    summary="Add a connection",
)
def create_connection(hub: Hub, caller: Configure, body: ConnectionCreate) -> ConnectionPublic:
    if not caller.scope.unlimited:
        raise ApiError(403, "a key limited to some shops cannot add connections; ask an admin")
    try:
        hub.registry.source(body.plugin)
    except KpihubError as exc:
        raise ApiError(422, str(exc), [("body.plugin", "no such source plugin")]) from None
    _validate_fields(hub, body.plugin, body.options, body.credentials)
    existing = {info.name for info in visible_connections(hub, caller)}
    if body.name in existing:
        raise ApiError(409, f"a connection named {body.name!r} exists already", [("body.name", "taken")])
    info = add_connection(
        hub.ready_store,
        hub.vault,
        hub.registry,
        name=body.name,
        plugin=body.plugin,
        options=body.options,
        credentials=body.credentials,
        tenant=caller.tenant,
        actor=caller.actor,
        egress=hub.egress,
    )
    return public_connection(hub, info)


@router.get("/{connection_id}", response_model=ConnectionPublic, summary="Get a connection")
def get_one(hub: Hub, caller: Caller, connection_id: ObjectId) -> ConnectionPublic:
    return public_connection(hub, visible_connection(hub, caller, connection_id))


@router.patch("/{connection_id}", response_model=ConnectionPublic, summary="Change options or credentials")
def update_one(
    hub: Hub, caller: Configure, connection_id: ObjectId, body: ConnectionUpdate
) -> ConnectionPublic:
    info = visible_connection(hub, caller, connection_id)
    _validate_fields(hub, info.plugin, body.options, None)
    if body.options is not None and not caller.scope.unlimited:
        _within_scope(hub, caller, info, body.options)
    info = update_connection(
        hub.ready_store,
        hub.vault,
        hub.registry,
        info,
        options=body.options,
        credentials=body.credentials,
        actor=caller.actor,
        egress=hub.egress,
    )
    return public_connection(hub, info)


@router.post("/{connection_id}/check", response_model=CheckResult, summary="Make a live authenticated call")
def check(hub: Hub, caller: Operate, connection_id: ObjectId, transport: Transport) -> CheckResult:
    info = visible_connection(hub, caller, connection_id)
    source = open_source(
        hub.ready_store, hub.vault, hub.registry, info, transport=transport, egress=hub.egress
    )

    async def call() -> CheckResult:
        try:
            await source.check()
        except KpihubError as exc:
            return CheckResult(ok=False, error=redact(str(exc), source), kind=type(exc).__name__)
        finally:
            await source.aclose()
        return CheckResult(ok=True)

    return asyncio.run(call())


def _set_status(hub: HubContext, caller: Principal, connection_id: ObjectId, status: str) -> ConnectionPublic:
    info = visible_connection(hub, caller, connection_id)
    if info.status != status:
        info = set_connection_status(hub.ready_store, info, status, actor=caller.actor)
    return public_connection(hub, get_connection(hub.ready_store, info.name, tenant=info.tenant))


@router.post(
    "/{connection_id}/pause", response_model=ConnectionPublic, summary="Pause: no runs until resumed"
)
def pause(hub: Hub, caller: Configure, connection_id: ObjectId) -> ConnectionPublic:
    return _set_status(hub, caller, connection_id, "paused")


@router.post("/{connection_id}/resume", response_model=ConnectionPublic, summary="Resume a paused connection")
def resume(hub: Hub, caller: Configure, connection_id: ObjectId) -> ConnectionPublic:
    return _set_status(hub, caller, connection_id, "active")


@router.post(
    "/{connection_id}/remap",
    response_model=RemapResult,
    responses=conflict("The connection is running"),
    summary="Re-derive standard rows from kept raw records under the mappings in force",
)
def remap(hub: Hub, caller: Operate, connection_id: ObjectId, force: bool = False) -> RemapResult:
    info = visible_connection(hub, caller, connection_id)
    source = open_source(hub.ready_store, hub.vault, hub.registry, info, egress=hub.egress)
    with Lease(hub.ready_store, info.id, f"{process_name()}:remap") as lease:
        if not lease.held:
            raise ApiError(409, f"connection {info.name!r} is running; remap it when the run has finished")
        result = remap_connection(hub.ready_store, info, source, force=force)
    asyncio.run(source.aclose())
    return RemapResult(
        run_id=result.run_id,
        status=result.status,
        rows_read=result.rows_read,
        rows_written=result.rows_written,
        rows_rejected=result.rows_rejected,
        errors=[{k: str(v) for k, v in e.items()} for e in result.errors],
    )
