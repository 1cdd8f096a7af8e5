"""Shopee Open Platform v2: orders (with escrow), returns and daily CPC ads, per shop."""

from __future__ import annotations

from collections.abc import Callable

from sdk import Source, hookimpl

from .source import ShopeeSource

__all__ = ["ShopeeSource", "register_sources"]
__version__ = "1.0.0"
__sdk_version__ = "1.0.0"
"""The kpihub SDK this plugin was built with."""


@hookimpl
def register_sources(register: Callable[[type[Source]], None]) -> None:
    register(ShopeeSource)
