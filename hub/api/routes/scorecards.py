"""``/scorecard-templates``: which metrics a role is scored on, how heavy and how scored.

Templates decide assessments, so changing one takes the configure right and an unlimited key
(an agency cannot rewrite what it is assessed on).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from sdk import ConfigError

from ...kpi.scorecards import ScorecardTemplate, adjust, load_templates, save_template
from ...kpi.targets import known_tenant_id
from ..deps import Caller, Hub, Page, Paging
from ..errors import ApiError
from .management import Configure, _unlimited

__all__ = ["router"]

router = APIRouter(tags=["kpi management"])


class TemplateSaved(BaseModel):
    template: ScorecardTemplate
    warnings: list[str] = Field(description="Advice that does not stop the save, e.g. too many metrics.")


@router.get("/scorecard-templates", response_model=Page[ScorecardTemplate], summary="Scorecard templates")
def get_templates(hub: Hub, caller: Caller, paging: Paging) -> Page[ScorecardTemplate]:
    with hub.ready_store.begin() as conn:
        tid = known_tenant_id(conn, caller.tenant)
        items = [] if tid is None else load_templates(conn, tid)
    return Page[ScorecardTemplate].of(items, paging)


@router.put(
    "/scorecard-templates", response_model=TemplateSaved, summary="Add or replace a scorecard template"
)
def put_template(hub: Hub, caller: Configure, body: ScorecardTemplate) -> TemplateSaved:
    _unlimited(caller)
    # The same metric check as the CLI: those the installed providers define (none: no check).
    known = [d.metric_id for p in hub.registry.metric_providers.values() for d in p.definitions()]
    try:
        template, warnings = save_template(
            hub.ready_store, body, tenant=caller.tenant, actor=caller.actor, known_metrics=known or None
        )
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("body.metrics", str(exc))]) from None
    return TemplateSaved(template=template, warnings=warnings)


class AdjustmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_type: Literal["person", "team", "shop"]
    subject_id: str = Field(min_length=1, max_length=160)
    grain: Literal["month", "quarter", "year"]
    period: str = Field(max_length=16, description="e.g. 2026-11, 2026-Q4, 2026")
    kind: Literal["reweight", "exempt"]
    reason: str = Field(min_length=1, max_length=500, description="Shown on the scorecard and audited.")
    metric_id: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")
    weight: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)


class AdjustmentCreated(BaseModel):
    id: int


@router.post(
    "/scorecard-adjustments",
    response_model=AdjustmentCreated,
    status_code=201,
    summary="Re-weight or exempt one subject for one period, with a reason",
)
def post_adjustment(hub: Hub, caller: Configure, body: AdjustmentCreate) -> AdjustmentCreated:
    _unlimited(caller)  # an agency may not adjust the assessment it is itself scored by
    try:
        ident = adjust(hub.ready_store, **body.model_dump(), tenant=caller.tenant, actor=caller.actor)
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("body", str(exc))]) from None
    return AdjustmentCreated(id=ident)
