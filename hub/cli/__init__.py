"""The ``kpihub`` command line."""

from __future__ import annotations

from . import connection, mapping, setup, simulate
from .app import app

__all__ = ["app", "main"]

_COMMANDS = (connection, mapping, setup, simulate)  # imported for their registrations on ``app``


def main() -> None:
    """Entry point of the ``kpihub`` console script."""
    app()
