"""TikTok Shop Partner API, 202309 versions (orders, returns).

Work in progress: registers nothing until its connector lands.
"""

from __future__ import annotations

__all__: list[str] = []
__version__ = "0.1.0"
