"""Scorecards: role templates of weighted KPIs, scored per person or team and period.

A template (e.g. operations: ROAS, sales attainment, refund rate) lists 3 to 5 metrics whose
weights add up to exactly 100; more than 7 dilutes attention and is warned about. Each
metric is scored linearly on its attainment (see ``targets.attainment``; lower-is-better
metrics are inverted there): below ``floor`` it scores 0, otherwise ``min(attainment, cap)
* 100``. The subject's total is the weighted mean of the metrics that could be scored: a
metric with no target reads "not configured" (null) and is left out of the total rather
than counted as 0. ``sales_attainment`` is measured on the sales figure the target was set
on (``net_sales`` by default, or ``gmv``: a basis choice).

Manual adjustments (``adjust``) re-weight a metric or exempt a metric or a whole card for a
subject and period, with a reason; they are audited and the scorecard rows they touch say
``adjusted`` and why. A metric flagged by a paired-metric guardrail keeps its score but
earns nothing above target (at most 100).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import Connection, delete, select

from sdk import ConfigError

from ..connections import audit
from ..errors import describe_validation
from ..store import Store, inserted_id, upsert
from ..store.management_tables import CONTRACT_VERSION, kpi_adjustments, kpi_scorecard, scorecard_templates
from ..store.tables import standard_tables
from .guardrails import DEFAULT_PAIRS, Pair, load_flags
from .target_periods import parse_period, period_label, previous_period
from .targets import attainment, fact_values, known_tenant_id, load_targets, metric_catalogue, tenant_id

__all__ = [
    "Adjustment",
    "MetricRule",
    "ScoreRow",
    "ScorecardTemplate",
    "adjust",
    "adjustment_rows",
    "load_templates",
    "metric_score",
    "parse_template",
    "save_template",
    "score",
    "scorecard_rows",
]

SALES_ATTAINMENT = "sales_attainment"


class MetricRule(BaseModel):
    """One metric of a template: its weight and how its attainment turns into a score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric_id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    weight: Annotated[Decimal, Field(gt=0, max_digits=6, decimal_places=2)]
    direction: Literal["higher_is_better", "lower_is_better"] | None = None
    """Which way is good; by default the metric's own direction from ``dim_metric``."""
    floor: float = Field(0.0, ge=0, description="attainment below which the metric scores 0")
    cap: float = Field(1.2, gt=0, le=5, description="the most attainment that counts")

    @model_validator(mode="after")
    def _floor_below_cap(self) -> MetricRule:
        if self.floor >= self.cap:
            raise ValueError(f"floor {self.floor} must be below cap {self.cap}")
        return self


