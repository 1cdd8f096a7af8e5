"""``/tenants``: the caller's own tenant; no other tenant is visible."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update

from ...store.tables import tenants
from ..access import Permission, Principal
from ..deps import Caller, Hub, ObjectId, Page, Paging, require
from ..errors import ApiError
from ..scoping import not_found, record

__all__ = ["router"]

router = APIRouter(prefix="/tenants", tags=["tenants"])


class TenantPublic(BaseModel):
    id: int
    name: str
    base_currency: str
    created_at: dt.datetime


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code KPIs are converted to.")


def _get(hub: Hub, tenant_id: ObjectId) -> TenantPublic:
    with hub.ready_store.begin() as conn:
        row = conn.execute(select(tenants).where(tenants.c.id == tenant_id)).first()
    assert row is not None
    return TenantPublic.model_validate(row._asdict())


@router.get("", response_model=Page[TenantPublic], summary="List tenants (only the caller's own)")
def list_tenants(hub: Hub, caller: Caller, paging: Paging) -> Page[TenantPublic]:
    return Page[TenantPublic].of([_get(hub, caller.tenant_id)], paging)


@router.get("/{tenant_id}", response_model=TenantPublic, summary="Get a tenant")
def get_tenant(hub: Hub, caller: Caller, tenant_id: ObjectId) -> TenantPublic:
    if tenant_id != caller.tenant_id:
        raise not_found("tenant", tenant_id)
    return _get(hub, tenant_id)


@router.patch("/{tenant_id}", response_model=TenantPublic, summary="Change a tenant's settings")
def update_tenant(
    hub: Hub,
    caller: Annotated[Principal, Depends(require(Permission.ADMIN))],
    tenant_id: ObjectId,
    body: TenantUpdate,
) -> TenantPublic:
    if tenant_id != caller.tenant_id:
        raise not_found("tenant", tenant_id)
    if not caller.scope.unlimited:
        raise ApiError(403, "a key limited to some shops cannot change the whole tenant's settings")
    before = _get(hub, tenant_id)
    with hub.ready_store.begin() as conn:
        conn.execute(
            update(tenants).where(tenants.c.id == tenant_id).values(base_currency=body.base_currency)
        )
        record(
            conn,
            caller,
            "tenant.update",
            f"tenant:{tenant_id}",
            before={"base_currency": before.base_currency},
            after={"base_currency": body.base_currency},
        )
    return _get(hub, tenant_id)
