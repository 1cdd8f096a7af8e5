"""``/audit``: every change, who made it, when, before and after (admins only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from ...store.tables import audit_log
from ..access import Permission, Principal
from ..deps import Hub, Page, Paging, require

__all__ = ["router"]

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntryPublic(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


@router.get("", response_model=Page[AuditEntryPublic], summary="List audit entries, newest first")
def list_audit(
    hub: Hub,
    caller: Annotated[Principal, Depends(require(Permission.ADMIN))],
    paging: Paging,
    action: Annotated[
        str | None, Query(max_length=64, description="Only this action, e.g. user.create.")
    ] = None,
) -> Page[AuditEntryPublic]:
    where = [audit_log.c.tenant_id == caller.tenant_id]
    if action:
        where.append(audit_log.c.action == action)
    with hub.ready_store.begin() as conn:
        total = conn.execute(select(func.count()).select_from(audit_log).where(*where)).scalar_one()
        rows = conn.execute(
            select(audit_log)
            .where(*where)
            .order_by(audit_log.c.id.desc())
            .limit(paging.limit)
            .offset(paging.offset)
        )
        items = [AuditEntryPublic.model_validate(r._asdict()) for r in rows]
    return Page[AuditEntryPublic](items=items, total=int(total), limit=paging.limit, offset=paging.offset)
