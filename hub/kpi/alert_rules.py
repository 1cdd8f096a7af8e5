"""Alert rules: what to watch, when it breaches, whom to tell.

A rule is a metric, a scope, a comparator, a threshold and a window, with a severity, channels
(apprise URLs, stored encrypted) and optionally a work order. ``stale_data`` and
``sync_failed`` rules watch connections instead of a metric; ``data_quality`` rules watch one
check of the data-quality report (``hub.quality``). ``alerts.py`` evaluates them.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select

from sdk import ConfigError, NotFound

from ..connections import audit
from ..errors import describe_validation
from ..quality.finding import CHECK_NAMES
from ..store import Store, inserted_id
from ..store.management_tables import alert_rules
from ..vault import Vault
from .alert_channels import check_channels, mask, open_channels, seal_channels
from .targets import SCOPE_TYPES, known_tenant_id, tenant_id

__all__ = ["COMPARATORS", "AlertRule", "add_rule", "list_rules", "parse_rule", "rule_of", "update_rule"]

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
OPEN = ("open", "acknowledged")


class AlertRule(BaseModel):
    """An alert rule as an admin writes it (channels are apprise URLs, stored encrypted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    kind: Literal["metric", "stale_data", "sync_failed", "data_quality"] = "metric"
    metric_id: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]*$")
    check: str | None = Field(
        None, description="data_quality rules: the check whose findings are counted, e.g. missing_fx"
    )
    scope_type: str | None = None
    scope_id: str | None = Field(None, min_length=1, max_length=255)
    grain: Literal["day", "week", "month", "quarter", "year"] = "day"
    comparator: Literal[">", ">=", "<", "<=", "==", "!="] = ">"
    threshold: float
    window: int = Field(1, ge=1, le=90, description="consecutive latest periods that must breach")
    severity: Literal["info", "warning", "critical"] = "warning"
    cooldown_minutes: int = Field(24 * 60, ge=0, le=60 * 24 * 90)
    # Twenty channels of 2,000 characters each: a notification URL is short, and a rule with a
    # flood of them would be copied into every audit entry and every delivery.
    channels: list[Annotated[str, Field(max_length=2000)]] = Field(
        default_factory=list, max_length=20, repr=False
    )
    work_order: bool = False
    assignee: str | None = Field(None, max_length=128)

    @model_validator(mode="after")
    def _consistent(self) -> AlertRule:
        if self.kind != "data_quality" and self.check is not None:
            raise ValueError("check belongs to data_quality rules only")
        if self.kind == "metric":
            if self.metric_id is None or self.scope_type is None:
                raise ValueError("a metric rule names metric_id and scope_type")
            if self.scope_type not in SCOPE_TYPES:
                raise ValueError(f"scope_type {self.scope_type!r} is not one of {', '.join(SCOPE_TYPES)}")
        elif self.kind == "data_quality":
            if self.check not in CHECK_NAMES:
                raise ValueError(f"a data_quality rule names a check: one of {', '.join(CHECK_NAMES)}")
            if self.metric_id is not None or self.scope_type is not None or self.scope_id is not None:
                raise ValueError("a data_quality rule watches the whole tenant: give no metric_id or scope")
            if self.threshold < 0:
                raise ValueError("threshold must be 0 or more (findings' count; 0: any finding raises)")
        else:
            if self.metric_id is not None or self.scope_type not in (None, "connection"):
                raise ValueError(
                    f"a {self.kind} rule watches connections: give scope_id (a connection) or none"
                )
            if self.threshold <= 0:
                unit = "hours" if self.kind == "stale_data" else "failed runs in a row"
                raise ValueError(f"threshold must be more than 0 ({unit})")
        return self


def parse_rule(values: Any) -> AlertRule:
    if not isinstance(values, dict):
        raise ConfigError("an alert rule must be a mapping with name, metric_id, scope_type, threshold …")
    try:
        return AlertRule.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{path}: {why}" for path, why in describe_validation(exc))
        raise ConfigError(f"invalid alert rule: {problems}") from None


