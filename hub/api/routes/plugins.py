"""``/plugins``: what ``kpihub plugins --json`` shows."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from ..deps import Caller, Hub, Page, Paging

__all__ = ["router"]

router = APIRouter(prefix="/plugins", tags=["plugins"])


class PluginPublic(BaseModel):
    name: str
    origin: str
    version: str | None
    module: str | None
    distribution: str | None
    hooks: list[str]
    registered: dict[str, list[str]]
    error: str | None
    details: dict[str, Any] = {}


@router.get("", response_model=Page[PluginPublic], summary="List installed plugins and what they registered")
def list_plugins(hub: Hub, caller: Caller, paging: Paging) -> Page[PluginPublic]:
    items = [PluginPublic.model_validate(p.as_dict()) for p in hub.registry.plugins]
    return Page[PluginPublic].of(items, paging)
