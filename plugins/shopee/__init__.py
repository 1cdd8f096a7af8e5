"""Shopee Open Platform v2 (orders, returns, escrow, CPC ads).

Work in progress: registers nothing until its connector lands.
"""

from __future__ import annotations

__all__: list[str] = []
__version__ = "0.1.0"
