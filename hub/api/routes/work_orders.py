"""``/work-orders``: the follow-ups alert rules open, moved along and re-assigned by the team.

A work order is seen through the alert that opened it: a key limited to some shops sees and
moves only the orders of alerts on those shops (or on its own connections).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from ...kpi.alerts import list_alerts, set_work_order_status
from ..access import Permission, Principal
from ..deps import Caller, Hub, ObjectId, Page, Paging, require
from ..errors import ApiError
from ..scoping import visible_connections
from .kpis import _alert_visible

__all__ = ["router"]

router = APIRouter(prefix="/work-orders", tags=["alerts"])
Operate = Annotated[Principal, Depends(require(Permission.OPERATE))]

Status = Literal["open", "in_progress", "done"]


class WorkOrderPublic(BaseModel):
    id: int
    alert_id: int
    rule: str
    severity: str
    scope_type: str
    scope_id: str
    message: str = Field(description="The message of the alert that opened the order.")
    raised_at: dt.datetime
    status: str = Field(description="open, in_progress or done")
    assignee: str | None


class WorkOrderUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    assignee: str | None = Field(
        default=None, min_length=1, max_length=128, description="Who takes it on; unchanged when left out."
    )


def _public(alert: dict[str, Any]) -> WorkOrderPublic:
    return WorkOrderPublic(
        id=alert["work_order_id"],
        alert_id=alert["alert_id"],
        rule=alert["rule"],
        severity=alert["severity"],
        scope_type=alert["scope_type"],
        scope_id=alert["scope_id"],
        message=alert["message"],
        raised_at=alert["raised_at"],
        status=alert["work_order_status"],
        assignee=alert["assignee"],
    )


def _orders(hub: Hub, caller: Principal, status: str | None) -> list[WorkOrderPublic]:
    names = {info.name for info in visible_connections(hub, caller)}
    return [
        _public(a)
        for a in list_alerts(hub.ready_store, tenant=caller.tenant)
        if a["work_order_id"] is not None
        and (status is None or a["work_order_status"] == status)
        and _alert_visible(hub, caller, a, names)
    ]


def _one(hub: Hub, caller: Principal, order_id: int) -> WorkOrderPublic:
    for order in _orders(hub, caller, None):
        if order.id == order_id:
            return order
    raise ApiError(404, f"no work order {order_id!r} here")


@router.get("", response_model=Page[WorkOrderPublic], summary="Work orders, newest alert first")
def get_work_orders(
    hub: Hub, caller: Caller, paging: Paging, status: Status | None = None
) -> Page[WorkOrderPublic]:
    return Page[WorkOrderPublic].of(_orders(hub, caller, status), paging)


@router.patch("/{order_id}", response_model=WorkOrderPublic, summary="Move a work order or re-assign it")
def update_work_order(
    hub: Hub, caller: Operate, order_id: ObjectId, body: WorkOrderUpdate
) -> WorkOrderPublic:
    _one(hub, caller, order_id)  # 404 before any change for an order the key may not see
    # set_work_order_status writes the audit entry in the same transaction as the change.
    set_work_order_status(
        hub.ready_store,
        order_id,
        body.status,
        assignee=body.assignee,
        tenant=caller.tenant,
        actor=caller.actor,
    )
    return _one(hub, caller, order_id)
