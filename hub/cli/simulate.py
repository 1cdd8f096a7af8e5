"""``kpihub simulate``: serve a platform simulator on loopback, for development and demos."""

from __future__ import annotations

from typing import Annotated

import typer

from sdk import ConfigError

from .app import app, err_console, guarded, hub_context

__all__ = ["simulate"]


@app.command()
@guarded
def simulate(
    platform: Annotated[
        str, typer.Argument(help="The source plugin whose platform to simulate, e.g. amazon.")
    ],
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Loopback port; 0 picks a free one.")
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated seller.")] = 1,
) -> None:
    """Serve a simulator on 127.0.0.1; the first output line is JSON with its URLs and credentials."""
    source = hub_context().registry.source(platform)
    simulator = source.simulator(seed)
    if simulator is None:
        raise ConfigError(f"plugin {platform!r} ships no simulator")
    from sdk.simulator import serve  # the ASGI stack loads only for this command

    err_console.print(f"serving the {platform} simulator (seed {seed}); Ctrl-C stops it")
    try:
        serve(simulator, host="127.0.0.1", port=port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
