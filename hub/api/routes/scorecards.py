"""``/scorecard-templates``: which metrics a role is scored on, how heavy and how scored.

Templates decide assessments, so changing one takes the configure right and an unlimited key
(an agency cannot rewrite what it is assessed on).
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sdk import ConfigError

from ...kpi.scorecards import ScorecardTemplate, load_templates, save_template
from ...kpi.targets import known_tenant_id
from ..deps import Caller, Hub, Page, Paging
from ..errors import ApiError
from .management import Configure, _unlimited

__all__ = ["router"]

router = APIRouter(prefix="/scorecard-templates", tags=["kpi management"])


class TemplateSaved(BaseModel):
    template: ScorecardTemplate
    warnings: list[str] = Field(description="Advice that does not stop the save, e.g. too many metrics.")


@router.get("", response_model=Page[ScorecardTemplate], summary="Scorecard templates")
def get_templates(hub: Hub, caller: Caller, paging: Paging) -> Page[ScorecardTemplate]:
    with hub.ready_store.begin() as conn:
        tid = known_tenant_id(conn, caller.tenant)
        items = [] if tid is None else load_templates(conn, tid)
    return Page[ScorecardTemplate].of(items, paging)


@router.put("", response_model=TemplateSaved, summary="Add or replace a scorecard template")
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
