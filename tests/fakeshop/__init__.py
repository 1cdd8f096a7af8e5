"""A tiny fake shop platform, registered through the real ``register_sources`` hook.

It generates a deterministic seller (orders with line items, paged) and, independently of any
mapping, the standard rows a perfect connector would produce, so tests compare the hub's
output with that ground truth.
"""

from __future__ import annotations

from sdk import hookimpl

from .source import FakeShopSource

__version__ = "1.0.0"


@hookimpl
def register_sources(register):
    register(FakeShopSource)
