"""What a plugin author hands the kit: a connection that works, and how to reach the platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["KitCase"]


@dataclass
class KitCase:
    """One working connection of the source under test.

    ``options`` and ``credentials`` are what a user would give ``kpihub connection add``; they
    must be accepted by the platform behind ``simulator`` (an ``sdk.simulator.Simulator``) or
    ``transport`` (an httpx transport replaying recorded responses, e.g. ``httpx.MockTransport``).
    A source that makes no HTTP calls needs neither. ``bad_credentials`` are refused by the
    platform; by default the kit alters every secret field. ``invalid_options`` are option sets
    that must be refused, beyond the kit's own unknown-key and wrong-type probes.
    """

    options: dict[str, Any]
    credentials: dict[str, Any] = field(default_factory=dict)
    simulator: Any = None
    transport: httpx.AsyncBaseTransport | None = None
    bad_credentials: dict[str, Any] | None = None
    invalid_options: list[dict[str, Any]] = field(default_factory=list)

    def http_transport(self) -> httpx.AsyncBaseTransport | None:
        """The transport the source's clients use: the simulator's in-process one by default."""
        if self.transport is not None:
            return self.transport
        if self.simulator is not None:
            transport: httpx.AsyncBaseTransport = self.simulator.transport()
            return transport
        return None
