"""Commands of KPI management: targets (here), scorecards and adjustments (``manage_scores``),
alerts (``manage_alerts``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sdk import ConfigError

from ..kpi.decompose import decompose, rollup_check
from ..kpi.target_periods import check_day, period_label
from ..kpi.targets import list_targets, refresh_attainment, set_target
from ..kpi.xlsx import export_xlsx, import_xlsx
from .app import TenantOption, app, console, err_console, guarded, hub_context
from .files import read_structured
from .manage_options import (
    Actor,
    AsJson,
    Grain,
    Period,
    known_metrics,
    print_json,
    scope_arg,
    show_number,
    show_ratio,
)

__all__ = ["targets"]

targets = typer.Typer(help="Set, split, import and export KPI targets.", no_args_is_help=True)
app.add_typer(targets, name="targets")


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
    scope_type, scope_id = scope_arg(scope)
    with hub_context() as ctx:
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
            known_metrics=known_metrics(ctx),
        )
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
    scope_type, scope_id = scope_arg(from_scope)
    given = read_structured(weights, "weights") if weights else None
    if given is not None and not isinstance(given, dict):
        raise ConfigError("the weights file must map a level to {scope id: weight}")
    with hub_context() as ctx:
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
    with hub_context() as ctx:
        gaps = rollup_check(ctx.ready_store, metric_id=metric, grain=grain, period=period, tenant=tenant)
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
    if day is not None:
        check_day(day, "--as-of")
    with hub_context() as ctx:
        refresh_attainment(ctx.ready_store, tenant=tenant, as_of=day)
        found = list_targets(ctx.ready_store, tenant=tenant, metric_id=metric, grain=grain, period=period)
    if as_json:
        print_json([t.public() for t in found])
        return
    table = Table("metric", "period", "scope", "target", "actual", "attainment", "paced", "source")
    for t in found:
        table.add_row(
            t.metric_id,
            period_label(t.grain, t.period_start),
            f"{t.scope_type}:{t.scope_id}",
            str(t.target_value),
            show_number(t.actual_value),
            show_ratio(t.attainment),
            show_ratio(t.paced_attainment),
            t.source,
        )
    console.print(table)


@targets.command("import")
@guarded
def targets_import(
    file: Annotated[Path, typer.Argument(help="An .xlsx workbook with a targets sheet.")],
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Import targets from Excel; all or nothing, every bad cell named."""
    with hub_context() as ctx:
        count = import_xlsx(
            ctx.ready_store, file, tenant=tenant, actor=actor, known_metrics=known_metrics(ctx)
        )
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
    with hub_context() as ctx:
        count = export_xlsx(
            ctx.ready_store, file, tenant=tenant, metric_id=metric, grain=grain, period=period
        )
    console.print(f"exported {count} targets to {file}")


# Imported for their registrations on ``app``.
from . import manage_alerts, manage_scores  # noqa: E402

_COMMANDS = (manage_alerts, manage_scores)
