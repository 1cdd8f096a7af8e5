"""``kpihub reconcile``: a seller's hand report against kpihub's KPIs (对账), with the orders that
explain every difference (docs/reconcile.md)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..reconcile import Reconciliation, load_map, read_report, reconcile, write_xlsx
from .app import TenantOption, app, console, err_console, guarded, hub_context

__all__ = ["reconcile_command"]

_CENT = Decimal("0.01")
_PLACES = Decimal("0.0001")


def _num(value: Decimal | None, unit: str = "currency") -> str:
    """A value as a finance team reads it: counts whole, amounts to the cent, or to four places
    where the cents do not say it all."""
    if value is None:
        return "—"
    if unit == "count" and value == value.to_integral_value():
        return f"{int(value):,}"
    if value == value.quantize(_CENT):
        return f"{value:,.2f}"
    return f"{value.quantize(_PLACES):,f}"


def _table(result: Reconciliation, every: bool) -> Table:
    table = Table(title=f"{result.report}: kpihub vs the report ({result.currency})")
    for column in ("period", "scope", "metric", "kpihub", "report", "difference", "status / explanation"):
        right = column in ("kpihub", "report", "difference")
        table.add_column(column, justify="right" if right else "left", overflow="fold")
    for row in result.rows:
        if row.status == "matched" and not every:
            continue
        scope = row.scope_label or row.scope_id
        status = row.status.replace("_", " ")
        if row.status == "unexplained" and row.explanations:
            status += f" ({_num(row.unexplained, row.unit)} left)"
        if row.note and row.status != "not_in_report":
            status += f": {row.note}"
        table.add_row(
            str(row.period), escape(scope), row.metric_id, _num(row.kpihub, row.unit),
            _num(row.report, row.unit), _num(row.difference, row.unit), escape(status),
        )  # fmt: skip
        for explanation in row.explanations:
            effect = _num(explanation.effect, row.unit)
            table.add_row("", "", "", "", "", effect, escape(f"  {explanation.text}"))
    return table


@app.command("reconcile")
@guarded
def reconcile_command(
    file: Annotated[Path, typer.Argument(help="The seller's report: an .xlsx workbook or a .csv file.")],
    map_file: Annotated[
        Path, typer.Option("--map", help="The YAML column map: which columns hold which metrics.")
    ],
    tenant: TenantOption = "default",
    export: Annotated[
        Path | None, typer.Option("--export", help="Also write the reconciliation to this .xlsx file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reconciliation as JSON.")] = False,
    every: Annotated[
        bool, typer.Option("--all", help="List matched values too, not only differences.")
    ] = False,
) -> None:
    """Compare a hand report with kpihub's KPIs, value by value, and name the orders, refunds and
    rates behind each difference. Exit code 0: everything matches; 1: differences remain."""
    colmap = load_map(map_file)
    report = read_report(file, colmap, name=str(file))
    with hub_context() as ctx:
        catalogue = ctx.catalogue
        result = reconcile(
            ctx.ready_store, tenant, report, colmap, map_name=str(map_file), catalogue=catalogue
        )
    if export is not None:
        write_xlsx(result, export)
    if as_json:
        console.print_json(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        if result.differences or every:
            console.print(_table(result, every))
        for note in result.notes:
            err_console.print(f"note: {note}", markup=False, highlight=False)
        verdict = "everything matches" if result.matched else "differences remain"
        console.print(f"{result.summary()}: {verdict}", highlight=False)
        if export is not None:
            console.print(f"written to {export}", highlight=False)
    if not result.matched:
        raise typer.Exit(1)
