"""``/sinks``: the configured sinks and pushing one now."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ...publish import list_sinks, push_sink
from ...publish.sinks import SinkInfo
from ..access import Permission, Principal
from ..deps import Caller, Hub, ObjectId, Page, Paging, require
from ..errors import ApiError
from ..scoping import record

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


@router.post("/{sink_id}/push", response_model=PushPublic, summary="Push what changed to the sink now")
def push(hub: Hub, caller: Operate, sink_id: ObjectId, full: bool = False) -> PushPublic:
    info = _get(hub, caller, sink_id)
    if not caller.scope.unlimited:
        # A sink receives the whole tenant's published tables, beyond any shop scope.
        raise ApiError(403, "a key limited to some shops cannot push a sink; it carries every shop")
    result = asyncio.run(
        push_sink(hub.ready_store, hub.vault, hub.registry, info.name, tenant=info.tenant, full=full)
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
