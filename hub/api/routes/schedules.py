"""``/schedules`` and ``/connections/{id}/schedule``: when each connection runs by itself."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import delete, select, update

from sdk import ConfigError

from ...context import HubContext
from ...scheduler import build_trigger
from ...store.service_tables import schedules
from ..access import Permission, Principal
from ..deps import Caller, Hub, ObjectId, Page, Paging, require
from ..errors import ApiError
from ..scoping import not_found, record, visible_connection, visible_connections

__all__ = ["router"]

router = APIRouter(tags=["schedules"])
Configure = Annotated[Principal, Depends(require(Permission.CONFIGURE))]


class ScheduleUpdate(BaseModel):
    """A schedule: every N seconds, or a crontab line in a timezone."""

    # The OpenAPI says what _one_timing checks, so clients (and generated tests) know it too.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"kind": {"const": "interval"}}},
                    "then": {
                        "required": ["every_seconds"],
                        "properties": {"every_seconds": {"type": "integer"}},
                    },
                },
                {
                    "if": {"properties": {"kind": {"const": "cron"}}},
                    "then": {
                        "required": ["cron"],
                        "properties": {"cron": {"type": "string", "minLength": 1}},
                    },
                },
            ]
        },
    )

    kind: Literal["interval", "cron"]
    every_seconds: int | None = Field(default=None, ge=60, le=31 * 86400, description="For kind interval.")
    cron: str | None = Field(default=None, max_length=128, description="For kind cron, e.g. '0 */2 * * *'.")
    timezone: str = Field(default="UTC", max_length=64, description="IANA name the cron line is read in.")
    enabled: bool = True
    max_attempts: int = Field(default=3, ge=1, le=10, description="Attempts when failures are transient.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        # Checked for every kind: an interval schedule stored with a bogus zone would fail the
        # day it is switched to cron, far from the request that stored it.
        try:
            ZoneInfo(value)
        except (ValueError, LookupError, OSError):  # "America" is a directory of zones: OSError
            raise ValueError("not an IANA timezone name, e.g. UTC or Asia/Shanghai") from None
        return value

    @model_validator(mode="after")
    def _one_timing(self) -> ScheduleUpdate:
        if self.kind == "interval" and self.every_seconds is None:
            raise ValueError("an interval schedule needs every_seconds")
        if self.kind == "cron" and not self.cron:
            raise ValueError("a cron schedule needs cron")
        return self


class SchedulePublic(BaseModel):
    id: int
    connection_id: int
    kind: str
    every_seconds: int | None
    cron: str | None
    timezone: str
    enabled: bool
    max_attempts: int
    revision: int
    created_at: dt.datetime
    updated_at: dt.datetime


def _get(hub: HubContext, connection_id: ObjectId) -> SchedulePublic | None:
    with hub.ready_store.begin() as conn:
        row = conn.execute(select(schedules).where(schedules.c.connection_id == connection_id)).first()
    return None if row is None else SchedulePublic.model_validate(row._asdict())


def _changed(request: Request) -> None:
    """Tell this process's scheduler at once; other processes notice on their next reconcile."""
    scheduler = getattr(request.app.state, "scheduler", None)
    if scheduler is not None:
        scheduler.reconcile()


@router.get("/schedules", response_model=Page[SchedulePublic], summary="List schedules")
def list_schedules(hub: Hub, caller: Caller, paging: Paging) -> Page[SchedulePublic]:
    ids = [info.id for info in visible_connections(hub, caller)]
    with hub.ready_store.begin() as conn:
        rows = conn.execute(
            select(schedules).where(schedules.c.connection_id.in_(ids)).order_by(schedules.c.id)
        )
        items = [SchedulePublic.model_validate(r._asdict()) for r in rows]
    return Page[SchedulePublic].of(items, paging)


@router.get(
    "/connections/{connection_id}/schedule", response_model=SchedulePublic, summary="A connection's schedule"
)
def get_schedule(hub: Hub, caller: Caller, connection_id: ObjectId) -> SchedulePublic:
    visible_connection(hub, caller, connection_id)
    found = _get(hub, connection_id)
    if found is None:
        raise not_found("schedule for connection", connection_id)
    return found


@router.put("/connections/{connection_id}/schedule", response_model=SchedulePublic, summary="Set a schedule")
def put_schedule(
    request: Request, hub: Hub, caller: Configure, connection_id: ObjectId, body: ScheduleUpdate
) -> SchedulePublic:
    visible_connection(hub, caller, connection_id)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        build_trigger(body.kind, body.every_seconds, body.cron, body.timezone, now)
    except ConfigError as exc:
        field = str(exc).split(":", 1)[0]
        raise ApiError(422, str(exc), [(f"body.{field}", str(exc).split(":", 1)[-1].strip())]) from None
    values = body.model_dump()
    if values["kind"] == "interval":
        values["cron"] = None
    else:
        values["every_seconds"] = None
    before = _get(hub, connection_id)
    with hub.ready_store.begin() as conn:
        if before is None:
            conn.execute(
                schedules.insert().values(
                    connection_id=connection_id,
                    revision=1,
                    anchor=now,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
        else:
            conn.execute(
                update(schedules)
                .where(schedules.c.connection_id == connection_id)
                .values(revision=before.revision + 1, anchor=now, updated_at=now, **values)
            )
        record(
            conn,
            caller,
            "schedule.set",
            f"connection:{connection_id}",
            before=None if before is None else before.model_dump(mode="json"),
            after=values,
        )
    _changed(request)
    found = _get(hub, connection_id)
    assert found is not None
    return found


@router.delete("/connections/{connection_id}/schedule", status_code=204, summary="Remove a schedule")
def delete_schedule(request: Request, hub: Hub, caller: Configure, connection_id: ObjectId) -> Response:
    visible_connection(hub, caller, connection_id)
    before = _get(hub, connection_id)
    if before is None:
        raise not_found("schedule for connection", connection_id)
    with hub.ready_store.begin() as conn:
        conn.execute(delete(schedules).where(schedules.c.connection_id == connection_id))
        record(
            conn,
            caller,
            "schedule.delete",
            f"connection:{connection_id}",
            before=before.model_dump(mode="json"),
        )
    _changed(request)
    return Response(status_code=204)
