"""Targets per metric, period and scope, and how far the actual values have come towards them.

A target lives in ``kpi_target`` (a published table). ``source`` says whether someone set it
or it was decomposed from a parent target (see ``decompose.py``). ``refresh_attainment``
fills ``actual_value``, ``attainment`` and ``paced_attainment`` from ``kpi_fact``; where a
KPI has no value or a target cannot be divided by, they stay null ("not configured" / "no
value"), never 0.

Attainment is direction-aware and linear: ``actual ÷ target`` for metrics where higher is
better, and ``2 - actual ÷ target`` where lower is better (a refund rate at its target scores
1.0, at half its target 1.5, at twice its target 0). Paced attainment projects a period that
is still running: ``actual ÷ days elapsed * days in period ÷ target``, i.e. the actual against
the share of the target the elapsed days call for, for metrics that add up over days (amounts
and counts, simple or derived from them like net sales); for ratios and medians the pace is the
attainment itself. Days elapsed run from the period's first day to the as-of day, the last day
the data covers: by default yesterday in the tenant's timezone (counting basis
``tenant_timezone``). A period over by then is paced as attained; one not begun has no pace.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, bindparam, delete, select

from sdk import ConfigError, NotFound

from ..connections import audit
from ..store import Store, upsert
from ..store.kpi_tables import dim_metric, kpi_fact
from ..store.management_tables import CONTRACT_VERSION, kpi_target
from ..store.tables import tenants
from .basis import CountingBasis, current_basis
from .sales_attainment import publish_sales_attainment
from .target_periods import (
    FIRST_DAY,
    LAST_DAY,
    check_grain,
    days_elapsed,
    days_in_period,
    parse_period,
    period_end,
    supported,
)

__all__ = [
    "SCOPE_TYPES",
    "MetricInfo",
    "Target",
    "attainment",
    "check_amount",
    "delete_target",
    "known_tenant_id",
    "last_full_day",
    "list_targets",
    "metric_catalogue",
    "refresh_attainment",
    "set_target",
    "tenant_id",
    "write_targets",
]

log = logging.getLogger(__name__)

SCOPE_TYPES = ("tenant", "platform", "site", "shop", "category", "sku", "team", "person")
SALES_BASES = ("net_sales", "gmv")
"""The sales figures a sales target may be set on; ``sales_attainment`` is measured against it."""

_CENT = Decimal("0.0001")
# Units whose values do not add up over days: a month's median is no sum of daily medians.
_NOT_ADDITIVE_UNITS = frozenset({"ratio", "percent", "rate", "hours", "minutes", "days", "index"})
# Kinds whose amounts and counts add up over days: sums and counts, and what is derived from
# them (net sales = GMV - refunds). A SKU count counts SKUs over the whole period: it does not.
_ADDITIVE_KINDS = frozenset({"simple", "derived"})


@dataclass(frozen=True)
class MetricInfo:
    """What management needs to know about a metric: which way is good, and whether it adds up."""

    direction: str = "higher_is_better"
    additive: bool = True


@dataclass(frozen=True)
class Target:
    """One row of ``kpi_target`` as the API shows it."""

    metric_id: str
    grain: str
    period_start: dt.date
    scope_type: str
    scope_id: str
    target_value: Decimal
    source: str = "set"
    parent_scope_type: str | None = None
    parent_scope_id: str | None = None
    method: str | None = None
    share: float | None = None
    phase: str | None = None
    actual_value: float | None = None
    attainment: float | None = None
    paced_attainment: float | None = None

    @property
    def key(self) -> tuple[str, str, dt.date, str, str]:
        return (self.metric_id, self.grain, self.period_start, self.scope_type, self.scope_id)

    def public(self) -> dict[str, Any]:
        row = asdict(self)
        row["period_start"] = self.period_start.isoformat()
        row["target_value"] = str(self.target_value)
        return row


def check_amount(value: object, what: str = "target value") -> Decimal:
    """``value`` as an exact, non-negative Decimal with at most four decimals."""
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be a number, not {value!r}")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        raise ConfigError(f"{what} {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise ConfigError(f"{what} {value!r} must be a finite number, zero or more")
    if amount != amount.quantize(_CENT):
        raise ConfigError(f"{what} {value!r} has more than 4 decimals")
    return amount.quantize(_CENT)


def check_target_key(metric_id: str, grain: str, scope_type: str, scope_id: str) -> None:
    check_grain(grain)
    if metric_id == "sales_attainment":
        raise ConfigError(
            "sales_attainment is measured against the sales target: set the target on "
            f"{' or '.join(SALES_BASES)} instead"
        )
    if not metric_id or not metric_id.replace("_", "").isalnum() or not metric_id[0].isalpha():
        raise ConfigError(f"metric id {metric_id!r} is not a metric id (e.g. net_sales)")
    if scope_type not in SCOPE_TYPES:
        raise ConfigError(f"scope type {scope_type!r} is not one of {', '.join(SCOPE_TYPES)}")
    if not scope_id or len(scope_id) > 255:
        raise ConfigError(f"scope id {scope_id!r} must be 1 to 255 characters")


def known_tenant_id(conn: Connection, tenant: str) -> int | None:
    """The id of tenant ``tenant``, or None before anything was stored for it."""
    found = conn.execute(select(tenants.c.id).where(tenants.c.name == tenant)).scalar_one_or_none()
    return None if found is None else int(found)


def tenant_id(conn: Connection, tenant: str, *, create: bool = False) -> int:
    """The id of tenant ``tenant``; created when ``create``, else ``NotFound``."""
    found = conn.execute(select(tenants.c.id).where(tenants.c.name == tenant)).scalar_one_or_none()
    if found is not None:
        return int(found)
    if create:
        from ..connections import ensure_tenant

        return ensure_tenant(conn, tenant)
    raise NotFound(f"no tenant named {tenant!r}")


def write_targets(conn: Connection, tid: int, targets: Sequence[Target], *, actor: str) -> None:
    """Upsert ``targets`` into ``kpi_target`` inside the caller's transaction."""
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            **asdict(t),
            "tenant_id": tid,
            "contract_version": CONTRACT_VERSION,
            "updated_at": now,
            "updated_by": actor,
        }
        for t in targets
    ]
    upsert(conn, kpi_target, rows)


