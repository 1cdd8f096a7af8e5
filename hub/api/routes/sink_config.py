"""``POST /sinks``: configure a sink; its credentials are write-only and go into the vault.

A sink receives every shop's published tables, so only an unlimited key with the configure
right adds one (the same rule as pushing one, see ``sinks.py``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from sdk import KpihubError

from ...publish.sinks import add_sink
from ..deps import Hub
from ..errors import ApiError
from .connections import _NAME
from .management import Configure
from .sinks import SinkPublic, _public

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


@router.post("", response_model=SinkPublic, status_code=201, summary="Configure a sink")
def create_sink(hub: Hub, caller: Configure, body: SinkCreate) -> SinkPublic:
    if not caller.scope.unlimited:
        raise ApiError(403, "a key limited to some shops cannot add a sink; it carries every shop")
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
        )
    except KpihubError as exc:
        if "already exists" in str(exc):
            raise ApiError(409, str(exc), [("body.name", "taken")]) from None
        raise ApiError(422, str(exc), [("body", str(exc))]) from None
    return _public(info)
