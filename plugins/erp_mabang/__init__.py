"""Mabang ERP (orders with logistics, returns, SKU costs, stock, shops, FX rates)."""

from __future__ import annotations

from collections.abc import Callable

from sdk import Source, hookimpl

from .source import MabangSource

__all__ = ["MabangSource", "register_sources"]
__version__ = "1.0.0"


@hookimpl
def register_sources(register: Callable[[type[Source]], None]) -> None:
    register(MabangSource)
