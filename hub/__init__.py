"""kpihub: the hub that syncs shops, maps their data to one standard, and turns it into KPIs."""

from __future__ import annotations

__version__ = "0.1.0"
