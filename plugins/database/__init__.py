"""Database sink: the published tables into the seller's own database.

Work in progress: registers nothing until the sink lands.
"""

from __future__ import annotations

__all__: list[str] = []
__version__ = "0.1.0"
