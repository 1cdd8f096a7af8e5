"""``/audit``: every change, who made it, when, before and after (admins only).

An admin limited to some shops sees only the entries made by keys within its own scope: what
the rest of the tenant changed is none of its business.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, false, func, or_, select

from ...store.service_tables import api_keys
from ...store.tables import audit_log
from ..access import Permission, Principal, Scope
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
        if not caller.scope.unlimited:
            where.append(_within_scope(conn, caller))
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


def _within_scope(conn: Any, caller: Principal) -> ColumnElement[bool]:
    """Entries whose actor is a key of the caller's tenant whose scope lies within the caller's."""
    keys = conn.execute(
        select(api_keys.c.id, api_keys.c.scope).where(api_keys.c.tenant_id == caller.tenant_id)
    )
    mine = [
        int(key_id) for key_id, scope in keys if Scope.model_validate(dict(scope or {})).within(caller.scope)
    ]
    if not mine:
        return false()
    return or_(*[audit_log.c.actor.like(f"apikey:{key_id}:%") for key_id in mine])