class ScorecardTemplate(BaseModel):
    """A role's scorecard: which metrics, how heavy, how scored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template_id: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    role: str = Field(min_length=1, max_length=64, description="staff with this role get this card")
    subject_type: Literal["person", "team"] = "person"
    sales_basis: Literal["net_sales", "gmv"] = "net_sales"
    metrics: list[MetricRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights_add_up(self) -> ScorecardTemplate:
        ids = [m.metric_id for m in self.metrics]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"metrics appear more than once: {', '.join(twice)}")
        total = sum((m.weight for m in self.metrics), Decimal(0))
        if total != 100:
            raise ValueError(f"weights add up to {total.normalize():f}, not 100; adjust them so they do")
        return self

    def warnings(self) -> list[str]:
        count = len(self.metrics)
        if count > 7:
            return [f"{count} metrics: more than 7 dilutes attention; 3 to 5 are recommended"]
        if not 3 <= count <= 5:
            return [f"{count} metrics: 3 to 5 are recommended"]
        return []


def parse_template(values: Any) -> ScorecardTemplate:
    """A template from a mapping, or a ``ConfigError`` naming every problem."""
    if not isinstance(values, dict):
        raise ConfigError("a scorecard template must be a mapping with template_id, role and metrics")
    try:
        return ScorecardTemplate.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{path}: {why}" for path, why in describe_validation(exc))
        raise ConfigError(f"invalid scorecard template: {problems}") from None


def save_template(
    store: Store,
    values: Any,
    *,
    tenant: str = "default",
    actor: str = "cli",
    known_metrics: Iterable[str] | None = None,
) -> tuple[ScorecardTemplate, list[str]]:
    """Validate and store (or replace) a template; returns it with its warnings."""
    template = values if isinstance(values, ScorecardTemplate) else parse_template(values)
    if known_metrics is not None:
        known = {*known_metrics, SALES_ATTAINMENT}
        unknown = [m.metric_id for m in template.metrics if m.metric_id not in known]
        if unknown:
            raise ConfigError(f"invalid scorecard template: unknown metrics {', '.join(unknown)}")
    row = {
        "role": template.role,
        "subject_type": template.subject_type,
        "definition": template.model_dump(mode="json"),
        "updated_at": dt.datetime.now(dt.UTC),
    }
    with store.begin() as conn:
        tid = tenant_id(conn, tenant, create=True)
        key = (scorecard_templates.c.tenant_id == tid) & (
            scorecard_templates.c.template_id == template.template_id
        )
        if conn.execute(select(scorecard_templates.c.template_id).where(key)).first():
            conn.execute(scorecard_templates.update().where(key).values(**row))
        else:
            conn.execute(
                scorecard_templates.insert().values(tenant_id=tid, template_id=template.template_id, **row)
            )
        audit(
            conn,
            actor=actor,
            action="scorecard.template",
            target=template.template_id,
            detail={"metrics": [m.metric_id for m in template.metrics]},
            tenant_id=tid,
        )
    return template, template.warnings()


def load_templates(conn: Connection, tid: int) -> list[ScorecardTemplate]:
    rows = conn.execute(
        select(scorecard_templates.c.definition)
        .where(scorecard_templates.c.tenant_id == tid)
        .order_by(scorecard_templates.c.template_id)
    )
    return [ScorecardTemplate.model_validate(r.definition) for r in rows]


@dataclass(frozen=True)
class Adjustment:
    subject_type: str
    subject_id: str
    kind: str
    metric_id: str | None
    weight: float | None
    reason: str


def adjust(
    store: Store,
    *,
    subject_type: str,
    subject_id: str,
    grain: str,
    period: str | dt.date,
    kind: str,
    reason: str,
    metric_id: str | None = None,
    weight: float | None = None,
    tenant: str = "default",
    actor: str = "cli",
) -> int:
    """Record a temporary re-weighting or exemption for one subject and period, audited."""
    start = parse_period(grain, period)
    if subject_type not in ("person", "team", "shop"):
        raise ConfigError(f"adjustments are for a person, team or shop, not {subject_type!r}")
    if kind not in ("reweight", "exempt"):
        raise ConfigError(f"an adjustment is reweight or exempt, not {kind!r}")
    if not reason.strip():
        raise ConfigError("give a reason for the adjustment; it is shown on the scorecard and audited")
    if kind == "reweight" and (metric_id is None or weight is None or weight < 0):
        raise ConfigError("a reweight names the metric and its temporary weight (zero or more)")
    if kind == "exempt" and weight is not None:
        raise ConfigError("an exemption takes no weight")
    with store.begin() as conn:
        tid = tenant_id(conn, tenant, create=True)
        adjustment_id = inserted_id(
            conn.execute(
                kpi_adjustments.insert().values(
                    tenant_id=tid,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    grain=grain,
                    period_start=start,
                    kind=kind,
                    metric_id=metric_id,
                    weight=weight,
                    reason=reason.strip(),
                    actor=actor,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
        )
        audit(
            conn,
            actor=actor,
            action=f"scorecard.{kind}",
            target=f"{subject_type}:{subject_id}/{grain}/{period_label(grain, start)}",
            detail={"metric_id": metric_id, "weight": weight, "reason": reason.strip(), "id": adjustment_id},
            tenant_id=tid,
        )
    return adjustment_id


def load_adjustments(conn: Connection, tid: int, grain: str, start: dt.date) -> list[Adjustment]:
    rows = conn.execute(
        select(kpi_adjustments)
        .where(
            kpi_adjustments.c.tenant_id == tid,
            kpi_adjustments.c.grain == grain,
            kpi_adjustments.c.period_start == start,
        )
        .order_by(kpi_adjustments.c.id)
    )
    return [Adjustment(r.subject_type, r.subject_id, r.kind, r.metric_id, r.weight, r.reason) for r in rows]


def metric_score(attained: float | None, rule: MetricRule) -> float | None:
    """The 0 to cap*100 score of one metric: linear on attainment, 0 below the floor."""
    if attained is None:
        return None
    if attained < rule.floor:
        return 0.0
    return max(0.0, min(attained, rule.cap)) * 100


@dataclass(frozen=True)
class ScoreRow:
    """One row of ``kpi_scorecard``."""

    subject_type: str
    subject_id: str
    template_id: str
    metric_id: str
    weight: float
    actual_value: float | None
    target_value: float | None
    attainment: float | None
    score: float | None
    total_score: float | None
    adjusted: bool
    adjustment_reason: str | None
    guardrail: str | None


def _subjects(conn: Connection, tid: int, template: ScorecardTemplate) -> list[str]:
    if template.subject_type == "team":
        teams = standard_tables["teams"]
        return list(
            conn.execute(
                select(teams.c.team_id).where(teams.c.tenant_id == tid).order_by(teams.c.team_id)
            ).scalars()
        )
    staff = standard_tables["staff"]
    query = select(staff.c.staff_id).where(staff.c.tenant_id == tid, staff.c.role == template.role)
    return list(conn.execute(query.order_by(staff.c.staff_id)).scalars())


def score(
    store: Store,
    *,
    grain: str,
    period: str | dt.date,
    tenant: str = "default",
    pairs: Iterable[Pair] = DEFAULT_PAIRS,
    tolerance: float = 0.05,
) -> list[ScoreRow]:
    """Score every subject of every template for the period and publish ``kpi_scorecard``.

    The period's earlier rows are replaced, so scoring again after a compute or an
    adjustment is safe. Reads ``kpi_fact`` (actuals), ``kpi_target`` and the adjustments.
    """
    start = parse_period(grain, period)
    pairs = list(pairs)
    with store.begin() as conn:
        tid = known_tenant_id(conn, tenant)
        if tid is None:
            return []
        catalogue = metric_catalogue(conn)
        directions = {m: info.direction for m, info in catalogue.items()}
        targets = {
            (t.metric_id, t.scope_type, t.scope_id): t.target_value
            for t in load_targets(conn, tid, grain=grain, period_start=start)
        }
        adjustments = load_adjustments(conn, tid, grain, start)
        rows: list[ScoreRow] = []
        facts: dict[str, dict[tuple[str, str], float | None]] = {}
        flags_by_type: dict[str, dict[tuple[str, str], Any]] = {}
        for template in load_templates(conn, tid):
            kind = template.subject_type
            if kind not in flags_by_type:
                flags_by_type[kind] = load_flags(
                    conn,
                    tid,
                    grain=grain,
                    start=start,
                    before=previous_period(grain, start),
                    scope_type=kind,
                    directions=directions,
                    pairs=pairs,
                    tolerance=tolerance,
                )
            for subject in _subjects(conn, tid, template):
                mine = [a for a in adjustments if (a.subject_type, a.subject_id) == (kind, subject)]
                rows += _card(
                    conn,
                    tid,
                    template,
                    subject,
                    grain,
                    start,
                    facts,
                    targets,
                    directions,
                    mine,
                    flags_by_type[kind],
                )
        _publish(conn, tid, grain, start, rows)
    return rows


def _publish(conn: Connection, tid: int, grain: str, start: dt.date, rows: list[ScoreRow]) -> None:
    """Make the period's ``kpi_scorecard`` rows ``rows``. Unchanged rows keep their
    ``computed_at`` (sinks push what changed since their watermark); rows gone are deleted.
    """
    period = (
        kpi_scorecard.c.tenant_id == tid,
        kpi_scorecard.c.grain == grain,
        kpi_scorecard.c.period_start == start,
    )
    fields = [
        f for f in ScoreRow.__dataclass_fields__ if f not in ("subject_type", "subject_id", "metric_id")
    ]
    existing = {
        (r.subject_type, r.subject_id, r.metric_id): tuple(getattr(r, f) for f in fields)
        for r in conn.execute(select(kpi_scorecard).where(*period))
    }
    now = dt.datetime.now(dt.UTC)
    wanted = {(r.subject_type, r.subject_id, r.metric_id): r for r in rows}
    changed = [
        {
            **r.__dict__,
            "tenant_id": tid,
            "grain": grain,
            "period_start": start,
            "contract_version": CONTRACT_VERSION,
            "computed_at": now,
        }
        for key, r in wanted.items()
        if existing.get(key) != tuple(getattr(r, f) for f in fields)
    ]
    for subject_type, subject_id, metric_id in [key for key in existing if key not in wanted]:
        conn.execute(
            delete(kpi_scorecard).where(
                *period,
                kpi_scorecard.c.subject_type == subject_type,
                kpi_scorecard.c.subject_id == subject_id,
                kpi_scorecard.c.metric_id == metric_id,
            )
        )
    upsert(conn, kpi_scorecard, changed)


def _card(
    conn: Connection,
    tid: int,
    template: ScorecardTemplate,
    subject: str,
    grain: str,
    start: dt.date,
    facts: dict[str, dict[tuple[str, str], float | None]],
    targets: dict[tuple[str, str, str], Decimal],
    directions: dict[str, str],
    adjustments: list[Adjustment],
    flags: dict[tuple[str, str], Any],
) -> list[ScoreRow]:
    kind = template.subject_type
    whole = next((a for a in adjustments if a.kind == "exempt" and a.metric_id is None), None)
    drafts = []
    for rule in template.metrics:
        measured = template.sales_basis if rule.metric_id == SALES_ATTAINMENT else rule.metric_id
        if measured not in facts:
            facts[measured] = fact_values(conn, tid, measured, grain, start)
        actual = facts[measured].get((kind, subject))
        target = targets.get((measured, kind, subject))
        direction = rule.direction or directions.get(measured, "higher_is_better")
        attained = attainment(actual, target, direction)
        points = metric_score(attained, rule)
        weight, reasons = float(rule.weight), []
        for a in adjustments:
            if a.metric_id == rule.metric_id and a.kind == "reweight":
                weight = float(a.weight or 0)
                reasons.append(f"reweighted to {weight:g}: {a.reason}")
            elif a.metric_id == rule.metric_id and a.kind == "exempt":
                weight, points = 0.0, None
                reasons.append(f"exempt: {a.reason}")
        if whole is not None:
            points = None
            reasons.append(f"exempt: {whole.reason}")
        flag = flags.get((subject, measured))
        if flag is not None and points is not None:
            points = min(points, 100.0)
        drafts.append((rule, measured, weight, actual, target, attained, points, reasons, flag))
    scored = [(w, p) for _, _, w, _, _, _, p, _, _ in drafts if p is not None and w > 0]
    weights = sum(w for w, _ in scored)
    total = sum(w * p for w, p in scored) / weights if weights else None
    return [
        ScoreRow(
            subject_type=kind,
            subject_id=subject,
            template_id=template.template_id,
            metric_id=rule.metric_id,
            weight=weight,
            # The scorecard keeps doubles (scores are weighted points): the exact fact as one.
            actual_value=None if actual is None else float(actual),
            target_value=None if target is None else float(target),
            attainment=attained,
            score=points,
            total_score=total,
            adjusted=bool(reasons),
            adjustment_reason="; ".join(reasons) or None,
            guardrail=None if flag is None else flag.message,
        )
        for rule, _, weight, actual, target, attained, points, reasons, flag in drafts
    ]


def _rows(
    store: Store, table: Any, tenant: str, grain: str | None, period: str | dt.date | None, **wanted: Any
) -> list[dict[str, Any]]:
    """The tenant's rows of ``table`` (oldest period first), filtered on every argument given."""
    if period is not None:
        if grain is None:
            raise ConfigError("give the grain with the period, e.g. grain month and period 2026-11")
        wanted["period_start"] = parse_period(grain, period)
    wanted["grain"] = grain
    with store.begin() as conn:
        tid = known_tenant_id(conn, tenant)
        if tid is None:
            return []
        query = select(table).where(table.c.tenant_id == tid)
        for name, value in wanted.items():
            if value is not None:
                query = query.where(table.c[name] == value)
        order = [table.c.period_start, table.c.grain, table.c.subject_type, table.c.subject_id]
        extra = table.c.metric_id if table is kpi_scorecard else table.c.id
        return [dict(r._mapping) for r in conn.execute(query.order_by(*order, extra))]


def scorecard_rows(
    store: Store,
    *,
    grain: str | None = None,
    period: str | dt.date | None = None,
    tenant: str = "default",
    subject_type: str | None = None,
    subject_id: str | None = None,
    template_id: str | None = None,
) -> list[dict[str, Any]]:
    """The published ``kpi_scorecard`` rows (of a period, a subject, a template), for showing
    and exporting."""
    return _rows(
        store,
        kpi_scorecard,
        tenant,
        grain,
        period,
        subject_type=subject_type,
        subject_id=subject_id,
        template_id=template_id,
    )


def adjustment_rows(
    store: Store,
    *,
    grain: str | None = None,
    period: str | dt.date | None = None,
    tenant: str = "default",
    subject_type: str | None = None,
    subject_id: str | None = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """The recorded adjustments (of a period, a subject, a kind), oldest period first."""
    return _rows(
        store,
        kpi_adjustments,
        tenant,
        grain,
        period,
        subject_type=subject_type,
        subject_id=subject_id,
        kind=kind,
    )
