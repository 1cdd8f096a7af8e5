"""``/sinks``: the configured sinks, testing one and pushing one now.

A test prepares the sink's target exactly as the next push would (a live, authenticated call
through the plugin: the database connected to and its tables created or evolved, the Power BI
dataset found or created, the Tableau server signed in to) and moves no rows.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from sdk import CredentialSpec, KpihubError

from ...publish import list_sinks, open_sink, prepare_tables, push_sink
from ...publish.sinks import SinkInfo
from ...redaction import credential_secrets, scrub
from ..access import Permission, Principal
from ..deps import Caller, Hub, ObjectId, Page, Paging, require
from ..errors import ApiError, ErrorResponse
from ..scoping import record
from .connections import CheckResult

__all__ = ["router"]

router = APIRouter(prefix="/sinks", tags=["sinks"])
Operate = Annotated[Principal, Depends(require(Permission.OPERATE))]


class SinkPublic(BaseModel):
    id: int
    name: str
    plugin: str
    status: str
    options: dict[str, Any]
    tables: list[str] | None = Field(description="Published tables it receives; null is the default set.")
    credentials_set: bool = Field(description="Whether credentials are stored; never their values.")


class PushTablePublic(BaseModel):
    table: str
    action: str
    rows: int
    error: str | None


class PushPublic(BaseModel):
    sink: str
    succeeded: bool
    tables: list[PushTablePublic]


def _public(info: SinkInfo) -> SinkPublic:
    return SinkPublic(
        id=info.id,
        name=info.name,
        plugin=info.plugin,
        status=info.status,
        options=info.options,
        tables=info.tables,
        credentials_set=info.has_credentials,
    )


def _get(hub: Hub, caller: Principal, sink_id: int) -> SinkInfo:
    for info in list_sinks(hub.ready_store, tenant=caller.tenant):
        if info.id == sink_id:
            return info
    raise ApiError(404, f"no sink {sink_id!r} here")


@router.get("", response_model=Page[SinkPublic], summary="List sinks")
def get_sinks(hub: Hub, caller: Caller, paging: Paging) -> Page[SinkPublic]:
    items = [_public(info) for info in list_sinks(hub.ready_store, tenant=caller.tenant)]
    return Page[SinkPublic].of(items, paging)


@router.get("/{sink_id}", response_model=SinkPublic, summary="Get a sink")
def get_one(hub: Hub, caller: Caller, sink_id: ObjectId) -> SinkPublic:
    return _public(_get(hub, caller, sink_id))


def _unlimited(caller: Principal, doing: str) -> None:
    if not caller.scope.unlimited:
        # A sink receives the whole tenant's published tables, beyond any shop scope.
        raise ApiError(403, f"a key limited to some shops cannot {doing} a sink; it carries every shop")


def _masked(text: str, credentials: CredentialSpec) -> str:
    """``text`` with the credentials' secrets, and any URL password or token, masked."""
    return scrub(text, credential_secrets(credentials))


@router.post(
    "/{sink_id}/test",
    response_model=CheckResult,
    summary="Prepare the sink's target as a push would (a live authenticated call), moving no rows",
)
def check_sink(hub: Hub, caller: Operate, sink_id: ObjectId) -> CheckResult:
    info = _get(hub, caller, sink_id)
    _unlimited(caller, "test")
    sink = open_sink(hub.ready_store, hub.vault, hub.registry, info, egress=hub.egress)

    async def call() -> CheckResult:
        try:
            await prepare_tables(hub.ready_store, sink, info)
        except KpihubError as exc:
            return CheckResult(ok=False, error=_masked(str(exc), sink.credentials), kind=type(exc).__name__)
        finally:
            await sink.aclose()
        return CheckResult(ok=True)

    result = asyncio.run(call())
    with hub.ready_store.begin() as conn:
        record(conn, caller, "sink.test", f"sink:{info.id}", after={"ok": result.ok, "kind": result.kind})
    return result


@router.post(
    "/{sink_id}/push",
    response_model=PushPublic,
    responses={
        409: {"model": ErrorResponse, "description": "The sink is paused"},
        503: {"model": ErrorResponse, "description": "The sink's target cannot be reached"},
    },
    summary="Push what changed to the sink now",
)
def push(hub: Hub, caller: Operate, sink_id: ObjectId, full: bool = False) -> PushPublic:
    info = _get(hub, caller, sink_id)
    _unlimited(caller, "push")
    if info.status != "active":
        raise ApiError(409, f"sink {info.name!r} is {info.status}; resume it (PATCH status active) to push")
    result = asyncio.run(
        push_sink(
            hub.ready_store,
            hub.vault,
            hub.registry,
            info.name,
            tenant=info.tenant,
            full=full,
            egress=hub.egress,
        )
    )
    with hub.ready_store.begin() as conn:
        record(
            conn, caller, "sink.push", f"sink:{info.id}", after={"full": full, "succeeded": result.succeeded}
        )
    return PushPublic(
        sink=result.sink,
        succeeded=result.succeeded,
        tables=[
            PushTablePublic(table=t.table, action=t.action, rows=t.rows, error=t.error) for t in result.tables
        ],
    )
