"""``kpihub mapping``: see, validate, preview, change and roll back field mappings."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy import select

from sdk import MappingError, NotFound, Source, Stream

from ..connections import get_connection, open_source
from ..context import HubContext
from ..mapping import compile_mapping, merge_mapping, preview
from ..mapping_versions import history, provided_fields, rollback, save_override
from ..store.tables import raw_records
from ..sync import partition_defaults
from .app import TenantOption, app, console, guarded, hub_context
from .files import read_mapping

__all__ = ["mapping"]

mapping = typer.Typer(help="Field mappings from raw records to the standard model.", no_args_is_help=True)
app.add_typer(mapping, name="mapping")

ConnectionArg = Annotated[str, typer.Argument(help="The connection.")]
StreamArg = Annotated[str, typer.Argument(help="The stream, e.g. orders.")]


def _stream(source: Source, name: str) -> Stream:
    streams = source.streams()
    for stream in streams:
        if stream.name == name:
            return stream
    known = ", ".join(s.name for s in streams)
    raise NotFound(f"connection has no stream {name!r} (streams: {known})")


def _open(ctx: HubContext, connection: str, tenant: str, stream: str) -> tuple[int, Stream]:
    info = get_connection(ctx.ready_store, connection, tenant=tenant)
    source = open_source(ctx.ready_store, ctx.vault, ctx.registry, info, egress=ctx.egress)
    return info.id, _stream(source, stream)


def _problems(exc: MappingError) -> str:
    return "; ".join(f"{path}: {reason}" for path, reason in exc.problems) or str(exc)


@mapping.command("show")
@guarded
def mapping_show(connection: ConnectionArg, stream: StreamArg, tenant: TenantOption = "default") -> None:
    """Print the mapping in force: the plugin's default with the client's override merged in."""
    with hub_context() as ctx:
        connection_id, found = _open(ctx, connection, tenant, stream)
        with ctx.ready_store.begin() as conn:
            versions = history(conn, connection_id, stream)
    override = versions[-1].override if versions else {}
    console.print_json(json.dumps(merge_mapping(found.mapping(), override), default=str))


@mapping.command("set")
@guarded
def mapping_set(
    connection: ConnectionArg,
    stream: StreamArg,
    file: Annotated[str, typer.Argument(help="JSON or YAML override; names only the fields it changes.")],
    note: Annotated[str | None, typer.Option("--note", help="Why the mapping changes.")] = None,
    tenant: TenantOption = "default",
) -> None:
    """Save a client override as the next mapping version (then `kpihub remap` to apply it)."""
    override = read_mapping(file)
    ctx = hub_context()
    try:
        connection_id, found = _open(ctx, connection, tenant, stream)
        with ctx.ready_store.begin() as conn:
            version = save_override(conn, connection_id, found, override, actor="cli", note=note)
    except MappingError as exc:
        raise MappingError(
            f"the mapping is invalid, nothing was saved: {_problems(exc)}", exc.problems
        ) from None
    finally:
        ctx.close()
    console.print(
        f"saved mapping version {version} for {connection}/{stream}; run `kpihub remap {connection}`"
    )


@mapping.command("validate")
@guarded
def mapping_validate(
    connection: ConnectionArg,
    stream: StreamArg,
    file: Annotated[str, typer.Argument(help="JSON or YAML override to check.")],
    tenant: TenantOption = "default",
) -> None:
    """Check an override against the stream's default and the standard model; save nothing."""
    override = read_mapping(file)
    with hub_context() as ctx:
        _, found = _open(ctx, connection, tenant, stream)
    try:
        compile_mapping(merge_mapping(found.mapping(), override), provided=provided_fields(found))
    except MappingError as exc:
        raise MappingError(f"the mapping is invalid: {_problems(exc)}", exc.problems) from None
    console.print("the mapping is valid")


@mapping.command("preview")
@guarded
def mapping_preview(
    connection: ConnectionArg,
    stream: StreamArg,
    file: Annotated[
        str | None, typer.Option("--file", help="Override to try instead of the saved one.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many raw records.")] = 5,
    tenant: TenantOption = "default",
) -> None:
    """Apply a mapping to kept raw records and print the standard rows or each record's errors."""
    with hub_context() as ctx:
        info = get_connection(ctx.ready_store, connection, tenant=tenant)
        source = open_source(ctx.ready_store, ctx.vault, ctx.registry, info, egress=ctx.egress)
        found = _stream(source, stream)
        with ctx.ready_store.begin() as conn:
            versions = history(conn, info.id, stream)
            rows = [
                (row.data, row.partition_key)
                for row in conn.execute(
                    select(raw_records.c.data, raw_records.c.partition_key)
                    .where(raw_records.c.connection_id == info.id, raw_records.c.stream == stream)
                    .order_by(raw_records.c.id.desc())
                    .limit(limit)
                )
            ]
    override = read_mapping(file) if file else (versions[-1].override if versions else {})
    compiled = compile_mapping(merge_mapping(found.mapping(), override), provided=provided_fields(found))
    by_partition = partition_defaults(source, found)
    defaults = [by_partition.get(key, by_partition[None]) for _, key in rows]
    results = preview(compiled, [data for data, _ in rows], defaults, check=found.problems)
    console.print_json(json.dumps([r.model_dump(mode="json") for r in results]))


@mapping.command("history")
@guarded
def mapping_history(connection: ConnectionArg, stream: StreamArg, tenant: TenantOption = "default") -> None:
    """List the saved override versions of a stream's mapping."""
    with hub_context() as ctx:
        info = get_connection(ctx.ready_store, connection, tenant=tenant)
        with ctx.ready_store.begin() as conn:
            versions = history(conn, info.id, stream)
    if not versions:
        console.print(f"{connection}/{stream} uses the plugin's default mapping (no override saved)")
    for v in versions:
        console.print(f"version {v.version}  {v.created_at:%Y-%m-%d %H:%M}  {v.actor}  {v.note or ''}")


@mapping.command("rollback")
@guarded
def mapping_rollback(
    connection: ConnectionArg,
    stream: StreamArg,
    version: Annotated[int, typer.Argument(help="The version to return to; 0 is the plugin default.")],
    tenant: TenantOption = "default",
) -> None:
    """Make an earlier mapping version current again (saved as a new version)."""
    with hub_context() as ctx:
        connection_id, found = _open(ctx, connection, tenant, stream)
        with ctx.ready_store.begin() as conn:
            new = rollback(conn, connection_id, found, version, actor="cli")
    console.print(f"version {new} now equals version {version}; run `kpihub remap {connection}`")
