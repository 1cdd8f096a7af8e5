"""``kpihub basis``: see and change the tenant's counting basis (口径), one audited version each."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from sdk import ConfigError

from ..kpi.basis import CountingBasis, current_basis, list_bases, set_counting_basis
from ..kpi.engine import resolve_tenant
from .app import TenantOption, app, console, guarded, hub_context

__all__ = ["basis", "basis_history", "basis_set", "basis_show"]

basis = typer.Typer(help="The counting basis (口径) KPIs are computed on.", no_args_is_help=True)
app.add_typer(basis, name="basis")


@basis.command("show")
@guarded
def basis_show(
    tenant: TenantOption = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the current counting basis and its version."""
    with hub_context() as ctx, ctx.ready_store.begin() as conn:
        tenant_id, _ = resolve_tenant(conn, tenant)
        current = current_basis(conn, tenant_id)
    if as_json:
        console.print_json(current.model_dump_json())
        return
    table = Table(title=f"counting basis v{current.version} of tenant {tenant!r}")
    table.add_column("option")
    table.add_column("value")
    for name, value in current.settings.model_dump(mode="json").items():
        table.add_row(name, json.dumps(value))
    console.print(table)


@basis.command("set")
@guarded
def basis_set(
    changes: Annotated[
        list[str], typer.Argument(help="OPTION=VALUE pairs, e.g. tax_included=false fx_rate=month_average.")
    ],
    note: Annotated[str | None, typer.Option("--note", help="Why, for the audit log.")] = None,
    actor: Annotated[str, typer.Option("--actor", help="Who is making the change.")] = "cli",
    tenant: TenantOption = "default",
) -> None:
    """Change options of the counting basis; a new version is stored only if something changed."""
    parsed = _changes(changes)
    with hub_context() as ctx, ctx.ready_store.begin() as conn:
        tenant_id, _ = resolve_tenant(conn, tenant)
        before = current_basis(conn, tenant_id).version
        stored = set_counting_basis(conn, tenant_id, parsed, actor=actor, note=note)
    if stored.version == before:
        console.print(f"nothing changed: the counting basis stays v{before}")
    else:
        console.print(
            f"counting basis v{stored.version} stored; "
            "the next `kpihub compute` recomputes every KPI under it"
        )


@basis.command("history")
@guarded
def basis_history(tenant: TenantOption = "default") -> None:
    """List every version of the counting basis with who changed it and why."""
    with hub_context() as ctx, ctx.ready_store.begin() as conn:
        tenant_id, _ = resolve_tenant(conn, tenant)
        versions = list_bases(conn, tenant_id)
    table = Table(title=f"counting bases of tenant {tenant!r}")
    for column in ("version", "created", "by", "note"):
        table.add_column(column)
    for v in versions:
        table.add_row(str(v.version), v.created_at.isoformat(timespec="seconds"), v.created_by, v.note or "")
    console.print(table)


def _changes(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            known = ", ".join(CountingBasis.model_fields)
            raise ConfigError(f"{pair!r} is not OPTION=VALUE; options are: {known}")
        try:
            out[name.strip()] = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            out[name.strip()] = raw
    return out
