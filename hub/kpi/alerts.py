"""Evaluating alert rules after each compute, and the alerts they raise.

Rules (``alert_rules.py``) name a metric, a scope, a comparator, a threshold and a window
with a severity, channels and optionally a work order. ``window`` is how many consecutive
latest periods of the rule's grain must breach (``acos > 0.35`` for 3 days running). Three
more kinds watch the data itself: ``stale_data`` (a connection whose newest data, from its
sync runs' freshness, is older than ``threshold`` hours), ``sync_failed`` (at least
``threshold`` failed runs in a row) and ``data_quality`` (more than ``threshold`` findings of
one check of the data-quality report, ``hub.quality``).

One breach raises one alert: while a scope stays in breach its alert stays open and nothing
more is sent; when it recovers the alert is resolved. A new breach raises a new alert only
after the rule's cool-down since the last one, so a flapping value does not flood anyone.
Alerts are committed before they are delivered, and delivery (through apprise) records
``sent`` or ``failed`` on the alert; an open alert whose delivery failed is sent again at the
next evaluation, so a channel that is down never loses an alert.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from sdk import ConfigError, NotFound

from ..connections import audit
from ..quality import count_findings
from ..store import Store, inserted_id
from ..store.kpi_tables import kpi_fact
from ..store.management_tables import CONTRACT_VERSION, alert_rules, kpi_adjustments, kpi_alert, work_orders
from ..vault import Vault
from .alert_channels import deliver, open_channels
from .alert_rules import COMPARATORS, AlertRule, add_rule, list_rules, rule_of, update_rule
from .connection_health import connection_health
from .target_periods import period_end
from .targets import known_tenant_id, tenant_id

__all__ = [
    "RaisedAlert",
    "add_rule",
    "evaluate_alerts",
    "list_alerts",
    "list_rules",
    "set_alert_status",
    "set_work_order_status",
    "update_rule",
]

OPEN = ("open", "acknowledged")


@dataclass(frozen=True)
class Reading:
    """What a rule saw for one scope: its value, whether it breaches, and for which period."""

    scope_type: str
    scope_id: str
    value: float | None
    breach: bool
    period_start: dt.date | None = None


def _metric_readings(conn: Connection, tid: int, rule: AlertRule) -> list[Reading]:
    where = [
        kpi_fact.c.tenant_id == tid,
        kpi_fact.c.metric_id == rule.metric_id,
        kpi_fact.c.grain == rule.grain,
        kpi_fact.c.scope_type == rule.scope_type,
    ]
    if rule.scope_id is not None:
        where.append(kpi_fact.c.scope_id == rule.scope_id)
    periods = list(
        conn.execute(
            select(kpi_fact.c.period_start)
            .where(*where)
            .distinct()
            .order_by(kpi_fact.c.period_start.desc())
            .limit(rule.window)
        ).scalars()
    )
    if len(periods) < rule.window:
        return []
    values: dict[str, dict[dt.date, float | None]] = defaultdict(dict)
    rows = conn.execute(
        select(kpi_fact.c.scope_id, kpi_fact.c.period_start, kpi_fact.c.value).where(
            *where, kpi_fact.c.period_start.in_(periods)
        )
    )
    for scope_id, start, value in rows:
        # Thresholds are plain numbers and alerts keep a double: compared as one.
        values[scope_id][start] = None if value is None else float(value)
    compare = COMPARATORS[rule.comparator]
    latest = periods[0]
    readings = []
    for scope_id, seen in sorted(values.items()):
        series = [seen.get(p) for p in periods]
        breach = all(v is not None and compare(v, rule.threshold) for v in series)
        readings.append(Reading(str(rule.scope_type), scope_id, seen.get(latest), breach, latest))
    return readings


def _connection_readings(conn: Connection, tid: int, rule: AlertRule, now: dt.datetime) -> list[Reading]:
    readings = []
    for health in connection_health(conn, tid, now, name=rule.scope_id):
        if rule.kind == "sync_failed":
            failed = health.failed_in_row
            readings.append(Reading("connection", health.name, float(failed), failed >= rule.threshold))
            continue
        age = health.age_hours
        readings.append(Reading("connection", health.name, age, age is None or age > rule.threshold))
    return readings


def _quality_readings(
    conn: Connection, tid: int, rule: AlertRule, now: dt.datetime, counted: dict[str, int]
) -> list[Reading]:
    """One reading per rule: how many findings its check has (each check runs once per evaluation)."""
    assert rule.check is not None
    if rule.check not in counted:
        counted[rule.check] = count_findings(conn, tid, rule.check, now=now)
    found = counted[rule.check]
    return [Reading("check", rule.check, float(found), found > rule.threshold)]


def _exempt(conn: Connection, tid: int, reading: Reading, rule: AlertRule) -> bool:
    """Whether an exemption of the reading's shop covers its period (and metric)."""
    if reading.scope_type != "shop" or reading.period_start is None:
        return False
    rows = conn.execute(
        select(kpi_adjustments.c.grain, kpi_adjustments.c.period_start, kpi_adjustments.c.metric_id).where(
            kpi_adjustments.c.tenant_id == tid,
            kpi_adjustments.c.subject_type == "shop",
            kpi_adjustments.c.subject_id == reading.scope_id,
            kpi_adjustments.c.kind == "exempt",
        )
    )
    return any(
        start <= reading.period_start < period_end(grain, start) and metric in (None, rule.metric_id)
        for grain, start, metric in rows
    )


