"""``kpihub init``, ``kpihub plugins`` and ``kpihub keys``: setting the hub up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sdk import ConfigError

from ..vault import create_key_file, rotate
from .app import app, console, guarded, hub_context

__all__ = ["init", "keys", "plugins"]

keys = typer.Typer(help="Create and rotate the master key that encrypts credentials.", no_args_is_help=True)
app.add_typer(keys, name="keys")


@app.command()
@guarded
def init() -> None:
    """Create the store, or upgrade it to the newest schema."""
    with hub_context() as ctx:
        before, after = ctx.store.migrate()
        where = ctx.store.safe_url
    if before == after:
        console.print(f"store at {where} is up to date (schema {after})")
    else:
        console.print(f"store at {where} migrated from {before or 'empty'} to schema {after}")


@app.command()
@guarded
def plugins(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List installed plugins, what each registered, and load errors."""
    registry = hub_context().registry
    if as_json:
        console.print_json(json.dumps([p.as_dict() for p in registry.plugins]))
        return
    table = Table("plugin", "origin", "version", "hooks", "registered", "error")
    for p in registry.plugins:
        registered = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in p.registered.items())
        table.add_row(p.name, p.origin, p.version or "", ", ".join(p.hooks), registered, p.error or "")
    console.print(table)
    if registry.errors:
        console.print(f"[yellow]{len(registry.errors)} plugin(s) failed to load; they were skipped[/]")


@keys.command("create")
@guarded
def keys_create(
    file: Annotated[
        Path | None, typer.Option("--file", help="Where to write the key (default: KPIHUB_MASTER_KEY_FILE).")
    ] = None,
) -> None:
    """Write a new random master key to a file readable only by you (mode 0600)."""
    target = file or hub_context().settings.master_key_file
    if target is None:
        raise ConfigError("say where to write the key: --file PATH, or set KPIHUB_MASTER_KEY_FILE")
    kid = create_key_file(target)
    console.print(f"wrote a new master key (id {kid}) to {target}")
    console.print(f"use it with: export KPIHUB_MASTER_KEY_FILE={target.resolve()}")


@keys.command("rotate")
@guarded
def keys_rotate() -> None:
    """Re-encrypt every stored credential under a new master key and install that key."""
    with hub_context() as ctx:
        done = rotate(ctx.settings, ctx.ready_store)
    console.print(
        f"re-encrypted {done.credentials} credential set(s): key {done.old_key_id} -> {done.new_key_id}; "
        f"the old key is kept at {done.retired_key_file} for your backups (delete it when they expire)"
    )
