"""``/data-quality``: what makes the tenant's KPI numbers incomplete or doubtful (``kpihub check``).

A key limited to some shops sees the findings about its shops and its connections, and the
findings about the tenant's shared inputs (exchange rates, SKU costs, stock held for no shop):
those feed its shops' numbers too. Findings about KPI values that add up several shops are
left out, as ``/kpis`` leaves those values out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ...quality import CHECK_NAMES, DEFAULT_STALE_HOURS, Finding, run_checks
from ..access import Principal
from ..deps import Caller, Hub, Page, Paging
from ..errors import ApiError
from ..scoping import visible_connections

__all__ = ["router"]

router = APIRouter(tags=["data quality"])


class FindingPublic(BaseModel):
    check: str
    severity: str = Field(
        description="error: a KPI value leaves something out; warning: it may be late or shifted."
    )
    count: int
    summary: str
    example: str | None
    fix: str = Field(description="The command or setting that fixes it.")
    details: dict[str, Any]
    scope: str = Field(
        description="tenant (shared inputs: exchange rates, SKU costs, stock of no shop), shop, "
        "connection, or aggregate (KPI values of several shops)."
    )
    scope_id: str | None = Field(description="platform:shop_id for a shop, the name of a connection.")


class DataQualityPage(Page[FindingPublic]):
    """One page of the findings, with what the report was run on."""

    tenant: str
    base_currency: str
    basis_version: int | None
    checked_at: dt.datetime
    stale_hours: float
    unavailable: dict[str, str] = Field(description="Checks that could not run on this store, with why.")


def _visible(hub: Hub, caller: Principal) -> Callable[[Finding], bool]:
    if caller.scope.unlimited:
        return lambda finding: True
    names = {info.name for info in visible_connections(hub, caller)}

    def visible(finding: Finding) -> bool:
        if finding.scope == "tenant":
            return True
        if finding.scope == "shop":
            platform, _, shop_id = str(finding.scope_id).partition(":")
            return caller.scope.allows_shop(platform, shop_id)
        return finding.scope == "connection" and finding.scope_id in names

    return visible


@router.get("/data-quality", response_model=DataQualityPage, summary="Data-quality findings")
def get_data_quality(
    hub: Hub,
    caller: Caller,
    paging: Paging,
    check: Annotated[
        list[str] | None,
        Query(max_length=len(CHECK_NAMES), description=f"Only these: {', '.join(CHECK_NAMES)}."),
    ] = None,
    stale_hours: Annotated[
        float, Query(gt=0, le=24 * 365, description="A connection with no newer data is stale.")
    ] = DEFAULT_STALE_HOURS,
) -> DataQualityPage:
    unknown = [name for name in check or [] if name not in CHECK_NAMES]
    if unknown:
        why = f"unknown check(s); the checks are: {', '.join(CHECK_NAMES)}"
        raise ApiError(422, why, [("query.check", f"{name[:64]!r} is no check") for name in unknown])
    report = run_checks(hub.ready_store, caller.tenant, checks=check, stale_hours=stale_hours)
    visible = _visible(hub, caller)
    items = [FindingPublic.model_validate(f.as_dict()) for f in report.findings if visible(f)]
    return DataQualityPage(
        items=items[paging.offset : paging.offset + paging.limit],
        total=len(items),
        limit=paging.limit,
        offset=paging.offset,
        tenant=report.tenant,
        base_currency=report.base_currency,
        basis_version=report.basis_version,
        checked_at=report.checked_at,
        stale_hours=report.stale_hours,
        unavailable=report.unavailable,
    )
