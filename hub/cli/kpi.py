"""``kpihub compute`` and ``kpihub kpi show``: the KPI engine's commands."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.table import Table

from sdk import ConfigError

from ..kpi import GRAINS, SCOPES, compute, query_kpis
from ..kpi.after_compute import after_compute
from ..kpi.target_periods import check_day
from .app import TenantOption, app, console, err_console, guarded, hub_context

__all__ = ["compute_command", "kpi", "kpi_show"]

kpi = typer.Typer(help="Read computed KPIs.", no_args_is_help=True)
app.add_typer(kpi, name="kpi")


@app.command("compute")
@guarded
def compute_command(
    full: Annotated[
        bool, typer.Option("--full", help="Recompute everything, not only what changed.")
    ] = False,
    tenant: TenantOption = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    kpis_only: Annotated[
        bool,
        typer.Option("--kpis-only", help="Compute KPIs only: no attainment, scorecards or alerts."),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Last day the data covers, YYYY-MM-DD: running periods are paced and scored up to "
            "it (default yesterday in the tenant's timezone).",
        ),
    ] = None,
) -> None:
    """Bring the tenant's KPIs up to date (incrementally unless --full), then refresh attainment,
    re-score the running month and quarter and evaluate the alert rules."""
    day = _date(as_of, "--as-of")
    with hub_context() as ctx:
        catalogue = ctx.catalogue
        report = compute(ctx.ready_store, tenant, full=full, catalogue=catalogue)
        managed = None if kpis_only else after_compute(ctx.ready_store, ctx.vault, tenant=tenant, as_of=day)
    if as_json:
        out = report.as_dict()
        if managed is not None:
            out["management"] = {
                "as_of": None if managed.as_of is None else managed.as_of.isoformat(),
                "targets": managed.targets,
                "scorecard_rows": managed.scorecard_rows,
                "alerts_raised": len(managed.alerts),
                "skipped": managed.skipped,
            }
        console.print_json(json.dumps(out))
        return
    how = "full" if report.full else "incremental"
    where = "" if report.full else f", {report.partitions} shop-days touched"
    console.print(
        f"computed tenant {report.tenant!r} ({how}: {report.reason}{where}); "
        f"{report.facts_written} KPI values written under counting basis v{report.basis_version} "
        f"in {report.seconds:.1f} s"
    )
    if managed is not None:
        console.print(
            f"{managed.targets} targets' attainment refreshed (paced to {managed.as_of}), "
            f"{managed.scorecard_rows} scorecard rows scored, {len(managed.alerts)} alerts raised"
        )
        for reason in managed.skipped:
            err_console.print(f"warning: {reason}", markup=False, highlight=False)


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a date; use YYYY-MM-DD, e.g. 2026-03-01") from None
    return check_day(day, option)


def _scope(value: str | None) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    kind, _, ident = value.partition(":")
    if kind not in SCOPES:
        raise ConfigError(
            f"--scope {value!r}: the scope type must be one of {', '.join(SCOPES)} (e.g. shop:amazon:S1)"
        )
    return kind, ident or None


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float | Decimal):
        # Exact decimals shown with their digits (to ten places), grouped, no trailing zeros.
        text = f"{value:,.10f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


@kpi.command("show")
@guarded
def kpi_show(
    metric: Annotated[str, typer.Argument(help="Metric id, e.g. gmv, roas, refund_rate.")],
    grain: Annotated[str, typer.Option("--grain", help=f"One of {', '.join(GRAINS)}.")] = "month",
    scope: Annotated[
        str | None, typer.Option("--scope", help="type or type:id, e.g. tenant, shop:amazon:S1, person:p1.")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First period start (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last period start (YYYY-MM-DD).")] = None,
    tenant: TenantOption = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
) -> None:
    """Show a KPI's values by period and scope."""
    scope_type, scope_id = _scope(scope)
    first, last = _date(start, "--from"), _date(end, "--to")
    with hub_context() as ctx:
        catalogue = ctx.catalogue
        rows = query_kpis(
            ctx.ready_store,
            tenant,
            metric,
            grain=grain,
            scope_type=scope_type,
            scope_id=scope_id,
            start=first,
            end=last,
            catalogue=catalogue,
        )
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    if not rows:
        console.print(f"no values for {metric} at grain {grain}; run `kpihub compute` after a sync")
        return
    table = Table(title=f"{metric} by {grain}")
    for column in ("period", "scope", "value", "numerator", "denominator", "unit", "basis"):
        # Scope ids are what a user types next: wrap them on a narrow terminal, never cut them.
        table.add_column(
            column,
            justify="right" if column in ("value", "numerator", "denominator") else "left",
            overflow="fold",
        )
    for r in rows:
        table.add_row(
            str(r["period_start"]),
            f"{r['scope_type']}:{r['scope_id']}",
            _show(r["value"]),
            _show(r["numerator"]),
            _show(r["denominator"]),
            r["currency"] or r["unit"],
            f"v{r['basis_version']}",
        )
    console.print(table)
