"""``POST /sinks``, ``PATCH /sinks/{id}``: configure a sink; its credentials are write-only and
go into the vault.

A sink receives every shop's published tables, so only an unlimited key with the configure
right adds or changes one (the same rule as pushing one, see ``sinks.py``).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from sdk import KpihubError

from ...publish.sinks import add_sink, update_sink
from ..deps import Hub, ObjectId
from ..errors import ApiError, conflict
from .connections import _NAME
from .management import Configure
from .sinks import SinkPublic, _get, _public, _unlimited

__all__ = ["router"]

router = APIRouter(prefix="/sinks", tags=["sinks"])


class SinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME, description="Unique in the tenant: letters, digits, _ . -")
    plugin: str = Field(min_length=1, max_length=64, description="A sink plugin, see /plugins.")
    options: dict[str, Any] = Field(default_factory=dict, description="The plugin's options.")
    credentials: dict[str, Any] | None = Field(default=None, description="Write-only; stored encrypted.")
    tables: list[str] | None = Field(
        default=None, min_length=1, max_length=100, description="Published tables; null is the default set."
    )


class SinkUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    options: dict[str, Any] | None = Field(default=None, description="Replace the options.")
    credentials: dict[str, Any] | None = Field(
        default=None, description="Write-only; merged over the stored fields, so one secret can be rotated."
    )
    tables: list[str] | None = Field(
        default=None,
        max_length=100,
        description="Replace the published tables it receives; [] is the default set.",
    )
    status: Literal["active", "paused"] | None = Field(
        default=None, description="A paused sink is not pushed after the scheduler's runs, nor on demand."
    )


@router.post(
    "",
    response_model=SinkPublic,
    status_code=201,
    responses=conflict("A sink of that name exists"),
    summary="Configure a sink",
)
def create_sink(hub: Hub, caller: Configure, body: SinkCreate) -> SinkPublic:
    _unlimited(caller, "add")
    try:
        hub.registry.sink(body.plugin)
    except KpihubError as exc:
        raise ApiError(422, str(exc), [("body.plugin", "no such sink plugin")]) from None
    try:
        # Validates options, credentials and tables, stores the secrets encrypted and audits
        # (credential field names only) in one transaction; nothing is written on error.
        info = add_sink(
            hub.ready_store,
            hub.vault,
            hub.registry,
            name=body.name,
            plugin=body.plugin,
            options=body.options,
            credentials=body.credentials,
            tables=body.tables,
            tenant=caller.tenant,
            actor=caller.actor,
            egress=hub.egress,
        )
    except KpihubError as exc:
        if "already exists" in str(exc):
            raise ApiError(409, str(exc), [("body.name", "taken")]) from None
        raise ApiError(422, str(exc), [(_field_at_fault(str(exc)), str(exc))]) from None
    return _public(info)


@router.patch(
    "/{sink_id}", response_model=SinkPublic, summary="Change a sink's options, credentials, tables or status"
)
def update_one(hub: Hub, caller: Configure, sink_id: ObjectId, body: SinkUpdate) -> SinkPublic:
    info = _get(hub, caller, sink_id)
    _unlimited(caller, "change")
    if all(value is None for _, value in body):
        raise ApiError(422, "say what to change: options, credentials, tables or status", [("body", "empty")])
    try:
        # Validates everything before it writes, then stores and audits (credential field names
        # only) in one transaction.
        info = update_sink(
            hub.ready_store,
            hub.vault,
            hub.registry,
            info,
            options=body.options,
            credentials=body.credentials,
            tables=body.tables,
            status=body.status,
            actor=caller.actor,
            egress=hub.egress,
        )
    except KpihubError as exc:
        raise ApiError(422, str(exc), [(_field_at_fault(str(exc)), str(exc))]) from None
    return _public(info)


def _field_at_fault(message: str) -> str:
    """The body field a sink's validation error is about, from its message."""
    for words, field in (
        ("invalid options", "body.options"),
        ("invalid credentials", "body.credentials"),
        ("credentials must", "body.credentials"),
        ("unknown tables", "body.tables"),
    ):
        if message.startswith(words):
            return field
    return "body"
