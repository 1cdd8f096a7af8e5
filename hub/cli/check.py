"""``kpihub check``: the data-quality report, and the quarantined records of a connection.

Exit codes: 0 when nothing is found, 1 when there are findings (or quarantined records), 2 for
bad input (an unknown tenant, check or connection), so a script can gate a report on it.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from sdk import ConfigError

from ..kpi.engine import resolve_tenant
from ..quality import CHECK_NAMES, DEFAULT_STALE_HOURS, QualityReport, list_quarantined, run_checks
from .app import TenantOption, app, console, err_console, guarded, hub_context
from .manage_options import print_json

__all__ = ["check_command"]

FOUND = 1
"""The exit code when the report has findings."""


@app.command("check")
@guarded
def check_command(
    tenant: TenantOption = "default",
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help=f"Run only this check (repeatable): {', '.join(CHECK_NAMES)}."),
    ] = None,
    stale_hours: Annotated[
        float,
        typer.Option("--stale-hours", help="A connection whose newest data is older than this is stale."),
    ] = DEFAULT_STALE_HOURS,
    quarantined: Annotated[
        str | None,
        typer.Option("--quarantined", help="List this connection's quarantined records, with reasons."),
    ] = None,
    stream: Annotated[
        str | None, typer.Option("--stream", help="With --quarantined: only this stream's records.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="With --quarantined: how many records to show.")
    ] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List what makes the tenant's KPI numbers incomplete or doubtful, each with a count, an
    example and its fix; exit 1 when anything is found."""
    if quarantined is None and stream is not None:
        raise ConfigError("--stream goes with --quarantined CONNECTION")
    if quarantined is not None:
        _quarantined(tenant, quarantined, stream, limit, as_json)
        return
    with hub_context() as ctx:
        report = run_checks(ctx.ready_store, tenant, checks=only, stale_hours=stale_hours)
    if as_json:
        print_json(report.as_dict())
    else:
        _print(report)
    if report.findings:
        raise typer.Exit(FOUND)


def _print(report: QualityReport) -> None:
    basis = f"counting basis v{report.basis_version}" if report.basis_version else "default counting basis"
    for name, why in report.unavailable.items():
        err_console.print(f"note: check {name} did not run: {why}", markup=False, highlight=False)
    if not report.findings:
        console.print(
            f"no findings: nothing makes the KPIs of tenant {report.tenant!r} incomplete or doubtful "
            f"({basis}, base currency {report.base_currency})",
            markup=False,
            highlight=False,
        )
        return
    title = f"Data quality of tenant {report.tenant!r} ({basis}, base currency {report.base_currency})"
    table = Table(title=title)
    for column in ("check", "about", "count", "finding", "fix"):
        # Shop ids, connection names and commands are what a user types next: folded, never cut.
        table.add_column(column, justify="right" if column == "count" else "left", overflow="fold")
    for f in report.findings:
        finding = Text(f.summary)
        if f.example:
            finding.append(f"\ne.g. {f.example}", style="dim")
        about = f.scope if f.scope_id is None else f"{f.scope} {f.scope_id}"
        check = Text(f.check, style="bold red" if f.severity == "error" else "yellow")
        table.add_row(check, Text(about), f"{f.count:,}", finding, Text(f.fix))
    console.print(table)
    errors = sum(1 for f in report.findings if f.severity == "error")
    console.print(
        f"{len(report.findings)} finding(s): {errors} error(s), {len(report.findings) - errors} warning(s)",
        markup=False,
        highlight=False,
    )


def _quarantined(tenant: str, connection: str, stream: str | None, limit: int, as_json: bool) -> None:
    with hub_context() as ctx, ctx.ready_store.begin() as conn:
        tenant_id, _ = resolve_tenant(conn, tenant)
        total, records = list_quarantined(conn, tenant_id, connection, stream=stream, limit=limit)
    where = f"{connection}/{stream}" if stream else connection
    if as_json:
        shown = [r.as_dict() for r in records]
        print_json({"connection": connection, "stream": stream, "total": total, "records": shown})
    elif not records:
        console.print(f"no quarantined records in {where}", markup=False, highlight=False)
    else:
        table = Table(title=f"Quarantined records of {where}: {total:,} (showing {len(records)})")
        for column in ("id", "stream", "record", "reason", "raw record"):
            table.add_column(column, overflow="fold")
        for r in records:
            table.add_row(str(r.id), r.stream, Text(r.record_key), Text(r.error), Text(r.data))
        console.print(table)
        console.print(
            f"fix: try a corrected mapping with `kpihub mapping preview {connection} STREAM --file FILE`, "
            f"save it with `kpihub mapping set`, then `kpihub remap {connection}`",
            markup=False,
            highlight=False,
        )
    if total:
        raise typer.Exit(FOUND)