def set_target(
    store: Store,
    *,
    metric_id: str,
    grain: str,
    period: str | dt.date,
    scope_type: str,
    scope_id: str,
    value: object,
    tenant: str = "default",
    actor: str = "cli",
    known_metrics: Sequence[str] | None = None,
) -> Target:
    """Set one target by hand (``source`` = set), audited. Changes nothing on a bad argument."""
    check_target_key(metric_id, grain, scope_type, scope_id)
    if known_metrics is not None and metric_id not in known_metrics:
        raise ConfigError(f"unknown metric {metric_id!r}; known metrics: {', '.join(sorted(known_metrics))}")
    target = Target(
        metric_id=metric_id,
        grain=grain,
        period_start=parse_period(grain, period),
        scope_type=scope_type,
        scope_id=scope_id,
        target_value=check_amount(value),
    )
    with store.begin() as conn:
        tid = tenant_id(conn, tenant, create=True)
        write_targets(conn, tid, [target], actor=actor)
        audit(
            conn,
            actor=actor,
            action="target.set",
            target="/".join(str(part) for part in target.key),
            detail={"target_value": str(target.target_value)},
            tenant_id=tid,
        )
    return target


def delete_target(
    store: Store,
    *,
    metric_id: str,
    grain: str,
    period: str | dt.date,
    scope_type: str,
    scope_id: str,
    tenant: str = "default",
    actor: str = "cli",
) -> Target:
    """Delete one target, audited with what it was; ``NotFound`` when there is none.

    Targets decomposed from it are their own rows and stay (delete them one by one, or
    decompose again); attainment and scorecards drop it on their next refresh.
    """
    check_target_key(metric_id, grain, scope_type, scope_id)
    # Any year: a target stored before periods were checked against the range can go too.
    start = parse_period(grain, period, any_year=True)
    with store.begin() as conn:
        tid = known_tenant_id(conn, tenant)
        key = (
            kpi_target.c.tenant_id == tid,
            kpi_target.c.metric_id == metric_id,
            kpi_target.c.grain == grain,
            kpi_target.c.period_start == start,
            kpi_target.c.scope_type == scope_type,
            kpi_target.c.scope_id == scope_id,
        )
        row = None if tid is None else conn.execute(select(kpi_target).where(*key)).first()
        if row is None or tid is None:
            raise NotFound(f"no {metric_id} target for {scope_type} {scope_id!r} in {grain} {period}")
        target = _target(row)
        conn.execute(delete(kpi_target).where(*key))
        audit(
            conn,
            actor=actor,
            action="target.delete",
            target="/".join(str(part) for part in target.key),
            detail={"before": {"target_value": str(target.target_value), "source": target.source}},
            tenant_id=tid,
        )
    return target


