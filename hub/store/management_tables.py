"""Tables of KPI management: targets, scorecards, adjustments, alert rules, alerts, work orders.

They live in the store's one ``metadata`` (imported at the end of ``tables.py``) so migrations
are checked against them like every other table.
"""

from __future__ import annotations

from .tables import Id, metadata  # noqa: F401  (used as tables are added)

__all__: list[str] = []
