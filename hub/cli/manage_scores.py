"""``kpihub scorecard`` and ``kpihub adjust``: role scorecards and their manual adjustments."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from sdk import ConfigError

from ..kpi.scorecards import adjust, save_template, score, scorecard_rows
from .app import TenantOption, app, console, err_console, guarded, hub_context
from .files import read_structured
from .manage_options import Actor, AsJson, Grain, Period, known_metrics, print_json, scope_arg, show_ratio

__all__ = ["scorecard"]

scorecard = typer.Typer(help="Scorecard templates and scores per person or team.", no_args_is_help=True)
app.add_typer(scorecard, name="scorecard")


@scorecard.command("template")
@guarded
def scorecard_template(
    file: Annotated[str, typer.Argument(help="JSON/YAML file: template_id, role, metrics with weights.")],
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Add or replace a role's scorecard template (weights must add up to 100)."""
    values = read_structured(file, "scorecard template")
    with hub_context() as ctx:
        template, warnings = save_template(
            ctx.ready_store, values, tenant=tenant, actor=actor, known_metrics=known_metrics(ctx)
        )
    console.print(
        f"saved template {template.template_id} for role {template.role} ({len(template.metrics)} metrics)"
    )
    for warning in warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)


@scorecard.command("compute")
@guarded
def scorecard_compute(grain: Grain, period: Period, tenant: TenantOption = "default") -> None:
    """Score every person and team for the period and publish kpi_scorecard."""
    with hub_context() as ctx:
        rows = score(ctx.ready_store, grain=grain, period=period, tenant=tenant)
    subjects = {(r.subject_type, r.subject_id) for r in rows}
    console.print(f"scored {len(subjects)} subjects ({len(rows)} rows)")


@scorecard.command("show")
@guarded
def scorecard_show(
    grain: Grain, period: Period, as_json: AsJson = False, tenant: TenantOption = "default"
) -> None:
    """The published scorecard of a period."""
    with hub_context() as ctx:
        rows = scorecard_rows(ctx.ready_store, grain=grain, period=period, tenant=tenant)
    if as_json:
        print_json(rows)
        return
    table = Table("subject", "metric", "weight", "attainment", "score", "total", "adjusted", "guardrail")
    for r in rows:
        table.add_row(
            f"{r['subject_type']}:{r['subject_id']}",
            r["metric_id"],
            f"{r['weight']:g}",
            show_ratio(r["attainment"]),
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
    subject_type, subject_id = scope_arg(subject)
    if exempt == (weight is not None):
        raise ConfigError("give either --weight (re-weight a metric) or --exempt")
    with hub_context() as ctx:
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
    console.print(f"recorded adjustment {adjustment_id}; run `kpihub scorecard compute` to apply it")
