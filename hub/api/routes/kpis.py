"""``/kpis`` and ``/alerts``: computed KPI values and the alerts raised on them, within scope.

A key limited to some shops (or platforms) sees only the values of those shops: aggregates
over several shops (tenant, team, person totals) are left out, since they include shops the
key may not see; its categories, if listed, limit category values the same way.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from sdk import ConfigError, KpihubError, NotFound

from ...kpi.alerts import list_alerts, set_alert_status
from ...kpi.query import query_kpis
from ...kpi.target_periods import check_day
from ..access import Permission, Principal
from ..deps import Caller, Hub, ObjectId, Page, Paging, require
from ..errors import ApiError
from ..scoping import visible_connections

__all__ = ["router"]

router = APIRouter(tags=["kpis"])
Operate = Annotated[Principal, Depends(require(Permission.OPERATE))]

Grain = Literal["day", "week", "month", "quarter", "year"]
ScopeType = Literal["tenant", "platform", "site", "shop", "category", "sku", "team", "person"]


class KpiValuePublic(BaseModel):
    metric_id: str
    grain: str
    period_start: dt.date
    scope_type: str
    scope_id: str
    platform: str | None
    shop_id: str | None
    value: Decimal | None = Field(
        description="Exact (a decimal as text). Null when undefined (a ratio over zero) or unknown "
        "(see unknown_reason), never 0."
    )
    numerator: Decimal | None
    denominator: Decimal | None
    unit: str
    currency: str | None
    basis_version: int = Field(description="The counting-basis version the value was computed under.")
    computed_at: dt.datetime
    coverage: Decimal | None = Field(
        default=None, description="Share of the input rows that were complete (FX rate, cost, fees known)."
    )
    unknown_reason: str | None = Field(
        default=None, description="Why the value is unknown though there was input."
    )


class AlertPublic(BaseModel):
    alert_id: int
    rule: str
    raised_at: dt.datetime
    metric_id: str | None
    scope_type: str
    scope_id: str
    grain: str | None
    period_start: dt.date | None
    value: float | None
    threshold: float
    severity: str
    status: str
    message: str
    work_order_id: int | None
    work_order_status: str | None


class AlertUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "acknowledged", "resolved"]


def _kpi_visible(caller: Principal, row: dict[str, Any]) -> bool:
    scope = caller.scope
    if scope.categories and row["scope_type"] == "category" and row["scope_id"] not in scope.categories:
        return False
    if not (scope.shops or scope.platforms):
        return True
    return row["shop_id"] is not None and scope.allows_shop(row["platform"], row["shop_id"])


@router.get("/kpis", response_model=Page[KpiValuePublic], summary="KPI values of one metric and grain")
def list_kpis(
    hub: Hub,
    caller: Caller,
    paging: Paging,
    metric_id: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="e.g. gmv, roas")],
    grain: Grain = "month",
    scope_type: ScopeType | None = None,
    scope_id: Annotated[str | None, Query(max_length=160)] = None,
    start: Annotated[dt.date | None, Query(description="First period_start, inclusive.")] = None,
    end: Annotated[dt.date | None, Query(description="Last period_start, inclusive.")] = None,
) -> Page[KpiValuePublic]:
    for name, day in (("start", start), ("end", end)):
        if day is None:
            continue
        try:
            check_day(day, name)
        except ConfigError as exc:
            raise ApiError(422, str(exc), [(f"query.{name}", str(exc))]) from None
    if start and end and start > end:
        raise ApiError(422, "start is after end", [("query.start", "after query.end")])
    try:
        rows = query_kpis(
            hub.ready_store,
            caller.tenant,
            metric_id,
            grain=grain,
            scope_type=scope_type,
            scope_id=scope_id,
            start=start,
            end=end,
            catalogue=hub.catalogue,  # a third party's metrics are listed too
        )
    except NotFound as exc:
        raise ApiError(422, str(exc), [("query.metric_id", "no such metric")]) from None
    except KpihubError as exc:
        if "tenant" in str(exc):  # no KPI computed for this tenant yet
            rows = []
        else:
            raise ApiError(422, str(exc), [("query.metric_id", str(exc))]) from None
    items = [KpiValuePublic.model_validate(r) for r in rows if _kpi_visible(caller, r)]
    return Page[KpiValuePublic].of(items, paging)


def _alert_visible(hub: Hub, caller: Principal, alert: dict[str, Any], connections: set[str]) -> bool:
    if caller.scope.unlimited:
        return True
    if alert["scope_type"] == "shop":
        platform, _, shop = str(alert["scope_id"]).partition(":")
        return caller.scope.allows_shop(platform, shop)
    return alert["scope_type"] == "connection" and alert["scope_id"] in connections


def _alerts(hub: Hub, caller: Principal, status: str | None) -> list[AlertPublic]:
    alerts = list_alerts(hub.ready_store, tenant=caller.tenant, status=status)
    names = {info.name for info in visible_connections(hub, caller)}
    return [AlertPublic.model_validate(a) for a in alerts if _alert_visible(hub, caller, a, names)]


@router.get("/alerts", response_model=Page[AlertPublic], summary="Alerts raised, newest first")
def get_alerts(
    hub: Hub,
    caller: Caller,
    paging: Paging,
    status: Literal["open", "acknowledged", "resolved"] | None = None,
) -> Page[AlertPublic]:
    return Page[AlertPublic].of(_alerts(hub, caller, status), paging)


@router.patch("/alerts/{alert_id}", response_model=AlertPublic, summary="Acknowledge or resolve an alert")
def update_alert(hub: Hub, caller: Operate, alert_id: ObjectId, body: AlertUpdate) -> AlertPublic:
    if not any(a.alert_id == alert_id for a in _alerts(hub, caller, None)):
        raise ApiError(404, f"no alert {alert_id!r} here")
    set_alert_status(hub.ready_store, alert_id, body.status, tenant=caller.tenant, actor=caller.actor)
    return next(a for a in _alerts(hub, caller, None) if a.alert_id == alert_id)
