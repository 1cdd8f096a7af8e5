"""Amazon: Selling Partner API (orders, items, refunds, FBA inventory) and Amazon Ads."""

from __future__ import annotations

from collections.abc import Callable

from sdk import Source, hookimpl

from .source import AmazonSource

__all__ = ["AmazonSource", "register_sources"]
__version__ = "1.0.0"


@hookimpl
def register_sources(register: Callable[[type[Source]], None]) -> None:
    register(AmazonSource)
