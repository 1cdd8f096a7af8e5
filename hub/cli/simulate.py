"""``kpihub simulate``: serve a platform simulator on loopback, for development and demos."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sdk import ConfigError

from .app import app, err_console, guarded, hub_context

__all__ = ["simulate"]


@app.command()
@guarded
def simulate(
    platform: Annotated[
        str, typer.Argument(help="The source or sink plugin to simulate, e.g. amazon or powerbi.")
    ],
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Loopback port; 0 picks a free one.")
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated seller.")] = 1,
) -> None:
    """Serve a simulator on 127.0.0.1; the first output line is JSON with its URLs and credentials."""
    registry = hub_context().registry
    # A sink (a BI tool) may ship a simulator too; sources are looked up first, by plugin name
    # or by the platform they read (`mabang` for the `erp_mabang` plugin).
    by_platform = {source.platform: source for source in registry.sources.values()}
    plugin: type[Any]
    if platform in registry.sinks:
        plugin = registry.sinks[platform]
    elif platform not in registry.sources and platform in by_platform:
        plugin = by_platform[platform]
    else:
        plugin = registry.source(platform)
    simulator = plugin.simulator(seed)
    if simulator is None:
        raise ConfigError(f"plugin {platform!r} ships no simulator")
    from sdk.simulator import serve  # the ASGI stack loads only for this command

    err_console.print(f"serving the {platform} simulator (seed {seed}); Ctrl-C stops it")
    try:
        serve(simulator, host="127.0.0.1", port=port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
