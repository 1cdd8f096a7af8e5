"""Power BI push-dataset sink (Microsoft Entra client credentials through msal).

Work in progress: registers nothing until the sink lands.
"""

from __future__ import annotations

__all__: list[str] = []
__version__ = "0.1.0"
