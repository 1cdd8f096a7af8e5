"""``kpihub push SINK`` and ``kpihub sink …``: deliver the published tables."""

from __future__ import annotations

__all__: list[str] = []
