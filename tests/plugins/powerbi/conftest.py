"""A Power BI simulator on loopback and sinks configured against it.

hypothesis is imported here, at collection, on purpose: its pytest plugin imports it lazily at
the end of the session otherwise, and on CPython 3.11.7 that late ``ast.parse`` (assertion
rewriting) intermittently fails with "AST constructor recursion depth mismatch" after these
tests, failing a run whose tests all passed.
"""

from __future__ import annotations

import hypothesis  # noqa: F401
import pytest

from plugins.powerbi import PowerBISink
from plugins.powerbi.simulator import PowerBISimulator
from sdk.simulator import running


@pytest.fixture
def powerbi():
    """``powerbi(**simulator_options)`` -> (simulator, make_sink(**options)), served on loopback."""
    started = []

    def start(simulator_class=PowerBISimulator, **kwargs):
        sim = simulator_class(**kwargs)
        context = running(sim)
        origin = context.__enter__()
        started.append(context)

        def make_sink(**options):
            creds = sim.credentials()
            values = {
                "tenant": creds["tenant"],
                "workspace_id": creds["workspace_id"],
                "api_url": origin,
                "identity_url": origin,
                "time_scale": sim.time_scale,
                **options,
            }
            return PowerBISink(
                PowerBISink.Options(**values),
                PowerBISink.Credentials(client_id=creds["client_id"], client_secret=creds["client_secret"]),
            )

        return sim, make_sink

    yield start
    for context in reversed(started):
        context.__exit__(None, None, None)
