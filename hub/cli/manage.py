"""Commands of KPI management: targets, scorecards, alerts."""

from __future__ import annotations

__all__: list[str] = []
