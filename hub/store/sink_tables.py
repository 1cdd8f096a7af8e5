"""Tables of the sinks: configured sinks and a push watermark per sink and table.

They live in the store's one ``metadata`` (imported at the end of ``tables.py``) so migrations
are checked against them like every other table.
"""

from __future__ import annotations

from .tables import Id, metadata  # noqa: F401  (used as tables are added)

__all__: list[str] = []
