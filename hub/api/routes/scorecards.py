"""``/scorecard-templates``, ``/scorecard-adjustments`` and ``/scorecards``: which metrics a
role is scored on, the exceptions granted, and the scores.

Templates and adjustments decide assessments, so changing one takes the configure right and
an unlimited key (an agency cannot rewrite what it is assessed on). Scoring again changes no
configuration (operate right), but it scores every person and team, so it takes an unlimited
key too. A key limited to some shops sees the scores and adjustments of its shops only
(people and teams span shops it may not see).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from sdk import ConfigError

from ...kpi.scorecards import (
    ScorecardTemplate,
    adjust,
    adjustment_rows,
    load_templates,
    save_template,
    score,
    scorecard_rows,
)
from ...kpi.target_periods import parse_period
from ...kpi.targets import known_tenant_id
from ..access import Permission, Principal
from ..deps import Caller, Hub, Page, Paging, require
from ..errors import ApiError
from ..scoping import record
from .management import METRIC_ID, Configure, TargetGrain, _unlimited, known_metrics, target_visible

__all__ = ["router"]

router = APIRouter(tags=["kpi management"])
Operate = Annotated[Principal, Depends(require(Permission.OPERATE))]

SubjectType = Literal["person", "team", "shop"]
Period = Annotated[str, Field(max_length=16, description="e.g. 2026-11, 2026-Q4, 2026")]
SUBJECT_ID = Query(min_length=1, max_length=160)


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
    try:
        template, warnings = save_template(
            hub.ready_store, body, tenant=caller.tenant, actor=caller.actor, known_metrics=known_metrics(hub)
        )
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("body.metrics", str(exc))]) from None
    return TemplateSaved(template=template, warnings=warnings)


class AdjustmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_type: SubjectType
    subject_id: str = Field(min_length=1, max_length=160)
    grain: TargetGrain
    period: Period
    kind: Literal["reweight", "exempt"]
    reason: str = Field(min_length=1, max_length=500, description="Shown on the scorecard and audited.")
    metric_id: str | None = Field(default=None, pattern=METRIC_ID)
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


class AdjustmentPublic(BaseModel):
    id: int
    subject_type: str
    subject_id: str
    grain: str
    period_start: dt.date
    kind: str = Field(description="reweight or exempt")
    metric_id: str | None = Field(description="Null when the whole scorecard is exempt.")
    weight: float | None = Field(description="The temporary weight of a reweight.")
    reason: str
    actor: str = Field(description="Who recorded it.")
    created_at: dt.datetime


class ScorecardPublic(BaseModel):
    """One metric of one subject's scorecard for one period."""

    grain: str
    period_start: dt.date
    subject_type: str
    subject_id: str
    template_id: str
    metric_id: str
    weight: float = Field(description="The weight applied, after any adjustment.")
    actual_value: float | None
    target_value: float | None
    attainment: float | None = Field(description="Null when the metric has no target.")
    score: float | None = Field(description="0-100 (more above target, up to the cap); null when not scored.")
    total_score: float | None = Field(
        description="The subject's weighted total, the same on each of its rows."
    )
    adjusted: bool
    adjustment_reason: str | None
    guardrail: str | None = Field(description="Why an improvement is flagged rather than rewarded.")
    computed_at: dt.datetime


class ScorecardCompute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grain: TargetGrain
    period: Period


class ScorecardComputed(BaseModel):
    grain: str
    period_start: dt.date
    subjects: int = Field(description="People and teams scored.")
    rows: int = Field(description="Scorecard rows published (one per subject and metric).")


def _visible(caller: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if target_visible(caller, r["subject_type"], r["subject_id"])]


def _listed(read: Any, caller: Principal, **filters: Any) -> list[dict[str, Any]]:
    """The rows ``read`` finds for the caller's tenant and filters, cut to what it may see."""
    try:
        return _visible(caller, read(tenant=caller.tenant, **filters))
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("query.period", str(exc))]) from None


@router.get(
    "/scorecard-adjustments",
    response_model=Page[AdjustmentPublic],
    summary="Adjustments recorded, oldest period first",
)
def get_adjustments(
    hub: Hub,
    caller: Caller,
    paging: Paging,
    grain: TargetGrain | None = None,
    period: Annotated[str | None, Query(max_length=16, description="e.g. 2026-11; needs grain.")] = None,
    subject_type: SubjectType | None = None,
    subject_id: Annotated[str | None, SUBJECT_ID] = None,
    kind: Literal["reweight", "exempt"] | None = None,
) -> Page[AdjustmentPublic]:
    rows = _listed(
        lambda **kw: adjustment_rows(hub.ready_store, **kw),
        caller,
        grain=grain,
        period=period,
        subject_type=subject_type,
        subject_id=subject_id,
        kind=kind,
    )
    return Page[AdjustmentPublic].of([AdjustmentPublic.model_validate(r) for r in rows], paging)


@router.get(
    "/scorecards", response_model=Page[ScorecardPublic], summary="Published scores, oldest period first"
)
def get_scorecards(
    hub: Hub,
    caller: Caller,
    paging: Paging,
    grain: TargetGrain | None = None,
    period: Annotated[str | None, Query(max_length=16, description="e.g. 2026-11; needs grain.")] = None,
    subject_type: Literal["person", "team"] | None = None,
    subject_id: Annotated[str | None, SUBJECT_ID] = None,
    template_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> Page[ScorecardPublic]:
    rows = _listed(
        lambda **kw: scorecard_rows(hub.ready_store, **kw),
        caller,
        grain=grain,
        period=period,
        subject_type=subject_type,
        subject_id=subject_id,
        template_id=template_id,
    )
    return Page[ScorecardPublic].of([ScorecardPublic.model_validate(r) for r in rows], paging)


@router.post(
    "/scorecards/compute",
    response_model=ScorecardComputed,
    summary="Score every person and team for a period now (after a change of targets or adjustments)",
)
def compute_scores(hub: Hub, caller: Operate, body: ScorecardCompute) -> ScorecardComputed:
    if not caller.scope.unlimited:
        raise ApiError(403, "a key limited to some shops cannot score; scorecards span every shop")
    try:
        start = parse_period(body.grain, body.period)
        rows = score(hub.ready_store, grain=body.grain, period=start, tenant=caller.tenant)
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("body.period", str(exc))]) from None
    done = ScorecardComputed(
        grain=body.grain,
        period_start=start,
        subjects=len({(r.subject_type, r.subject_id) for r in rows}),
        rows=len(rows),
    )
    with hub.ready_store.begin() as conn:
        record(conn, caller, "scorecard.compute", f"{body.grain}/{start}", after=done.model_dump(mode="json"))
    return done
