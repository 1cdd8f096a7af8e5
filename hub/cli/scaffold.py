"""``kpihub new-plugin``: scaffold a third-party plugin package."""

from __future__ import annotations

__all__: list[str] = []
