"""``/targets/decompose``: split a target top-down through teams, people, shops and categories.

Decomposition writes targets, which feed assessments: it takes the configure right and an
unlimited key, like setting a target by hand (see ``management.py``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from sdk import ConfigError

from ...kpi.decompose import decompose
from ..deps import Hub
from ..errors import ApiError
from .management import Configure, TargetPublic, _unlimited

__all__ = ["router"]

router = APIRouter(prefix="/targets", tags=["kpi management"])

Level = Literal["tenant", "team", "person", "shop", "category"]
Method = Literal["weights", "previous_share"]


class DecomposeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric_id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    grain: Literal["month", "quarter", "year"]
    period: str = Field(max_length=16, description="e.g. 2026-11, 2026-Q4, 2026")
    scope_type: Literal["tenant", "team", "person", "shop"] = "tenant"
    scope_id: str = Field(default="default", min_length=1, max_length=160)
    down_to: Level = "category"
    method: Method | dict[Level, Method] = Field(
        default="previous_share", description="One method for every level, or one per level."
    )
    weights: dict[Level, dict[str, Decimal]] | None = Field(
        default=None,
        description='Per level {scope id: weight}; shops may use "@new" / "@mature".',
    )
    new_shop_days: int | None = Field(default=None, ge=1, le=3650)
    new_shop_factor: Decimal = Field(default=Decimal("0.5"), ge=0, le=100, allow_inf_nan=False)


class DecompositionPublic(BaseModel):
    targets: list[TargetPublic] = Field(description="The targets written below the decomposed one.")
    notes: list[str] = Field(description="What the decomposition had to decide or leave out.")


@router.post("/decompose", response_model=DecompositionPublic, summary="Split a target down the org tree")
def post_decompose(hub: Hub, caller: Configure, body: DecomposeRequest) -> DecompositionPublic:
    _unlimited(caller)
    try:
        # One transaction, audited as target.decompose by the decomposition itself.
        result = decompose(
            hub.ready_store,
            metric_id=body.metric_id,
            grain=body.grain,
            period=body.period,
            scope_type=body.scope_type,
            scope_id=body.scope_id,
            tenant=caller.tenant,
            down_to=body.down_to,
            method=body.method
            if isinstance(body.method, str)
            else {str(k): m for k, m in body.method.items()},
            weights={str(k): w for k, w in (body.weights or {}).items()},
            new_shop_days=body.new_shop_days,
            new_shop_factor=body.new_shop_factor,
            actor=caller.actor,
        )
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("body", str(exc))]) from None
    return DecompositionPublic(
        targets=[TargetPublic.model_validate(vars(t)) for t in result.targets], notes=result.notes
    )
