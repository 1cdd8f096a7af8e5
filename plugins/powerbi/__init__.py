"""Power BI push-dataset sink (Microsoft Entra client credentials through msal) and its simulator.

The published tables become the tables of one push dataset in a workspace, with typed columns,
relationships from facts to dimensions and DAX measures that re-aggregate ratios; rows are
posted in batches paced to the documented limits.
"""

from __future__ import annotations

from collections.abc import Callable

from sdk import Sink, hookimpl

from .options import PowerBICredentials, PowerBIOptions
from .sink import PowerBISink

__all__ = ["PowerBICredentials", "PowerBIOptions", "PowerBISink"]
__version__ = "0.1.0"


@hookimpl
def register_sinks(register: Callable[[type[Sink]], None]) -> None:
    register(PowerBISink)
