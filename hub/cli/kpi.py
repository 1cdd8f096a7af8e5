"""``kpihub compute`` and ``kpihub kpi show``: the KPI engine's commands."""

from __future__ import annotations

__all__: list[str] = []
