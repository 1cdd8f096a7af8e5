"""Commands of KPI management: targets, scorecards, adjustments, alerts."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sdk import ConfigError

from ..context import HubContext
from ..kpi.alerts import (
    add_rule,
    evaluate_alerts,
    list_alerts,
    list_rules,
    set_alert_status,
    set_work_order_status,
)
from ..kpi.decompose import decompose, rollup_check
from ..kpi.scorecards import adjust, save_template, score, scorecard_rows
from ..kpi.target_periods import period_label
from ..kpi.targets import list_targets, refresh_attainment, set_target
from ..kpi.xlsx import export_xlsx, import_xlsx
from .app import TenantOption, app, console, err_console, guarded, hub_context
from .files import read_structured

__all__ = ["alerts", "scorecard", "targets"]

targets = typer.Typer(help="Set, split, import and export KPI targets.", no_args_is_help=True)
scorecard = typer.Typer(help="Scorecard templates and scores per person or team.", no_args_is_help=True)
alerts = typer.Typer(help="Alert rules, alerts and their work orders.", no_args_is_help=True)
rules = typer.Typer(help="Add and list alert rules.", no_args_is_help=True)
app.add_typer(targets, name="targets")
app.add_typer(scorecard, name="scorecard")
app.add_typer(alerts, name="alerts")
alerts.add_typer(rules, name="rule")

Grain = Annotated[str, typer.Option("--grain", help="month, quarter or year.")]
Period = Annotated[str, typer.Option("--period", help="2026-03, 2026-Q1 or 2026 (or the first day).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Actor = Annotated[str, typer.Option("--actor", help="Who is making the change, for the audit log.")]


def _scope(text: str) -> tuple[str, str]:
    scope_type, sep, scope_id = text.partition(":")
    if not sep or not scope_id:
        raise ConfigError(f"scope {text!r} is not TYPE:ID, e.g. tenant:default, team:T1 or shop:amazon:S1")
    return scope_type, scope_id


def _known_metrics(ctx: HubContext) -> list[str] | None:
    """Metric ids the installed providers define; None (no check) when no provider is installed."""
    known = [d.metric_id for p in ctx.registry.metric_providers.values() for d in p.definitions()]
    return known or None


def _json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


@targets.command("set")
@guarded
def targets_set(
    metric: Annotated[str, typer.Argument(help="Metric id, e.g. net_sales.")],
    grain: Grain,
    period: Period,
    scope: Annotated[str, typer.Option("--scope", help="TYPE:ID, e.g. tenant:default or shop:amazon:S1.")],
    value: Annotated[str, typer.Option("--value", help="The target, e.g. 1200000 or 0.035.")],
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Set one target by hand."""
    scope_type, scope_id = _scope(scope)
    ctx = hub_context()
    try:
        target = set_target(
            ctx.ready_store,
            metric_id=metric,
            grain=grain,
            period=period,
            scope_type=scope_type,
            scope_id=scope_id,
            value=value,
            tenant=tenant,
            actor=actor,
            known_metrics=_known_metrics(ctx),
        )
    finally:
        ctx.close()
    label = period_label(target.grain, target.period_start)
    console.print(f"target {metric} {label} {scope_type}:{scope_id} = {target.target_value}")


