"""The ``kpihub`` command: the typer app, its error handling and shared options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from sdk import ConfigError, CredentialError, KpihubError, MappingError, PluginError, StoreError

from ..context import HubContext
from ..redaction import scrub

__all__ = ["EXIT_CODES", "TenantOption", "app", "console", "err_console", "guarded"]

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="kpihub",
    help="Cross-border e-commerce KPI hub: sync shops, map to one standard, compute and push KPIs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

EXIT_CODES: dict[type[KpihubError], int] = {
    ConfigError: 2,
    CredentialError: 3,
    StoreError: 4,
    MappingError: 5,
    PluginError: 6,
}
"""Exit code by error class (the first matching base wins); other kpihub errors exit 1."""

TenantOption = Annotated[str, typer.Option("--tenant", help="Tenant the connection belongs to.")]


def exit_code(exc: KpihubError) -> int:
    for cls, code in EXIT_CODES.items():
        if isinstance(exc, cls):
            return code
    return 1


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a kpihub error into one clear line on standard error and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except KpihubError as exc:
            err_console.print(f"[bold red]error:[/] {escape(scrub(str(exc)))}", highlight=False)
            raise typer.Exit(exit_code(exc)) from None

    return wrapper


def hub_context() -> HubContext:
    return HubContext()
