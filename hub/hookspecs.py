"""The hooks kpihub calls. Each hook only *registers* objects; behaviour lives in classes.

The hub always calls hooks with keyword arguments, so a hook spec may gain new keyword
parameters without breaking plugins written against an older one.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from sdk import PROJECT_NAME, MetricProvider, Sink, Source

__all__ = ["hookspec", "register_metric_providers", "register_sinks", "register_sources"]

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def register_sources(register: Callable[[type[Source]], None]) -> None:
    """Register source classes (platforms, ERPs) records are read from.

    Receives ``register``; call it once per ``Source`` subclass the plugin provides. Called
    once when the plugin manager is built. A source name registered twice is a load error
    that names both plugins.

    Example::

        @hookimpl
        def register_sources(register):
            register(ShopeeSource)
    """


@hookspec
def register_sinks(register: Callable[[type[Sink]], None]) -> None:
    """Register sink classes (BI tools, databases) the published tables are pushed into.

    Receives ``register``; call it once per ``Sink`` subclass. Called once when the plugin
    manager is built; duplicate names are load errors naming both plugins.

    Example::

        @hookimpl
        def register_sinks(register):
            register(PowerBISink)
    """


@hookspec
def register_metric_providers(register: Callable[[MetricProvider], None]) -> None:
    """Register metric providers, each an instance whose ``definitions()`` lists KPIs.

    Receives ``register``; call it once per ``MetricProvider`` instance. Called once when the
    plugin manager is built; a provider name registered twice is a load error.

    Example::

        @hookimpl
        def register_metric_providers(register):
            register(MarketplaceHealthMetrics())
    """
