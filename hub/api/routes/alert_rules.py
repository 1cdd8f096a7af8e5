"""``/alert-rules``: when an alert is raised and where it is sent (channels are write-only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from sdk import ConfigError

from ...kpi.alert_rules import AlertRule, add_rule, list_rules, update_rule
from ..access import Permission, Principal
from ..deps import Caller, Hub, ObjectId, Page, Paging, require
from ..errors import ApiError, conflict

__all__ = ["router"]

router = APIRouter(prefix="/alert-rules", tags=["alerts"])
Configure = Annotated[Principal, Depends(require(Permission.CONFIGURE))]


class AlertRulePublic(BaseModel):
    id: int
    name: str
    kind: str
    metric_id: str | None
    check: str | None = Field(default=None, description="The data-quality check a data_quality rule counts.")
    scope_type: str | None
    scope_id: str | None
    grain: str
    comparator: str
    threshold: float
    window: int
    severity: str
    cooldown_minutes: int
    work_order: bool
    assignee: str | None
    enabled: bool
    channels: list[str] = Field(description="Where alerts go, with every secret masked.")


class AlertRuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[Annotated[str, Field(max_length=2000)]] | None = Field(
        default=None, max_length=20, description="Write-only apprise URLs."
    )
    enabled: bool | None = None


def _rules(hub: Hub, caller: Principal) -> list[dict[str, Any]]:
    rules = list_rules(hub.ready_store, hub.vault, tenant=caller.tenant)
    if caller.scope.unlimited:
        return rules
    visible = []
    for rule in rules:
        platform, _, shop = str(rule.get("scope_id") or "").partition(":")
        if rule["scope_type"] == "shop" and caller.scope.allows_shop(platform, shop):
            visible.append(rule)
    return visible


def _one(hub: Hub, caller: Principal, rule_id: int) -> dict[str, Any]:
    for rule in _rules(hub, caller):
        if rule["id"] == rule_id:
            return rule
    raise ApiError(404, f"no alert rule {rule_id!r} here")


def _unlimited(caller: Principal) -> None:
    if not caller.scope.unlimited:
        raise ApiError(403, "a key limited to some shops cannot change alert rules")


@router.get("", response_model=Page[AlertRulePublic], summary="List alert rules")
def get_rules(hub: Hub, caller: Caller, paging: Paging) -> Page[AlertRulePublic]:
    return Page[AlertRulePublic].of([AlertRulePublic.model_validate(r) for r in _rules(hub, caller)], paging)


@router.post(
    "",
    response_model=AlertRulePublic,
    status_code=201,
    responses=conflict("A rule of that name exists"),
    summary="Add an alert rule",
)
def create_rule(hub: Hub, caller: Configure, body: AlertRule) -> AlertRulePublic:
    _unlimited(caller)
    try:
        rule_id = add_rule(hub.ready_store, hub.vault, body, tenant=caller.tenant, actor=caller.actor)
    except ConfigError as exc:
        status = 409 if "already exists" in str(exc) else 422
        field = "body.name" if status == 409 else "body.channels"
        raise ApiError(status, str(exc), [(field, str(exc))]) from None
    return AlertRulePublic.model_validate(_one(hub, caller, rule_id))


@router.patch("/{rule_id}", response_model=AlertRulePublic, summary="Change a rule's channels or switch it")
def patch_rule(hub: Hub, caller: Configure, rule_id: ObjectId, body: AlertRuleUpdate) -> AlertRulePublic:
    _unlimited(caller)
    rule = _one(hub, caller, rule_id)
    if body.channels is None and body.enabled is None:
        raise ApiError(422, "say what to change: channels or enabled", [("body", "empty")])
    try:
        update_rule(
            hub.ready_store,
            hub.vault,
            rule["name"],
            channels=body.channels,
            enabled=body.enabled,
            tenant=caller.tenant,
            actor=caller.actor,
        )
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("body.channels", str(exc))]) from None
    return AlertRulePublic.model_validate(_one(hub, caller, rule_id))
