"""Sync runs (status, counts, errors, freshness), pipeline runs, and running a connection now."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from ...context import HubContext
from ...scheduler import Runner
from ...store.service_tables import pipeline_runs
from ...store.tables import sync_runs
from ..access import Permission, Principal
from ..deps import MAX_ID, Caller, Hub, ObjectId, Page, Paging, require
from ..scoping import not_found, record, visible_connection, visible_connections

__all__ = ["router"]

router = APIRouter(tags=["runs"])
Operate = Annotated[Principal, Depends(require(Permission.OPERATE))]


class SyncRunPublic(BaseModel):
    id: int
    connection_id: int
    kind: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    rows_read: int
    rows_written: int
    rows_rejected: int
    errors: list[dict[str, Any]]
    freshness: dict[str, str] = Field(description="Latest data time per stream.")
    stats: dict[str, int] | None


class PipelineRunPublic(BaseModel):
    id: int
    connection_id: int
    trigger: str
    scheduled_for: dt.datetime
    status: str
    attempts: int
    sync_run_id: int | None
    steps: dict[str, Any]
    error: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None


class Freshness(BaseModel):
    connection_id: int
    streams: dict[str, str] = Field(description="Latest data time per stream over all runs.")
    last_run: SyncRunPublic | None


def _ids(hub: HubContext, caller: Principal, connection_id: ObjectId | None) -> list[int]:
    if connection_id is not None:
        return [visible_connection(hub, caller, connection_id).id]
    return [info.id for info in visible_connections(hub, caller)]


ConnectionFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only runs of this connection.")]


@router.get("/runs", response_model=Page[SyncRunPublic], summary="Sync runs, newest first")
def list_runs(
    hub: Hub, caller: Caller, paging: Paging, connection_id: ConnectionFilter = None
) -> Page[SyncRunPublic]:
    where = sync_runs.c.connection_id.in_(_ids(hub, caller, connection_id))
    with hub.ready_store.begin() as conn:
        total = conn.execute(select(func.count()).select_from(sync_runs).where(where)).scalar_one()
        rows = conn.execute(
            select(sync_runs)
            .where(where)
            .order_by(sync_runs.c.id.desc())
            .limit(paging.limit)
            .offset(paging.offset)
        )
        items = [SyncRunPublic.model_validate(r._asdict()) for r in rows]
    return Page[SyncRunPublic](items=items, total=int(total), limit=paging.limit, offset=paging.offset)


@router.get("/runs/{run_id}", response_model=SyncRunPublic, summary="A sync run")
def get_run(hub: Hub, caller: Caller, run_id: ObjectId) -> SyncRunPublic:
    with hub.ready_store.begin() as conn:
        row = conn.execute(
            select(sync_runs).where(
                sync_runs.c.id == run_id, sync_runs.c.connection_id.in_(_ids(hub, caller, None))
            )
        ).first()
    if row is None:
        raise not_found("run", run_id)
    return SyncRunPublic.model_validate(row._asdict())


@router.get("/pipeline-runs", response_model=Page[PipelineRunPublic], summary="Pipeline runs, newest first")
def list_pipeline_runs(
    hub: Hub, caller: Caller, paging: Paging, connection_id: ConnectionFilter = None
) -> Page[PipelineRunPublic]:
    where = pipeline_runs.c.connection_id.in_(_ids(hub, caller, connection_id))
    with hub.ready_store.begin() as conn:
        total = conn.execute(select(func.count()).select_from(pipeline_runs).where(where)).scalar_one()
        rows = conn.execute(
            select(pipeline_runs)
            .where(where)
            .order_by(pipeline_runs.c.id.desc())
            .limit(paging.limit)
            .offset(paging.offset)
        )
        items = [PipelineRunPublic.model_validate(r._asdict()) for r in rows]
    return Page[PipelineRunPublic](items=items, total=int(total), limit=paging.limit, offset=paging.offset)


def _pipeline_run(hub: HubContext, caller: Principal, run_id: ObjectId) -> PipelineRunPublic:
    with hub.ready_store.begin() as conn:
        row = conn.execute(
            select(pipeline_runs).where(
                pipeline_runs.c.id == run_id, pipeline_runs.c.connection_id.in_(_ids(hub, caller, None))
            )
        ).first()
    if row is None:
        raise not_found("pipeline run", run_id)
    return PipelineRunPublic.model_validate(row._asdict())


@router.get("/pipeline-runs/{run_id}", response_model=PipelineRunPublic, summary="A pipeline run")
def get_pipeline_run(hub: Hub, caller: Caller, run_id: ObjectId) -> PipelineRunPublic:
    return _pipeline_run(hub, caller, run_id)


@router.post(
    "/connections/{connection_id}/runs",
    response_model=PipelineRunPublic,
    status_code=202,
    summary="Run the connection's pipeline now (skipped, with a record, if it is running already)",
)
def run_now(request: Request, hub: Hub, caller: Operate, connection_id: ObjectId) -> PipelineRunPublic:
    info = visible_connection(hub, caller, connection_id)
    runner = request.app.state.runner
    assert isinstance(runner, Runner)
    run_id = runner.start(info.id)
    with hub.ready_store.begin() as conn:
        record(conn, caller, "connection.run", f"connection:{info.id}", after={"pipeline_run_id": run_id})
    return _pipeline_run(hub, caller, run_id)


@router.get(
    "/connections/{connection_id}/freshness", response_model=Freshness, summary="Latest data time per stream"
)
def freshness(hub: Hub, caller: Caller, connection_id: ObjectId) -> Freshness:
    info = visible_connection(hub, caller, connection_id)
    streams: dict[str, str] = {}
    last = None
    with hub.ready_store.begin() as conn:
        rows = conn.execute(
            select(sync_runs).where(sync_runs.c.connection_id == info.id).order_by(sync_runs.c.id)
        )
        for row in rows:
            last = row
            for stream, latest in (row.freshness or {}).items():
                if stream not in streams or latest > streams[stream]:
                    streams[stream] = latest
    return Freshness(
        connection_id=info.id,
        streams=streams,
        last_run=None if last is None else SyncRunPublic.model_validate(last._asdict()),
    )
