"""``/counting-bases`` and ``/targets``: what the KPIs are counted on and aimed at.

Both feed assessments, so changing them takes the configure right, which an agency has not.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from sdk import ConfigError, NotFound

from ...context import HubContext
from ...kpi.basis import BasisVersion, list_bases, set_counting_basis
from ...kpi.targets import delete_target, list_targets, set_target
from ..access import Permission, Principal
from ..deps import Caller, Hub, Page, Paging, require
from ..errors import ApiError

__all__ = ["Configure", "TargetPublic", "known_metrics", "router", "target_visible"]

router = APIRouter(tags=["kpi management"])
Configure = Annotated[Principal, Depends(require(Permission.CONFIGURE))]

Grain = Literal["day", "week", "month", "quarter", "year"]
TargetGrain = Literal["month", "quarter", "year"]
TargetScope = Literal["tenant", "platform", "site", "shop", "category", "sku", "team", "person"]
METRIC_ID = r"^[a-z][a-z0-9_]{0,63}$"


class CountingBasisUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: dict[str, Any] = Field(description='Options to change, e.g. {"tax_included": false}.')
    note: str | None = Field(default=None, max_length=500, description="Why the basis changes.")


class TargetSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric_id: str = Field(pattern=METRIC_ID)
    grain: TargetGrain
    period: str = Field(max_length=16, description="e.g. 2026-11, 2026-Q4, 2026")
    scope_type: TargetScope
    scope_id: str = Field(min_length=1, max_length=160, description="Shops are written platform:id.")
    value: Decimal = Field(ge=0, le=Decimal("1e15"), allow_inf_nan=False)


class TargetPublic(BaseModel):
    metric_id: str
    grain: str
    period_start: dt.date
    scope_type: str
    scope_id: str
    target_value: Decimal
    source: str
    actual_value: float | None
    attainment: float | None
    paced_attainment: float | None


def known_metrics(hub: HubContext) -> list[str] | None:
    """Metric ids the installed providers define; None (no check) when none is installed."""
    known = [d.metric_id for p in hub.registry.metric_providers.values() for d in p.definitions()]
    return known or None


def _unlimited(caller: Principal) -> None:
    if not caller.scope.unlimited:
        raise ApiError(403, "a key limited to some shops cannot change what every shop is measured on")


@router.get(
    "/counting-bases", response_model=Page[BasisVersion], summary="Counting-basis versions, oldest first"
)
def get_bases(hub: Hub, caller: Caller, paging: Paging) -> Page[BasisVersion]:
    with hub.ready_store.begin() as conn:
        items = list_bases(conn, caller.tenant_id)
    return Page[BasisVersion].of(items, paging)


@router.put(
    "/counting-bases", response_model=BasisVersion, summary="Change the counting basis (a new version)"
)
def put_basis(hub: Hub, caller: Configure, body: CountingBasisUpdate) -> BasisVersion:
    _unlimited(caller)
    try:
        with hub.ready_store.begin() as conn:
            return set_counting_basis(
                conn, caller.tenant_id, body.changes, actor=caller.actor, note=body.note
            )
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("body.changes", "see the message for the options")]) from None


def target_visible(caller: Principal, scope_type: str, scope_id: str) -> bool:
    if caller.scope.unlimited:
        return True
    if scope_type != "shop":
        return False  # team, person and tenant targets span shops the key may not see
    platform, _, shop = scope_id.partition(":")
    return caller.scope.allows_shop(platform, shop)


@router.get("/targets", response_model=Page[TargetPublic], summary="Targets with their attainment")
def get_targets(
    hub: Hub,
    caller: Caller,
    paging: Paging,
    metric_id: str | None = None,
    grain: Grain | None = None,
) -> Page[TargetPublic]:
    targets = list_targets(hub.ready_store, tenant=caller.tenant, metric_id=metric_id, grain=grain)
    items = [
        TargetPublic.model_validate(vars(t))
        for t in targets
        if target_visible(caller, t.scope_type, t.scope_id)
    ]
    return Page[TargetPublic].of(items, paging)


@router.put("/targets", response_model=TargetPublic, summary="Set one target by hand")
def put_target(hub: Hub, caller: Configure, body: TargetSet) -> TargetPublic:
    _unlimited(caller)
    try:
        target = set_target(
            hub.ready_store,
            metric_id=body.metric_id,
            grain=body.grain,
            period=body.period,
            scope_type=body.scope_type,
            scope_id=body.scope_id,
            value=body.value,
            tenant=caller.tenant,
            actor=caller.actor,
        )
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("body", str(exc))]) from None
    return TargetPublic.model_validate(vars(target))


@router.delete("/targets", status_code=204, summary="Delete one target")
def remove_target(
    hub: Hub,
    caller: Configure,
    metric_id: Annotated[str, Query(pattern=METRIC_ID)],
    grain: TargetGrain,
    period: Annotated[str, Query(max_length=16, description="e.g. 2026-11, 2026-Q4, 2026")],
    scope_type: TargetScope,
    scope_id: Annotated[str, Query(min_length=1, max_length=160, description="Shops are platform:id.")],
) -> Response:
    """Targets decomposed from it stay: they are targets of their own."""
    _unlimited(caller)
    try:
        delete_target(
            hub.ready_store,
            metric_id=metric_id,
            grain=grain,
            period=period,
            scope_type=scope_type,
            scope_id=scope_id,
            tenant=caller.tenant,
            actor=caller.actor,
        )
    except NotFound as exc:
        raise ApiError(404, str(exc)) from None
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("query", str(exc))]) from None
    return Response(status_code=204)