@dataclass(frozen=True)
class RaisedAlert:
    """An alert raised by this evaluation, and whether its channels accepted it."""

    alert_id: int
    rule: str
    scope_type: str
    scope_id: str
    value: float | None
    severity: str
    message: str
    delivery: str
    work_order_id: int | None


def _message(rule: AlertRule, reading: Reading) -> str:
    value = "never" if reading.value is None else f"{reading.value:.6g}"
    if rule.kind == "stale_data":
        return (
            f"connection {reading.scope_id}: newest data {value} hours old (limit {rule.threshold:g} hours)"
        )
    if rule.kind == "sync_failed":
        return f"connection {reading.scope_id}: {value} failed syncs in a row"
    if rule.kind == "data_quality":
        return (
            f"data-quality check {reading.scope_id} counts {value} (limit {rule.threshold:g}); "
            f"see `kpihub check --only {reading.scope_id}`"
        )
    span = f" for {rule.window} {rule.grain}s running" if rule.window > 1 else ""
    period = f" ({rule.grain} of {reading.period_start})" if reading.period_start else ""
    return (
        f"{rule.metric_id} of {reading.scope_type} {reading.scope_id} is {value}{period}, "
        f"{rule.comparator} {rule.threshold:g}{span}"
    )


def evaluate_alerts(
    store: Store, vault: Vault, *, tenant: str = "default", now: dt.datetime | None = None
) -> list[RaisedAlert]:
    """Evaluate every enabled rule; raise, resolve and deliver alerts. Call after each compute.

    Returns the alerts raised now. Open alerts whose delivery failed (or was cut off) earlier
    are sent again to their rule's current channels, so an outage loses no alert.
    """
    now = now or dt.datetime.now(dt.UTC)
    raised: list[RaisedAlert] = []
    outbox: list[tuple[RaisedAlert, list[str]]] = []
    with store.begin() as conn:
        tid = known_tenant_id(conn, tenant)
        if tid is None:
            return []
        for row in _undelivered(conn, tid):
            urls = open_channels(vault, row.channels, rule=row.rule)
            outbox.append(
                (
                    RaisedAlert(
                        row.alert_id,
                        row.rule,
                        row.scope_type,
                        row.scope_id,
                        row.value,
                        row.severity,
                        row.message,
                        row.delivery,
                        row.work_order_id,
                    ),
                    urls,
                )
            )
        counted: dict[str, int] = {}
        for row in conn.execute(
            select(alert_rules)
            .where(alert_rules.c.tenant_id == tid, alert_rules.c.enabled.is_(True))
            .order_by(alert_rules.c.id)
        ).all():
            rule = rule_of(row, [])
            if rule.kind == "metric":
                readings = _metric_readings(conn, tid, rule)
            elif rule.kind == "data_quality":
                readings = _quality_readings(conn, tid, rule, now, counted)
            else:
                readings = _connection_readings(conn, tid, rule, now)
            for reading in readings:
                alert = _track(conn, tid, row.id, rule, reading, now)
                if alert is not None:
                    raised.append(alert)
                    outbox.append((alert, open_channels(vault, row.channels, rule=row.name)))
    sent = {alert.alert_id: _send(store, alert, urls) for alert, urls in outbox}
    return [RaisedAlert(**{**alert.__dict__, "delivery": sent[alert.alert_id]}) for alert in raised]


def _undelivered(conn: Connection, tid: int) -> list[Any]:
    return list(
        conn.execute(
            select(kpi_alert, alert_rules.c.name.label("rule"), alert_rules.c.channels)
            .join(alert_rules, alert_rules.c.id == kpi_alert.c.rule_id)
            .where(
                kpi_alert.c.tenant_id == tid,
                kpi_alert.c.status == "open",
                kpi_alert.c.delivery.in_(("pending", "failed")),
            )
            .order_by(kpi_alert.c.alert_id)
        ).all()
    )


def _send(store: Store, alert: RaisedAlert, urls: list[str]) -> str:
    """Deliver one alert to its channels and record how it went: sent, failed or none."""
    status = "none"
    if urls:
        title = f"[{alert.severity}] kpihub alert {alert.rule}"
        order = f", work order {alert.work_order_id}" if alert.work_order_id else ""
        status = (
            "sent"
            if deliver(urls, title=title, body=f"{alert.message}\nalert {alert.alert_id}{order}")
            else "failed"
        )
    with store.begin() as conn:
        conn.execute(update(kpi_alert).where(kpi_alert.c.alert_id == alert.alert_id).values(delivery=status))
    return status