def _target(row: Any) -> Target:
    return Target(
        metric_id=row.metric_id,
        grain=row.grain,
        period_start=row.period_start,
        scope_type=row.scope_type,
        scope_id=row.scope_id,
        target_value=Decimal(row.target_value).quantize(_CENT),
        source=row.source,
        parent_scope_type=row.parent_scope_type,
        parent_scope_id=row.parent_scope_id,
        method=row.method,
        share=row.share,
        phase=row.phase,
        actual_value=row.actual_value,
        attainment=row.attainment,
        paced_attainment=row.paced_attainment,
    )


def load_targets(
    conn: Connection,
    tid: int,
    *,
    metric_id: str | None = None,
    grain: str | None = None,
    period_start: dt.date | None = None,
    scope_type: str | None = None,
) -> list[Target]:
    query = select(kpi_target).where(kpi_target.c.tenant_id == tid)
    for column, wanted in (
        (kpi_target.c.metric_id, metric_id),
        (kpi_target.c.grain, grain),
        (kpi_target.c.period_start, period_start),
        (kpi_target.c.scope_type, scope_type),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    order = (kpi_target.c.metric_id, kpi_target.c.grain, kpi_target.c.period_start)
    query = query.order_by(*order, kpi_target.c.scope_type, kpi_target.c.scope_id)
    return [_target(row) for row in conn.execute(query)]


def list_targets(
    store: Store,
    *,
    tenant: str = "default",
    metric_id: str | None = None,
    grain: str | None = None,
    period: str | dt.date | None = None,
    scope_type: str | None = None,
) -> list[Target]:
    """Targets of a tenant, optionally of one metric, grain, period or scope type."""
    start = None
    if period is not None:
        if grain is None:
            raise ConfigError("give the grain with the period, e.g. --grain quarter --period 2026-Q1")
        start = parse_period(grain, period)
    with store.begin() as conn:
        tid = known_tenant_id(conn, tenant)
        if tid is None:
            return []
        return load_targets(
            conn, tid, metric_id=metric_id, grain=grain, period_start=start, scope_type=scope_type
        )


def metric_catalogue(conn: Connection) -> dict[str, MetricInfo]:
    """Direction and additivity of every metric the engine published in ``dim_metric``."""
    return {
        row.metric_id: MetricInfo(
            direction=row.direction,
            additive=row.kind in _ADDITIVE_KINDS and row.unit not in _NOT_ADDITIVE_UNITS,
        )
        for row in conn.execute(
            select(dim_metric.c.metric_id, dim_metric.c.direction, dim_metric.c.kind, dim_metric.c.unit)
        )
    }


def attainment(actual: float | None, target: float | Decimal | None, direction: str) -> float | None:
    """Direction-aware, linear attainment; null when there is no actual or no usable target."""
    if actual is None or target is None or float(target) == 0:
        return None
    ratio = float(actual) / float(target)
    return 2.0 - ratio if direction == "lower_is_better" else ratio


def paced(
    actual: float | None, target: Decimal, direction: str, *, additive: bool, elapsed: int, days: int
) -> float | None:
    """Attainment of ``actual`` projected from ``elapsed`` days to the whole ``days`` period;
    null for a period not begun (nothing elapsed to project from)."""
    if elapsed == 0:
        return None
    if not additive or actual is None:
        return attainment(actual, target, direction)
    return attainment(actual / elapsed * days, target, direction)


def _yesterday(conn: Connection, tid: int | None, at: dt.datetime | None) -> dt.date:
    basis = CountingBasis() if tid is None else current_basis(conn, tid).settings
    moment = at or dt.datetime.now(dt.UTC)
    return moment.astimezone(ZoneInfo(basis.tenant_timezone)).date() - dt.timedelta(days=1)


def last_full_day(store: Store, *, tenant: str = "default", at: dt.datetime | None = None) -> dt.date:
    """The day before ``at`` (default now) in the tenant's timezone: the as-of day by default.

    A tenant in Shanghai whose compute runs at 20:00 UTC is already on the next day, so its
    last whole day of data is today's UTC date, not yesterday's.
    """
    with store.begin() as conn:
        return _yesterday(conn, known_tenant_id(conn, tenant), at)


def fact_values(
    conn: Connection, tid: int, metric_id: str, grain: str, start: dt.date
) -> dict[tuple[str, str], float | None]:
    """``kpi_fact`` values of one metric and period by (scope type, scope id).

    The tenant scope is also keyed as ``("tenant", "*")`` because a tenant has one value
    whatever id the engine gives it; a shop's category is keyed ``platform:shop/category``.
    """
    rows = conn.execute(
        select(
            kpi_fact.c.scope_type,
            kpi_fact.c.scope_id,
            kpi_fact.c.platform,
            kpi_fact.c.shop_id,
            kpi_fact.c.value,
        ).where(
            and_(
                kpi_fact.c.tenant_id == tid,
                kpi_fact.c.metric_id == metric_id,
                kpi_fact.c.grain == grain,
                kpi_fact.c.period_start == start,
            )
        )
    )
    values: dict[tuple[str, str], float | None] = {}
    for row in rows:
        values[(row.scope_type, row.scope_id)] = row.value
        if row.scope_type == "tenant":
            values[("tenant", "*")] = row.value
        elif row.scope_type == "category" and row.shop_id:
            values[("category", f"{row.platform}:{row.shop_id}/{row.scope_id}")] = row.value
    return values


def actual_for(
    values: Mapping[tuple[str, str], float | None], scope_type: str, scope_id: str
) -> float | None:
    if scope_type == "tenant":
        return values.get(("tenant", scope_id), values.get(("tenant", "*")))
    return values.get((scope_type, scope_id))


def refresh_attainment(
    store: Store,
    *,
    tenant: str = "default",
    as_of: dt.date | None = None,
    metrics: Mapping[str, MetricInfo] | None = None,
    publish: bool = True,
    skipped: list[str] | None = None,
) -> int:
    """Fill actual values, attainment and paced attainment of every target from ``kpi_fact``,
    and (with ``publish``) write ``sales_attainment`` facts from the sales targets.

    ``as_of`` is the last day the data covers (default: yesterday in the tenant's timezone),
    which sets how much of a running period has elapsed. Returns the number of targets refreshed.

    A target whose period lies outside the supported range (stored before periods were
    checked) is left as it is, logged, and described in ``skipped`` when given: one bad row
    must not stop every run of the tenant.
    """
    with store.begin() as conn:
        tid = known_tenant_id(conn, tenant)
        if tid is None:
            return 0
        as_of = as_of or _yesterday(conn, tid, None)
        catalogue = {**metric_catalogue(conn), **(metrics or {})}
        targets = load_targets(conn, tid)
        groups: dict[tuple[str, str, dt.date], list[Target]] = {}
        for t in targets:
            if not supported(t.period_start):
                reason = (
                    f"target {'/'.join(str(part) for part in t.key)} skipped: its period is outside "
                    f"the supported range {FIRST_DAY} to {LAST_DAY}; delete it and set it again"
                )
                log.warning("tenant %s: %s", tenant, reason)
                if skipped is not None:
                    skipped.append(reason)
                continue
            groups.setdefault((t.metric_id, t.grain, t.period_start), []).append(t)
        refreshed: list[Target] = []
        targets_in_order: list[Target] = []
        for (metric_id, grain, start), members in groups.items():
            info = catalogue.get(metric_id, MetricInfo())
            values = fact_values(conn, tid, metric_id, grain, start)
            elapsed = days_elapsed(grain, start, as_of)
            days = days_in_period(grain, start)
            finished = as_of >= period_end(grain, start) - dt.timedelta(days=1)
            for t in members:
                actual = actual_for(values, t.scope_type, t.scope_id)
                reached = attainment(actual, t.target_value, info.direction)
                pace = (
                    reached
                    if finished
                    else paced(
                        actual,
                        t.target_value,
                        info.direction,
                        additive=info.additive,
                        elapsed=elapsed,
                        days=days,
                    )
                )
                refreshed.append(replace(t, actual_value=actual, attainment=reached, paced_attainment=pace))
                targets_in_order.append(t)
        # Only rows whose measured values moved are written, and their updated_at with them:
        # sinks push what changed since their watermark. Who set the target stays as it was.
        measured = ("actual_value", "attainment", "paced_attainment")
        moved = [
            t
            for t, old in zip(refreshed, targets_in_order, strict=True)
            if tuple(getattr(t, m) for m in measured) != tuple(getattr(old, m) for m in measured)
        ]
        if moved:
            key = ("metric_id", "grain", "period_start", "scope_type", "scope_id")
            now = dt.datetime.now(dt.UTC)
            conn.execute(
                kpi_target.update()
                .where(kpi_target.c.tenant_id == tid, *(kpi_target.c[k] == bindparam(f"k_{k}") for k in key))
                .values(
                    actual_value=bindparam("v_actual"),
                    attainment=bindparam("v_attainment"),
                    paced_attainment=bindparam("v_paced"),
                    updated_at=now,
                ),
                [
                    {
                        **{f"k_{k}": getattr(t, k) for k in key},
                        "v_actual": t.actual_value,
                        "v_attainment": t.attainment,
                        "v_paced": t.paced_attainment,
                    }
                    for t in moved
                ],
            )
        if publish:
            publish_sales_attainment(conn, tid, tenant, refreshed)
    return len(refreshed)
