"""``kpihub new-plugin``: scaffold a third-party plugin package that passes the SDK's test kit.

The package is rendered with copier from ``hub/scaffold_template``: its own ``pyproject.toml``
declaring an entry point in group ``kpihub``, the plugin's modules, a simulator with ground
truth (sources and sinks) and tests that run the SDK contract kit.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sdk import ConfigError
from sdk import __version__ as sdk_version

from .app import app, console, guarded

__all__ = ["TEMPLATE", "Auth", "Kind", "generate", "new_plugin"]

TEMPLATE = Path(__file__).parents[1] / "scaffold_template"
"""The copier template, shipped as package data of ``hub``."""

_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


class Kind(StrEnum):
    source = "source"
    sink = "sink"
    metrics = "metrics"


class Auth(StrEnum):
    bearer = "bearer"
    oauth_refresh = "oauth-refresh"
    hmac_query = "hmac-query"
    hmac_body = "hmac-body"


def generate(name: str, kind: Kind, auth: Auth, directory: Path) -> Path:
    """Render the package for ``name`` into ``directory`` (which must not hold files yet)."""
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"plugin name {name!r} is not valid: use 1-40 lower-case letters, digits and '_', "
            "starting with a letter (e.g. lazada or erp_lingxing)"
        )
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ConfigError(f"{directory} already exists and is not empty; choose another --dir")
    import copier  # the templating stack loads only for this command

    copier.run_copy(
        str(TEMPLATE),
        str(directory),
        data={"name": name, "kind": kind.value, "auth": auth.value, "sdk_version": sdk_version},
        defaults=True,
        quiet=True,
        unsafe=False,
    )
    return directory


@app.command("new-plugin")
@guarded
def new_plugin(
    name: Annotated[str, typer.Argument(help="Plugin name: lower-case letters, digits and '_'.")],
    kind: Annotated[Kind, typer.Option("--kind", help="What the plugin provides.")] = Kind.source,
    auth: Annotated[
        Auth, typer.Option("--auth", help="How the platform authorises calls (sources and sinks).")
    ] = Auth.bearer,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to create it (default: ./kpihub-NAME).")
    ] = None,
) -> None:
    """Create a pip-installable plugin package that passes the SDK contract kit."""
    target = directory or Path.cwd() / f"kpihub-{name.replace('_', '-')}"
    generate(name, kind, auth, target)
    console.print(f"created {target}")
    steps = f"cd {target} && pip install -e '.[test]' && kpihub plugins && pytest"
    console.print(f"next: {steps}", highlight=False, markup=False)
