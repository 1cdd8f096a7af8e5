"""``kpihub alerts``: alert rules, evaluation, alerts and their work orders."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from sdk import ConfigError

from ..kpi.alerts import (
    add_rule,
    evaluate_alerts,
    list_alerts,
    list_rules,
    set_alert_status,
    set_work_order_status,
    update_rule,
)
from .app import TenantOption, app, console, guarded, hub_context
from .files import read_structured
from .manage_options import Actor, AsJson, print_json

__all__ = ["alerts"]

alerts = typer.Typer(help="Alert rules, alerts and their work orders.", no_args_is_help=True)
rules = typer.Typer(help="Add and list alert rules.", no_args_is_help=True)
app.add_typer(alerts, name="alerts")
alerts.add_typer(rules, name="rule")


@rules.command("add")
@guarded
def rule_add(
    file: Annotated[str, typer.Argument(help="JSON/YAML file with the rule; channel URLs may hold secrets.")],
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Add an alert rule; its channel URLs are stored encrypted."""
    values = read_structured(file, "alert rule")
    with hub_context() as ctx:
        rule_id = add_rule(ctx.ready_store, ctx.vault, values, tenant=tenant, actor=actor)
    console.print(f"added alert rule {rule_id}")


@rules.command("set")
@guarded
def rule_set(
    name: Annotated[str, typer.Argument(help="The rule's name.")],
    enabled: Annotated[bool | None, typer.Option("--on/--off", help="Switch the rule on or off.")] = None,
    channels: Annotated[
        str | None, typer.Option("--channels", help="JSON/YAML file with a list of apprise URLs (secrets).")
    ] = None,
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Switch a rule on or off, or point it at new channels (read from a file, stored encrypted)."""
    urls = read_structured(channels, "channels") if channels else None
    if urls is not None and not (isinstance(urls, list) and all(isinstance(u, str) for u in urls)):
        raise ConfigError("the channels file must hold a list of apprise URLs")
    with hub_context() as ctx:
        update_rule(
            ctx.ready_store, ctx.vault, name, channels=urls, enabled=enabled, tenant=tenant, actor=actor
        )
    console.print(f"alert rule {name} updated")


@rules.command("list")
@guarded
def rule_list(as_json: AsJson = False, tenant: TenantOption = "default") -> None:
    """Alert rules, channels masked."""
    with hub_context() as ctx:
        found = list_rules(ctx.ready_store, ctx.vault, tenant=tenant)
    if as_json:
        print_json(found)
        return
    table = Table("id", "name", "kind", "watch", "condition", "severity", "channels")
    for r in found:
        if r["kind"] == "metric":
            watch = f"{r['metric_id']} {r['scope_type']}:{r['scope_id'] or '*'} ({r['grain']})"
        elif r["kind"] == "data_quality":
            watch = f"check {r['check']} (findings counted)"
        else:
            watch = f"connection {r['scope_id'] or '*'}"
        condition = (
            f"{r['comparator']} {r['threshold']:g} x{r['window']}"
            if r["kind"] == "metric"
            else f"{r['threshold']:g}"
        )
        table.add_row(
            str(r["id"]), r["name"], r["kind"], watch, condition, r["severity"], ", ".join(r["channels"])
        )
    console.print(table)


@alerts.command("evaluate")
@guarded
def alerts_evaluate(tenant: TenantOption = "default") -> None:
    """Evaluate every rule now; raise, resolve and deliver alerts."""
    with hub_context() as ctx:
        raised = evaluate_alerts(ctx.ready_store, ctx.vault, tenant=tenant)
    for a in raised:
        console.print(
            f"alert {a.alert_id} [{a.severity}] {a.message} (delivery: {a.delivery})", highlight=False
        )
    console.print(f"{len(raised)} new alert(s)")


@alerts.command("show")
@guarded
def alerts_show(
    status: Annotated[str | None, typer.Option("--status", help="open, acknowledged or resolved.")] = None,
    as_json: AsJson = False,
    tenant: TenantOption = "default",
) -> None:
    """Alerts, newest first."""
    with hub_context() as ctx:
        found = list_alerts(ctx.ready_store, tenant=tenant, status=status)
    if as_json:
        print_json(found)
        return
    table = Table("id", "raised", "rule", "severity", "status", "message", "work order")
    for a in found:
        order = (
            f"{a['work_order_id']} ({a['work_order_status']}, {a['assignee'] or 'unassigned'})"
            if a["work_order_id"]
            else ""
        )
        table.add_row(
            str(a["alert_id"]),
            a["raised_at"].isoformat(timespec="minutes"),
            a["rule"],
            a["severity"],
            a["status"],
            a["message"],
            order,
        )
    console.print(table)


@alerts.command("ack")
@guarded
def alerts_ack(
    alert_id: Annotated[int, typer.Argument()],
    resolve: Annotated[bool, typer.Option("--resolve", help="Resolve instead of acknowledging.")] = False,
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Acknowledge (or resolve) an alert."""
    with hub_context() as ctx:
        set_alert_status(
            ctx.ready_store, alert_id, "resolved" if resolve else "acknowledged", tenant=tenant, actor=actor
        )
    console.print(f"alert {alert_id} {'resolved' if resolve else 'acknowledged'}")


@alerts.command("workorder")
@guarded
def alerts_workorder(
    order_id: Annotated[int, typer.Argument()],
    status: Annotated[str, typer.Option("--status", help="open, in_progress or done.")],
    assignee: Annotated[str | None, typer.Option("--assignee")] = None,
    tenant: TenantOption = "default",
    actor: Actor = "cli",
) -> None:
    """Move a work order along, optionally re-assigning it."""
    with hub_context() as ctx:
        set_work_order_status(
            ctx.ready_store, order_id, status, assignee=assignee, tenant=tenant, actor=actor
        )
    console.print(f"work order {order_id} is {status}")
