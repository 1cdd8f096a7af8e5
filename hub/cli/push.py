"""``kpihub push SINK`` and ``kpihub sink …``: deliver the published tables."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..publish import PushResult, add_sink, list_sinks, push_sink
from .app import TenantOption, app, console, err_console, guarded, hub_context
from .files import read_structured

__all__ = ["push", "sink"]

sink = typer.Typer(help="Add and list sinks: Power BI, Tableau, the seller's database.", no_args_is_help=True)
app.add_typer(sink, name="sink")


def _table_list(value: str | None) -> list[str] | None:
    return [t.strip() for t in value.split(",") if t.strip()] if value else None


TablesOption = Annotated[
    str | None,
    typer.Option("--tables", help="Comma-separated tables (default: the published KPI tables)."),
]


@sink.command("add")
@guarded
def sink_add(
    name: Annotated[str, typer.Argument(help="A name for the sink, unique in the tenant.")],
    plugin: Annotated[str, typer.Option("--plugin", help="Sink plugin: powerbi, tableau, database, ...")],
    options: Annotated[str, typer.Option("--options", help="JSON or YAML file with the sink's options.")],
    credentials: Annotated[
        str | None,
        typer.Option("--credentials", help="JSON or YAML file with the credentials, or - for stdin."),
    ] = None,
    tables: TablesOption = None,
    tenant: TenantOption = "default",
) -> None:
    """Add a sink; credentials are read from a file or standard input, never the command line."""
    with hub_context() as ctx:
        info = add_sink(
            ctx.ready_store,
            ctx.vault,
            ctx.registry,
            name=name,
            plugin=plugin,
            tenant=tenant,
            options=read_structured(options, "options"),
            credentials=read_structured(credentials, "credentials") if credentials else None,
            tables=_table_list(tables),
            egress=ctx.egress,
        )
    secured = "; credentials encrypted" if info.has_credentials else ""
    console.print(f"added sink {info.name!r} ({info.plugin}) to tenant {info.tenant!r}{secured}")


@sink.command("list")
@guarded
def sink_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List sinks (credentials show only as set or not set)."""
    with hub_context() as ctx:
        infos = list_sinks(ctx.ready_store, tenant=tenant)
    if as_json:
        console.print_json(json.dumps([i.public() for i in infos]))
        return
    table = Table("tenant", "name", "plugin", "tables", "credentials")
    for i in infos:
        chosen = ", ".join(i.tables) if i.tables else "published tables"
        table.add_row(i.tenant, i.name, i.plugin, chosen, "set" if i.has_credentials else "not set")
    console.print(table)


class PushProgress:
    """A bar per table: rows the target accepted out of the rows to send."""

    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"),
            TimeElapsedColumn(),
            console=err_console,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> PushProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def __call__(self, table: str, rows: int, total: int | None) -> None:
        if table not in self._tasks:
            self._tasks[table] = self._bar.add_task(table, total=total)
        self._bar.update(self._tasks[table], advance=rows)


def _report(result: PushResult) -> None:
    for t in result.tables:
        if t.error:
            err_console.print(f"[red]error:[/] {escape(t.table)}: {escape(t.error)}", highlight=False)
        else:
            console.print(f"  {t.table}: {t.action}" + (f", {t.rows:,} rows" if t.rows else ""))


@app.command()
@guarded
def push(
    name: Annotated[str, typer.Argument(help="The sink to push to.")],
    full: Annotated[bool, typer.Option("--full", help="Rebuild every table, not only changes.")] = False,
    tables: TablesOption = None,
    tenant: TenantOption = "default",
) -> None:
    """Push what changed since the sink's last successful push (everything with --full)."""
    with hub_context() as ctx, PushProgress() as progress:
        result = asyncio.run(
            push_sink(
                ctx.ready_store,
                ctx.vault,
                ctx.registry,
                name,
                tenant=tenant,
                full=full,
                tables=_table_list(tables),
                progress=progress,
                egress=ctx.egress,
            )
        )
    console.print(f"[bold]push to {escape(name)}[/] {'succeeded' if result.succeeded else 'failed'}")
    _report(result)
    if not result.succeeded:
        raise typer.Exit(1)
