"""TikTok Shop: Partner API 202309 orders (lines, packages) and returns, with a simulator."""

from __future__ import annotations

from collections.abc import Callable

from sdk import Source, hookimpl

from .source import TikTokSource

__all__ = ["TikTokSource", "register_sources"]
__version__ = "1.0.0"


@hookimpl
def register_sources(register: Callable[[type[Source]], None]) -> None:
    register(TikTokSource)
