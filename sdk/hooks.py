"""The marker plugin authors put on their hook implementations.

::

    from sdk import hookimpl

    @hookimpl
    def register_sources(register):
        register(MySource)
"""

from __future__ import annotations

import pluggy

__all__ = ["PROJECT_NAME", "hookimpl"]

PROJECT_NAME = "kpihub"
"""The pluggy project name, which is also the entry-point group plugins are declared in."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
