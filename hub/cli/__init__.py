"""The ``kpihub`` command line."""

from __future__ import annotations

# The command modules are imported for their registrations on ``app``.
from . import (  # noqa: F401
    basis,
    check,
    connection,
    demo,
    kpi,
    manage,
    mapping,
    push,
    reconcile,
    scaffold,
    service,
    setup,
    simulate,
)
from .app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``kpihub`` console script."""
    app()
