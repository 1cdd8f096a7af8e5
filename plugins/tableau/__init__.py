"""Tableau sink: each published table into a typed ``.hyper`` extract, written atomically.

With a server configured, each extract is then published as a data source (REST API,
personal access token, Overwrite).
"""

from __future__ import annotations

from collections.abc import Callable

from sdk import Sink, hookimpl

from .sink import HyperSink, TableauCredentials, TableauOptions

__all__ = ["HyperSink", "TableauCredentials", "TableauOptions"]
__version__ = "0.1.0"


@hookimpl
def register_sinks(register: Callable[[type[Sink]], None]) -> None:
    register(HyperSink)