@targets.command("decompose")
@guarded
def targets_decompose(
    metric: Annotated[str, typer.Argument(help="Metric id of the target to split.")],
    grain: Grain,
    period: Period,
    from_scope: Annotated[
        str, typer.Option("--from", help="The target to split, TYPE:ID.")
    ] = "tenant:default",
    down_to: Annotated[str, typer.Option("--down-to", help="team, person, shop or category.")] = "category",
    method: Annotated[str, typer.Option("--method", help="previous_share or weights.")] = "previous_share",
    weights: Annotated[
        str | None, typer.Option("--weights", help="JSON/YAML file: {level: {scope id: weight}}.")
    ] = None,
    new_shop_days: Annotated[
        int | None,
        typer.Option("--new-shop-days", help="Days after launch a shop is new (default: the basis)."),
    ] = None,
    new_shop_factor: Annotated[
        float, typer.Option("--new-shop-factor", help="A new shop's share of the average, by previous share.")
    ] = 0.5,
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Split a target down to teams, people, shops and categories, exact to the cent."""
    scope_type, scope_id = _scope(from_scope)
    given = read_structured(weights, "weights") if weights else None
    if given is not None and not isinstance(given, dict):
        raise ConfigError("the weights file must map a level to {scope id: weight}")
    ctx = hub_context()
    try:
        result = decompose(
            ctx.ready_store,
            metric_id=metric,
            grain=grain,
            period=period,
            scope_type=scope_type,
            scope_id=scope_id,
            tenant=tenant,
            down_to=down_to,
            method=method,
            weights=given,
            new_shop_days=new_shop_days,
            new_shop_factor=Decimal(str(new_shop_factor)),
            actor=actor,
        )
        gaps = rollup_check(ctx.ready_store, metric_id=metric, grain=grain, period=period, tenant=tenant)
    finally:
        ctx.close()
    counts: dict[str, int] = {}
    for t in result.targets:
        counts[t.scope_type] = counts.get(t.scope_type, 0) + 1
    console.print(
        f"split {metric} of {scope_type}:{scope_id} into " + ", ".join(f"{n} {k}" for k, n in counts.items())
    )
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)
    for gap in gaps:
        err_console.print(f"[yellow]roll-up:[/] {gap.describe()}", highlight=False)


@targets.command("check")
@guarded
def targets_check(
    metric: Annotated[str, typer.Argument()], grain: Grain, period: Period, tenant: TenantOption = "default"
) -> None:
    """Roll-up check: list every target whose parts do not add up to it (exit 1 if any)."""
    ctx = hub_context()
    try:
        gaps = rollup_check(ctx.ready_store, metric_id=metric, grain=grain, period=period, tenant=tenant)
    finally:
        ctx.close()
    if not gaps:
        console.print(f"every {metric} target of {period} adds up")
        return
    for gap in gaps:
        console.print(gap.describe(), highlight=False)
    raise typer.Exit(1)


@targets.command("show")
@guarded
def targets_show(
    metric: Annotated[str | None, typer.Option("--metric")] = None,
    grain: Annotated[str | None, typer.Option("--grain")] = None,
    period: Annotated[str | None, typer.Option("--period")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Last day with data (default yesterday).")
    ] = None,
    as_json: AsJson = False,
    tenant: TenantOption = "default",
) -> None:
    """Targets with their actual values, attainment and paced attainment (refreshed first)."""
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise ConfigError(f"--as-of {as_of!r} is not a date; write it as YYYY-MM-DD") from None
    ctx = hub_context()
    try:
        refresh_attainment(ctx.ready_store, tenant=tenant, as_of=day)
        found = list_targets(ctx.ready_store, tenant=tenant, metric_id=metric, grain=grain, period=period)
    finally:
        ctx.close()
    if as_json:
        _json([t.public() for t in found])
        return
    table = Table("metric", "period", "scope", "target", "actual", "attainment", "paced", "source")
    for t in found:
        table.add_row(
            t.metric_id,
            period_label(t.grain, t.period_start),
            f"{t.scope_type}:{t.scope_id}",
            str(t.target_value),
            _num(t.actual_value),
            _pct(t.attainment),
            _pct(t.paced_attainment),
            t.source,
        )
    console.print(table)


def _num(value: float | None) -> str:
    return "not computed" if value is None else f"{value:,.4g}"


def _pct(value: float | None) -> str:
    return "not configured" if value is None else f"{value:.1%}"


@targets.command("import")
@guarded
def targets_import(
    file: Annotated[Path, typer.Argument(help="An .xlsx workbook with a targets sheet.")],
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Import targets from Excel; all or nothing, every bad cell named."""
    ctx = hub_context()
    try:
        count = import_xlsx(
            ctx.ready_store, file, tenant=tenant, actor=actor, known_metrics=_known_metrics(ctx)
        )
    finally:
        ctx.close()
    console.print(f"imported {count} targets from {file}")


@targets.command("export")
@guarded
def targets_export(
    file: Annotated[Path, typer.Argument(help="The .xlsx workbook to write.")],
    metric: Annotated[str | None, typer.Option("--metric")] = None,
    grain: Annotated[str | None, typer.Option("--grain")] = None,
    period: Annotated[str | None, typer.Option("--period")] = None,
    tenant: TenantOption = "default",
) -> None:
    """Export targets (with their attainment) to Excel."""
    if file.suffix.lower() != ".xlsx":
        raise ConfigError(f"{file} should end in .xlsx")
    ctx = hub_context()
    try:
        count = export_xlsx(
            ctx.ready_store, file, tenant=tenant, metric_id=metric, grain=grain, period=period
        )
    finally:
        ctx.close()
    console.print(f"exported {count} targets to {file}")


@scorecard.command("template")
@guarded
def scorecard_template(
    file: Annotated[str, typer.Argument(help="JSON/YAML file: template_id, role, metrics with weights.")],
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Add or replace a role's scorecard template (weights must add up to 100)."""
    values = read_structured(file, "scorecard template")
    ctx = hub_context()
    try:
        template, warnings = save_template(
            ctx.ready_store, values, tenant=tenant, actor=actor, known_metrics=_known_metrics(ctx)
        )
    finally:
        ctx.close()
    console.print(
        f"saved template {template.template_id} for role {template.role} ({len(template.metrics)} metrics)"
    )
    for warning in warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)


@scorecard.command("compute")
@guarded
def scorecard_compute(grain: Grain, period: Period, tenant: TenantOption = "default") -> None:
    """Score every person and team for the period and publish kpi_scorecard."""
    ctx = hub_context()
    try:
        rows = score(ctx.ready_store, grain=grain, period=period, tenant=tenant)
    finally:
        ctx.close()
    subjects = {(r.subject_type, r.subject_id) for r in rows}
    console.print(f"scored {len(subjects)} subjects ({len(rows)} rows)")


@scorecard.command("show")
@guarded
def scorecard_show(
    grain: Grain, period: Period, as_json: AsJson = False, tenant: TenantOption = "default"
) -> None:
    """The published scorecard of a period."""
    ctx = hub_context()
    try:
        rows = scorecard_rows(ctx.ready_store, grain=grain, period=period, tenant=tenant)
    finally:
        ctx.close()
    if as_json:
        _json(rows)
        return
    table = Table("subject", "metric", "weight", "attainment", "score", "total", "adjusted", "guardrail")
    for r in rows:
        table.add_row(
            f"{r['subject_type']}:{r['subject_id']}",
            r["metric_id"],
            f"{r['weight']:g}",
            _pct(r["attainment"]),
            "-" if r["score"] is None else f"{r['score']:.1f}",
            "-" if r["total_score"] is None else f"{r['total_score']:.1f}",
            r["adjustment_reason"] or "",
            r["guardrail"] or "",
        )
    console.print(table)


@app.command("adjust")
@guarded
def adjust_command(
    subject: Annotated[str, typer.Argument(help="person:ID, team:ID or shop:ID.")],
    grain: Grain,
    period: Period,
    reason: Annotated[str, typer.Option("--reason", help="Why; shown on the scorecard and audited.")],
    metric: Annotated[
        str | None, typer.Option("--metric", help="The metric (all of them when exempting).")
    ] = None,
    weight: Annotated[
        float | None, typer.Option("--weight", help="A temporary weight for the metric.")
    ] = None,
    exempt: Annotated[bool, typer.Option("--exempt", help="Exempt instead of re-weighting.")] = False,
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Re-weight a metric or exempt a subject for one period, with a reason."""
    subject_type, subject_id = _scope(subject)
    if exempt == (weight is not None):
        raise ConfigError("give either --weight (re-weight a metric) or --exempt")
    ctx = hub_context()
    try:
        adjustment_id = adjust(
            ctx.ready_store,
            subject_type=subject_type,
            subject_id=subject_id,
            grain=grain,
            period=period,
            kind="exempt" if exempt else "reweight",
            reason=reason,
            metric_id=metric,
            weight=weight,
            tenant=tenant,
            actor=actor,
        )
    finally:
        ctx.close()
    console.print(f"recorded adjustment {adjustment_id}; run `kpihub scorecard compute` to apply it")


@rules.command("add")
@guarded
def rule_add(
    file: Annotated[str, typer.Argument(help="JSON/YAML file with the rule; channel URLs may hold secrets.")],
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Add an alert rule; its channel URLs are stored encrypted."""
    values = read_structured(file, "alert rule")
    ctx = hub_context()
    try:
        rule_id = add_rule(ctx.ready_store, ctx.vault, values, tenant=tenant, actor=actor)
    finally:
        ctx.close()
    console.print(f"added alert rule {rule_id}")


@rules.command("list")
@guarded
def rule_list(as_json: AsJson = False, tenant: TenantOption = "default") -> None:
    """Alert rules, channels masked."""
    ctx = hub_context()
    try:
        found = list_rules(ctx.ready_store, ctx.vault, tenant=tenant)
    finally:
        ctx.close()
    if as_json:
        _json(found)
        return
    table = Table("id", "name", "kind", "watch", "condition", "severity", "channels")
    for r in found:
        watch = (
            f"{r['metric_id']} {r['scope_type']}:{r['scope_id'] or '*'} ({r['grain']})"
            if r["kind"] == "metric"
            else (f"connection {r['scope_id'] or '*'}")
        )
        condition = (
            f"{r['comparator']} {r['threshold']:g} x{r['window']}"
            if r["kind"] == "metric"
            else f"{r['threshold']:g}"
        )
        table.add_row(
            str(r["id"]), r["name"], r["kind"], watch, condition, r["severity"], ", ".join(r["channels"])
        )
    console.print(table)


@alerts.command("evaluate")
@guarded
def alerts_evaluate(tenant: TenantOption = "default") -> None:
    """Evaluate every rule now; raise, resolve and deliver alerts."""
    ctx = hub_context()
    try:
        raised = evaluate_alerts(ctx.ready_store, ctx.vault, tenant=tenant)
    finally:
        ctx.close()
    for a in raised:
        console.print(
            f"alert {a.alert_id} [{a.severity}] {a.message} (delivery: {a.delivery})", highlight=False
        )
    console.print(f"{len(raised)} new alert(s)")


@alerts.command("show")
@guarded
def alerts_show(
    status: Annotated[str | None, typer.Option("--status", help="open, acknowledged or resolved.")] = None,
    as_json: AsJson = False,
    tenant: TenantOption = "default",
) -> None:
    """Alerts, newest first."""
    ctx = hub_context()
    try:
        found = list_alerts(ctx.ready_store, tenant=tenant, status=status)
    finally:
        ctx.close()
    if as_json:
        _json(found)
        return
    table = Table("id", "raised", "rule", "severity", "status", "message", "work order")
    for a in found:
        order = (
            f"{a['work_order_id']} ({a['work_order_status']}, {a['assignee'] or 'unassigned'})"
            if a["work_order_id"]
            else ""
        )
        table.add_row(
            str(a["alert_id"]),
            a["raised_at"].isoformat(timespec="minutes"),
            a["rule"],
            a["severity"],
            a["status"],
            a["message"],
            order,
        )
    console.print(table)


@alerts.command("ack")
@guarded
def alerts_ack(
    alert_id: Annotated[int, typer.Argument()],
    resolve: Annotated[bool, typer.Option("--resolve", help="Resolve instead of acknowledging.")] = False,
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Acknowledge (or resolve) an alert."""
    ctx = hub_context()
    try:
        set_alert_status(
            ctx.ready_store, alert_id, "resolved" if resolve else "acknowledged", tenant=tenant, actor=actor
        )
    finally:
        ctx.close()
    console.print(f"alert {alert_id} {'resolved' if resolve else 'acknowledged'}")


@alerts.command("workorder")
@guarded
def alerts_workorder(
    order_id: Annotated[int, typer.Argument()],
    status: Annotated[str, typer.Option("--status", help="open, in_progress or done.")],
    assignee: Annotated[str | None, typer.Option("--assignee")] = None,
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Move a work order along, optionally re-assigning it."""
    ctx = hub_context()
    try:
        set_work_order_status(
            ctx.ready_store, order_id, status, assignee=assignee, tenant=tenant, actor=actor
        )
    finally:
        ctx.close()
    console.print(f"work order {order_id} is {status}")
