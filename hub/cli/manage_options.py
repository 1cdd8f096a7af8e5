"""Options and helpers shared by the KPI management commands."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from sdk import ConfigError

from ..context import HubContext
from .app import console

__all__ = [
    "Actor",
    "AsJson",
    "Grain",
    "Period",
    "known_metrics",
    "print_json",
    "scope_arg",
    "show_number",
    "show_ratio",
]

Grain = Annotated[str, typer.Option("--grain", help="month, quarter or year.")]
Period = Annotated[str, typer.Option("--period", help="2026-03, 2026-Q1 or 2026 (or the first day).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Actor = Annotated[str, typer.Option("--actor", help="Who is making the change, for the audit log.")]


def scope_arg(text: str) -> tuple[str, str]:
    scope_type, sep, scope_id = text.partition(":")
    if not sep or not scope_id:
        raise ConfigError(f"scope {text!r} is not TYPE:ID, e.g. tenant:default, team:T1 or shop:amazon:S1")
    return scope_type, scope_id


def known_metrics(ctx: HubContext) -> list[str] | None:
    """Metric ids the installed providers define; None (no check) when no provider is installed."""
    known = [d.metric_id for p in ctx.registry.metric_providers.values() for d in p.definitions()]
    return known or None


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


def show_number(value: float | None) -> str:
    return "not computed" if value is None else f"{value:,.4g}"


def show_ratio(value: float | None) -> str:
    return "not configured" if value is None else f"{value:.1%}"
