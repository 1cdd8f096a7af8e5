"""Tableau sink: each published table into a typed ``.hyper`` extract, written atomically.

Publishing the extracts to Tableau Server / Cloud is not part of this plugin yet.
"""

from __future__ import annotations

from collections.abc import Callable

from sdk import Sink, hookimpl

from .sink import HyperSink, TableauOptions

__all__ = ["HyperSink", "TableauOptions"]
__version__ = "0.1.0"


@hookimpl
def register_sinks(register: Callable[[type[Sink]], None]) -> None:
    register(HyperSink)