def add_rule(store: Store, vault: Vault, values: Any, *, tenant: str = "default", actor: str = "cli") -> int:
    """Validate and store an alert rule, its channel URLs encrypted; returns its id."""
    rule = values if isinstance(values, AlertRule) else parse_rule(values)
    check_channels(rule.channels)
    with store.begin() as conn:
        tid = tenant_id(conn, tenant, create=True)
        exists = conn.execute(
            select(alert_rules.c.id).where(alert_rules.c.tenant_id == tid, alert_rules.c.name == rule.name)
        ).first()
        if exists:
            raise ConfigError(f"an alert rule named {rule.name!r} already exists in tenant {tenant!r}")
        stored = rule.model_dump(exclude={"channels", "window", "check"})
        if rule.kind == "data_quality":
            # A data_quality rule keeps its check's name in metric_id: the column that says
            # what a rule watches (``rule_of`` reads it back as the check).
            stored["metric_id"] = rule.check
        rule_id = inserted_id(
            conn.execute(
                alert_rules.insert().values(
                    tenant_id=tid,
                    **stored,
                    window_periods=rule.window,
                    channels=seal_channels(vault, rule.channels),
                    enabled=True,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
        )
        audit(
            conn,
            actor=actor,
            action="alert_rule.create",
            target=rule.name,
            detail={"kind": rule.kind, "channels": [mask(u) for u in rule.channels]},
            tenant_id=tid,
        )
    return rule_id


def rule_of(row: Any, urls: list[str]) -> AlertRule:
    quality = row.kind == "data_quality"
    return AlertRule(
        name=row.name,
        kind=row.kind,
        metric_id=None if quality else row.metric_id,
        check=row.metric_id if quality else None,
        scope_type=row.scope_type,
        scope_id=row.scope_id,
        grain=row.grain or "day",
        comparator=row.comparator or ">",
        threshold=row.threshold,
        window=row.window_periods,
        severity=row.severity,
        cooldown_minutes=row.cooldown_minutes,
        channels=urls,
        work_order=row.work_order,
        assignee=row.assignee,
    )


def list_rules(store: Store, vault: Vault, *, tenant: str = "default") -> list[dict[str, Any]]:
    """Every rule as shown to people: channels masked."""
    with store.begin() as conn:
        tid = known_tenant_id(conn, tenant)
        if tid is None:
            return []
        rows = conn.execute(
            select(alert_rules).where(alert_rules.c.tenant_id == tid).order_by(alert_rules.c.id)
        )
        shown = []
        for row in rows:
            rule = rule_of(row, open_channels(vault, row.channels, rule=row.name))
            public = rule.model_dump(exclude={"channels"})
            shown.append(
                {"id": row.id, **public, "channels": [mask(u) for u in rule.channels], "enabled": row.enabled}
            )
    return shown


def update_rule(
    store: Store,
    vault: Vault,
    name: str,
    *,
    channels: list[str] | None = None,
    enabled: bool | None = None,
    tenant: str = "default",
    actor: str = "cli",
) -> None:
    """Point a rule at new channels (stored encrypted) and/or switch it on or off, audited."""
    values: dict[str, Any] = {}
    if channels is not None:
        values["channels"] = seal_channels(vault, check_channels(channels))
    if enabled is not None:
        values["enabled"] = enabled
    if not values:
        raise ConfigError("say what to change: channels or enabled")
    with store.begin() as conn:
        tid = tenant_id(conn, tenant)
        done = conn.execute(
            alert_rules.update()
            .where(alert_rules.c.tenant_id == tid, alert_rules.c.name == name)
            .values(**values)
        )
        if done.rowcount != 1:
            raise NotFound(f"no alert rule named {name!r} in tenant {tenant!r}")
        detail: dict[str, Any] = {"enabled": enabled}
        if channels is not None:
            detail["channels"] = [mask(u) for u in channels]
        audit(conn, actor=actor, action="alert_rule.update", target=name, detail=detail, tenant_id=tid)
