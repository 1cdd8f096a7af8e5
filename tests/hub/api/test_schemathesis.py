"""Property-based requests generated from the app's own OpenAPI document (schemathesis).

Every operation gets a bounded, deterministic set of generated requests: valid ones with the ids
of a seeded tenant (so the handlers do real work), valid ones with generated ids (mostly 404),
and invalid ones (which must be refused with a 4xx). Each answer must not be a server error and
must match what the document declares: status code, content type and body schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

# On the two databases the issue names; MariaDB's queries are checked by the other API tests.
pytestmark = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# (generation mode, use the seeded ids in the path, examples per operation)
PASSES = [
    (GenerationMode.POSITIVE, True, 6),
    (GenerationMode.POSITIVE, False, 3),
    (GenerationMode.NEGATIVE, True, 4),
]

EXAMPLES = settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _path_ids(world) -> dict[str, object]:
    ids = world["ids"]
    return {
        "tenant_id": ids["tenant_id"],
        "user_id": ids["user_id"],
        "key_id": ids["key_id"],
        "connection_id": ids["connection_id"],
        "stream": ids["stream"],
        "platform": ids["platform"],
        "shop_id": ids["shop_id"],
        "sink_id": ids["sink_id"],
        "alert_id": ids["alert_id"],
        "rule_id": ids["rule_id"],
    }


def _run_id(operation, world) -> object:
    ids = world["ids"]
    return ids["pipeline_run_id"] if "/pipeline-runs/" in operation.path else ids["run_id"]


def _run_operation(operation, mode, seeded, examples, world, make_key) -> None:
    path_parameters = None
    if seeded:
        declared = {p.name for p in operation.path_parameters}
        known = {**_path_ids(world), "run_id": _run_id(operation, world)}
        path_parameters = {name: known[name] for name in declared if name in known} or None
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @settings(EXAMPLES, max_examples=examples)
    @given(case=strategy)
    def run(case):
        # A fresh admin key per request: a generated request may revoke the key it was sent with
        # (DELETE /api-keys/{id}), which must not turn every later request into a 401.
        case.call_and_validate(headers=make_key("default", "admin", name="fuzz"), checks=CHECKS)

    run()


def test_every_operation_answers_as_its_openapi_declares(app, client, world, make_key):
    # The store is this test's own (a fresh SQLite file), so the generated writes and deletes
    # touch nothing else; no scheduler runs in the app, so nothing fires behind the requests.
    assert app.state.scheduler is None
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    failures = []
    for operation in operations:
        for mode, seeded, examples in PASSES:
            if seeded and not operation.path_parameters:
                continue
            try:
                _run_operation(operation, mode, seeded, examples, world, make_key)
            except (
                Exception,
                BaseExceptionGroup,
            ) as exc:  # collect them all: one report names every operation at fault
                failures.append(f"{operation.label} [{mode.value}, seeded={seeded}]:\n{exc}")
    app.state.runner.join()
    assert not failures, "\n\n".join(failures)


# Regressions for what the generated requests found.


def test_a_body_that_is_not_json_text_is_a_422_naming_the_body(client, admin, snapshot):
    before = snapshot()
    response = client.patch(
        "/api/v1/tenants/1",
        content=b"\xff\xfe{",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert [f["path"] for f in error["fields"]] == ["body"]
    assert snapshot() == before


def test_an_unknown_query_parameter_is_refused_not_ignored(client, admin, add_connection, snapshot):
    connection = add_connection(admin)
    before = snapshot()
    # A misspelt filter would otherwise answer with every run, and a stray one still run a remap.
    spec = client.get("/openapi.json").json()["paths"]
    for method, template, path in [
        ("get", "/api/v1/runs", "/api/v1/runs?conection_id=1"),
        (
            "post",
            "/api/v1/connections/{connection_id}/remap",
            f"/api/v1/connections/{connection['id']}/remap?forse=true",
        ),
    ]:
        response = client.request(method, path, headers=admin)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        name = path.rsplit("?", 1)[1].split("=")[0]
        assert [f["path"] for f in error["fields"]] == [f"query.{name}"]
        # The message lists what the route does accept, as its OpenAPI declares it.
        declared = sorted(
            p["name"] for p in spec[template][method].get("parameters", []) if p["in"] == "query"
        )
        assert error["message"].endswith("accepts: " + (", ".join(declared) or "none")), error["message"]
    assert snapshot() == before
    # The declared ones, the route's own and its dependencies', still pass.
    ok = client.get(f"/api/v1/runs?connection_id={connection['id']}&limit=5&offset=0", headers=admin)
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    "body",
    [
        # An interval schedule took any zone name and stored it.
        {"kind": "interval", "every_seconds": 3600, "timezone": "invalid"},
        {"kind": "interval", "every_seconds": 3600, "timezone": ""},
        # A zone directory, not a zone: the cron trigger's OSError was not caught (a 500).
        {"kind": "cron", "cron": "0 * * * *", "timezone": "America"},
    ],
)
def test_a_schedule_timezone_must_be_a_zone(client, admin, add_connection, snapshot, body):
    body = dict(body)  # the parameter is shared by every database's run; it is changed below
    connection = add_connection(admin)
    before = snapshot()
    response = client.put(f"/api/v1/connections/{connection['id']}/schedule", json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert [f["path"] for f in response.json()["error"]["fields"]] == ["body.timezone"]
    assert snapshot() == before
    body["timezone"] = "Asia/Shanghai"
    response = client.put(f"/api/v1/connections/{connection['id']}/schedule", json=body, headers=admin)
    assert response.status_code == 200, response.text
