"""``kpihub connection``, ``kpihub sync`` and ``kpihub remap``."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from sdk import ConfigError

from ..connections import add_connection, get_connection, list_connections, open_source
from ..kpi.target_periods import check_day
from ..sync import PageResult, RunResult, remap_connection, sync_connection
from .app import TenantOption, app, console, err_console, guarded, hub_context
from .files import read_structured

__all__ = ["connection", "remap", "sync"]

connection = typer.Typer(help="Add and list connections to shops and systems.", no_args_is_help=True)
app.add_typer(connection, name="connection")


@connection.command("add")
@guarded
def connection_add(
    name: Annotated[str, typer.Argument(help="A name for the connection, unique in the tenant.")],
    plugin: Annotated[str, typer.Option("--plugin", help="Source plugin, see `kpihub plugins`.")],
    options: Annotated[str, typer.Option("--options", help="JSON or YAML file with the plugin's options.")],
    credentials: Annotated[
        str | None,
        typer.Option(
            "--credentials", help="JSON or YAML file with the credentials, or - for standard input."
        ),
    ] = None,
    tenant: TenantOption = "default",
) -> None:
    """Add a connection; credentials are read from a file or standard input, never the command line."""
    with hub_context() as ctx:
        info = add_connection(
            ctx.ready_store,
            ctx.vault,
            ctx.registry,
            name=name,
            plugin=plugin,
            tenant=tenant,
            options=read_structured(options, "options"),
            credentials=read_structured(credentials, "credentials") if credentials else None,
            egress=ctx.egress,
        )
    secured = "; credentials encrypted" if info.has_credentials else ""
    console.print(f"added connection {info.name!r} ({info.plugin}) to tenant {info.tenant!r}{secured}")


@connection.command("list")
@guarded
def connection_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List connections (credentials show only as set or not set)."""
    with hub_context() as ctx:
        infos = list_connections(ctx.ready_store, tenant=tenant)
    if as_json:
        console.print_json(json.dumps([i.public() for i in infos]))
        return
    table = Table("tenant", "name", "plugin", "status", "credentials")
    for i in infos:
        table.add_row(i.tenant, i.name, i.plugin, i.status, "set" if i.has_credentials else "not set")
    console.print(table)


class SyncProgress:
    """A live line per stream partition: pages committed, records read, records quarantined."""

    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            TextColumn("{task.fields[pages]} pages"),
            TextColumn("{task.completed:.0f} records"),
            TextColumn("{task.fields[rejected]} quarantined"),
            TimeElapsedColumn(),
            console=err_console,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> SyncProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def __call__(self, stream: str, partition: str, page: PageResult) -> None:
        label = f"{stream}/{partition}" if partition else stream
        if label not in self._tasks:
            self._tasks[label] = self._bar.add_task(label, total=None, pages=0, rejected=0)
        task = self._tasks[label]
        fields = self._bar.tasks[task].fields
        self._bar.update(
            task, advance=page.read, pages=fields["pages"] + 1, rejected=fields["rejected"] + page.rejected
        )


def _report(result: RunResult, what: str) -> bool:
    """Print a run's outcome; return whether it succeeded."""
    console.print(
        f"{what} run {result.run_id} {result.status}: {result.rows_read} records read, "
        f"{result.rows_written} rows written, {result.rows_rejected} quarantined"
    )
    for stream, latest in sorted(result.freshness.items()):
        console.print(f"  {stream}: data up to {latest}")
    if result.stats.get("requests"):
        reasons = ", ".join(
            f"{name.removeprefix('retry:')} {count}"
            for name, count in sorted(result.stats.items())
            if name.startswith("retry:")
        )
        console.print(
            f"  {result.stats['requests']} requests, {result.stats.get('retries', 0)} retries"
            f"{f' ({reasons})' if reasons else ''}, {result.stats.get('token_refreshes', 0)} token refreshes"
        )
    for error in result.errors:
        where = f"{error['stream']}: " if error.get("stream") else ""
        err_console.print(f"[red]error:[/] {escape(where + error['error'])}", highlight=False)
    return result.status == "succeeded"


@app.command()
@guarded
def sync(
    names: Annotated[list[str] | None, typer.Argument(help="Connections to sync, together.")] = None,
    all_connections: Annotated[bool, typer.Option("--all", help="Sync every active connection.")] = False,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Ignore saved state; read all.")
    ] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="Re-read from this date (YYYY-MM-DD), ignoring saved state.")
    ] = None,
    tenant: TenantOption = "default",
) -> None:
    """Read new data from connections into the store, resuming where the last run stopped.

    Several connections sync concurrently: the rate budgets they share (one app, many shops)
    pace them, and a slow shop holds back no other.
    """
    if bool(names) == all_connections:
        raise ConfigError("name the connections to sync, or pass --all (not both)")
    try:
        since_date = dt.date.fromisoformat(since) if since else None
    except ValueError:
        raise ConfigError(f"--since {since!r} is not a date; write it as YYYY-MM-DD") from None
    if since_date is not None:
        check_day(since_date, "--since")
    with hub_context() as ctx:
        store = ctx.ready_store
        if all_connections:
            infos = [i for i in list_connections(store, tenant=tenant) if i.status == "active"]
        else:
            infos = [get_connection(store, name, tenant=tenant) for name in dict.fromkeys(names or [])]
        sources = [open_source(store, ctx.vault, ctx.registry, info, egress=ctx.egress) for info in infos]

        async def run_all() -> list[RunResult]:
            runs = (
                sync_connection(
                    store, info, source, full_refresh=full_refresh, since=since_date, progress=progress
                )
                for info, source in zip(infos, sources, strict=True)
            )
            return list(await asyncio.gather(*runs))

        with SyncProgress() as progress:
            results = asyncio.run(run_all())
    failed = 0
    for info, result in zip(infos, results, strict=True):
        console.print(f"[bold]{info.name}[/]", highlight=False)
        failed += not _report(result, "sync")
    if failed:
        raise typer.Exit(1)


@app.command()
@guarded
def remap(
    name: Annotated[str, typer.Argument(help="The connection whose standard rows to re-derive.")],
    force: Annotated[
        bool, typer.Option("--force", help="Apply even if records that map today would be quarantined.")
    ] = False,
    tenant: TenantOption = "default",
) -> None:
    """Re-derive standard rows from kept raw records under the current mappings; fetch nothing."""
    with hub_context() as ctx:
        info = get_connection(ctx.ready_store, name, tenant=tenant)
        source = open_source(ctx.ready_store, ctx.vault, ctx.registry, info, egress=ctx.egress)
        result = remap_connection(ctx.ready_store, info, source, force=force)
        asyncio.run(source.aclose())
    if not _report(result, "remap"):
        raise typer.Exit(1)