def _track(
    conn: Connection, tid: int, rule_id: int, rule: AlertRule, reading: Reading, now: dt.datetime
) -> RaisedAlert | None:
    """Raise, keep or resolve the alert of one rule and scope; the new alert if one was raised."""
    last = conn.execute(
        select(kpi_alert.c.alert_id, kpi_alert.c.status, kpi_alert.c.raised_at)
        .where(
            kpi_alert.c.rule_id == rule_id,
            kpi_alert.c.scope_type == reading.scope_type,
            kpi_alert.c.scope_id == reading.scope_id,
        )
        .order_by(kpi_alert.c.raised_at.desc(), kpi_alert.c.alert_id.desc())
        .limit(1)
    ).first()
    if not reading.breach or _exempt(conn, tid, reading, rule):
        if last is not None and last.status in OPEN:
            conn.execute(
                update(kpi_alert).where(kpi_alert.c.alert_id == last.alert_id).values(status="resolved")
            )
        return None
    if last is not None and last.status in OPEN:
        return None  # the same breach, already raised
    if last is not None and now - last.raised_at < dt.timedelta(minutes=rule.cooldown_minutes):
        return None
    message = _message(rule, reading)
    alert_id = inserted_id(
        conn.execute(
            kpi_alert.insert().values(
                tenant_id=tid,
                rule_id=rule_id,
                raised_at=now,
                metric_id=rule.metric_id,
                scope_type=reading.scope_type,
                scope_id=reading.scope_id,
                grain=rule.grain if rule.kind == "metric" else None,
                period_start=reading.period_start,
                value=reading.value,
                threshold=rule.threshold,
                severity=rule.severity,
                status="open",
                message=message,
                delivery="pending",
                contract_version=CONTRACT_VERSION,
            )
        )
    )
    order_id = None
    if rule.work_order:
        order_id = inserted_id(
            conn.execute(
                work_orders.insert().values(
                    tenant_id=tid,
                    alert_id=alert_id,
                    title=message,
                    assignee=rule.assignee,
                    status="open",
                    created_at=now,
                    updated_at=now,
                )
            )
        )
        conn.execute(update(kpi_alert).where(kpi_alert.c.alert_id == alert_id).values(work_order_id=order_id))
    return RaisedAlert(
        alert_id,
        rule.name,
        reading.scope_type,
        reading.scope_id,
        reading.value,
        rule.severity,
        message,
        "pending",
        order_id,
    )


def list_alerts(store: Store, *, tenant: str = "default", status: str | None = None) -> list[dict[str, Any]]:
    """Alerts, newest first, with their rule's name and their work order's status."""
    with store.begin() as conn:
        tid = known_tenant_id(conn, tenant)
        if tid is None:
            return []
        query = (
            select(
                kpi_alert,
                alert_rules.c.name.label("rule"),
                work_orders.c.status.label("work_order_status"),
                work_orders.c.assignee,
            )
            .join(alert_rules, alert_rules.c.id == kpi_alert.c.rule_id)
            .outerjoin(work_orders, work_orders.c.id == kpi_alert.c.work_order_id)
            .where(kpi_alert.c.tenant_id == tid)
            .order_by(kpi_alert.c.raised_at.desc(), kpi_alert.c.alert_id.desc())
        )
        if status is not None:
            query = query.where(kpi_alert.c.status == status)
        return [dict(r._mapping) for r in conn.execute(query)]


def set_alert_status(
    store: Store, alert_id: int, status: str, *, tenant: str = "default", actor: str = "cli"
) -> None:
    """Acknowledge or resolve an alert by hand, audited."""
    if status not in ("open", "acknowledged", "resolved"):
        raise ConfigError(f"an alert's status is open, acknowledged or resolved, not {status!r}")
    _set(store, kpi_alert, kpi_alert.c.alert_id, alert_id, {"status": status}, "alert", tenant, actor)


def set_work_order_status(
    store: Store,
    order_id: int,
    status: str,
    *,
    assignee: str | None = None,
    tenant: str = "default",
    actor: str = "cli",
) -> None:
    """Move a work order along (open → in_progress → done), optionally re-assigning it; audited."""
    if status not in ("open", "in_progress", "done"):
        raise ConfigError(f"a work order's status is open, in_progress or done, not {status!r}")
    values: dict[str, Any] = {"status": status, "updated_at": dt.datetime.now(dt.UTC)}
    if assignee is not None:
        values["assignee"] = assignee
    _set(store, work_orders, work_orders.c.id, order_id, values, "work order", tenant, actor)


def _set(
    store: Store, table: Any, key: Any, ident: int, values: dict[str, Any], what: str, tenant: str, actor: str
) -> None:
    with store.begin() as conn:
        tid = tenant_id(conn, tenant)
        done = conn.execute(update(table).where(key == ident, table.c.tenant_id == tid).values(**values))
        if done.rowcount != 1:
            raise NotFound(f"no {what} {ident} in tenant {tenant!r}")
        audit(
            conn,
            actor=actor,
            action=f"{what.replace(' ', '_')}.update",
            target=str(ident),
            detail={k: v for k, v in values.items() if k != "updated_at"},
            tenant_id=tid,
        )
