"""The ``files`` source: standard tables imported from CSV or JSON Lines files.

Sellers keep what no platform API holds (staff, teams, assignments, SKU costs, categories)
in spreadsheets; exports from platforms without a connector arrive the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from sdk import Source, hookimpl

from .source import FilesSource

__all__ = ["FilesSource", "register_sources"]


@hookimpl
def register_sources(register: Callable[[type[Source]], None]) -> None:
    register(FilesSource)
