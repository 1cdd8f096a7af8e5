"""One error shape for every error, whoever raises it: our code, FastAPI's validation, routing."""

from __future__ import annotations

import pytest

from hub.api.errors import CODES

# The API's own logic: no database changes it.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SHAPE = {"status", "code", "message", "fields"}


def assert_error(response, status, *, path=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == SHAPE, error
    assert error["status"] == status and error["code"] == CODES[status]
    assert isinstance(error["message"], str) and error["message"]
    for field in error["fields"]:
        assert set(field) == {"path", "reason"} and field["reason"]
    if path is not None:
        assert path in [f["path"] for f in error["fields"]], error["fields"]
    return error


def test_missing_and_unknown_keys_are_401(client):
    assert_error(client.get("/api/v1/connections"), 401)
    assert_error(client.get("/api/v1/connections", headers={"Authorization": "Bearer kph_nope"}), 401)
    assert_error(client.get("/api/v1/connections", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)


def test_unknown_route_and_method(client, admin):
    assert_error(client.get("/api/v1/no-such-thing", headers=admin), 404)
    assert_error(client.delete("/api/v1/plugins", headers=admin), 405)


def test_unknown_id_is_404(client, admin):
    assert_error(client.get("/api/v1/connections/999999", headers=admin), 404)


def test_role_without_the_right_is_403(client, make_key):
    assert_error(client.get("/api/v1/users", headers=make_key(role="viewer")), 403)


def test_body_validation_names_the_field(client, admin):
    body = {"name": "shop1", "plugin": "fakeshop", "options": {"page_size": "many"}, "credentials": {}}
    error = assert_error(client.post("/api/v1/connections", json=body, headers=admin), 422)
    paths = [f["path"] for f in error["fields"]]
    assert "body.options.page_size" in paths and "body.credentials.api_key" in paths


def test_fastapi_validation_errors_take_the_shape(client, admin):
    assert_error(client.get("/api/v1/connections?limit=0", headers=admin), 422, path="query.limit")
    assert_error(client.get("/api/v1/connections/abc", headers=admin), 422, path="path.connection_id")
    assert_error(
        client.post("/api/v1/users", json={"email": "x@y", "role": "god"}, headers=admin),
        422,
        path="body.role",
    )
    malformed = client.post(
        "/api/v1/users", content=b"{not json", headers={**admin, "Content-Type": "application/json"}
    )
    assert_error(malformed, 422)


def test_conflict_is_409(client, admin, add_connection):
    add_connection(admin, "shop1")
    body = {
        "name": "shop1",
        "plugin": "fakeshop",
        "options": {},
        "credentials": {"seller_id": "a", "api_key": "b"},
    }
    assert_error(client.post("/api/v1/connections", json=body, headers=admin), 409, path="body.name")


@pytest.mark.parametrize("secret", ["sk-in-an-error-9a8b7c6d"])
def test_errors_never_echo_input(client, admin, secret):
    body = {"name": "s", "plugin": "fakeshop", "options": {"seed": secret}, "credentials": {"api_key": 5}}
    response = client.post("/api/v1/connections", json=body, headers=admin)
    assert_error(response, 422)
    assert secret not in response.text
