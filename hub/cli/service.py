"""``kpihub serve``, ``kpihub apikey``, ``kpihub worker``: the hub as a service."""

from __future__ import annotations

__all__: list[str] = []
