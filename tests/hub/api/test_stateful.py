"""Stateful API testing: sequences of calls chained by the links schemathesis finds.

Each scenario starts from the same seeded store (a copy put back), so it depends on its own
choices alone, as Hypothesis needs; SQLite makes that copy cheap, and the queries are the same
on every database (the stateless test runs on PostgreSQL too).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from .test_schemathesis import CHECKS

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_sequences_of_calls_chained_by_their_links_answer_as_declared(app, hub, world, make_key):
    """Stateful: schemathesis chains calls through the links it finds in the document (an id a
    POST answers feeds the GET, PATCH and DELETE of that object) and checks every answer.

    Each scenario starts from the same store (a copy of the seeded one put back), so a scenario
    is a function of its choices alone, as Hypothesis needs it to be."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    store_file = Path(hub.ready_store.engine.url.database)
    key = make_key("default", "admin", name="stateful")
    hub.ready_store.engine.dispose()
    pristine = store_file.read_bytes()
    Machine = schema.as_state_machine()
    answered: list[tuple[str, int]] = []

    class Chained(Machine):  # type: ignore[misc, valid-type]
        def setup(self):
            app.state.runner.join()
            hub.ready_store.engine.dispose()
            for suffix in ("-wal", "-shm"):
                Path(f"{store_file}{suffix}").unlink(missing_ok=True)
            store_file.write_bytes(pristine)
            super().setup()

        def get_call_kwargs(self, case):
            return {"headers": key}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            answered.append((case.operation.label, response.status_code))
            case.validate_response(response, checks=CHECKS[:-1])

    Chained.run(
        settings=settings(
            max_examples=30,
            stateful_step_count=6,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    app.state.runner.join()
    # Chains reached objects by ids other answers gave: 2xx answers of routes with a path id.
    chained = {label for label, status in answered if "{" in label and status < 300}
    print(sorted(set(answered)))
    assert len(answered) > 60 and len(chained) >= 5, sorted(chained)
