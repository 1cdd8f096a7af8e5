"""The ``kpihub`` command line."""

from __future__ import annotations

from . import basis, connection, demo, kpi, manage, mapping, push, scaffold, service, setup, simulate
from .app import app

__all__ = ["app", "main"]

# Imported for their registrations on ``app``.
_COMMANDS = (basis, connection, demo, kpi, manage, mapping, push, scaffold, service, setup, simulate)


def main() -> None:
    """Entry point of the ``kpihub`` console script."""
    app()
