"""Tenant isolation and roles: every route, tried with the wrong key, refuses and changes nothing."""

from __future__ import annotations

import io

import pytest

from hub.api import API_PREFIX
from hub.api.routes import ROUTERS
from hub.api.routes.target_workbooks import XLSX
from hub.kpi.xlsx import read_targets_xlsx

MARKERS = (
    "alpha-conn",
    "alpha-other",
    "alice@alpha.example",
    "alpha-key",
    "ALPHA-SHOP",
    "ALPHA-TWO",
    "alpha-sink",
    "alpha-files",
    "alpha-rule",
    "alpha-team",
    "alpha-person",
)


def test_the_route_table_covers_every_route(routes):
    declared = {
        (method.lower(), API_PREFIX + route.path)
        for router in ROUTERS
        for route in router.routes
        for method in route.methods
    }
    assert declared == set(routes)


def _call(client, method, path, body, headers):
    return client.request(method.upper(), path, json=body, headers=headers)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_another_tenant_sees_and_changes_nothing(client, world, routes, snapshot, helpers):
    ids, admin_b = world["ids"], world["admin_b"]
    before = snapshot()
    problems = []
    for (method, template), (_, body) in sorted(routes.items()):
        if ("{" not in template and method != "delete") or (
            template.endswith("{path:path}") and method == "put"
        ):
            continue  # collections, and a file put (it writes into the caller's own area): see below
        response = _call(client, method, helpers.fill(template, ids, method), body, admin_b)
        if response.status_code != 404:
            problems.append(f"{method.upper()} {template}: {response.status_code} {response.text[:200]}")
    assert problems == []
    after = snapshot()
    # Only beta's own audit of nothing: no refused request writes anything at all.
    assert after == before


def test_another_tenants_lists_hold_none_of_its_objects(client, world, routes, helpers):
    admin_b = world["admin_b"]
    for (method, template), _ in sorted(routes.items()):
        if method != "get" or "{" in template:
            continue
        response = client.get(helpers.fill(template, world["ids"]), headers=admin_b)
        assert response.status_code == 200, (template, response.text)
        if response.headers["content-type"] == XLSX:
            items = [vars(t) for t in read_targets_xlsx(io.BytesIO(response.content))]
            text = repr(items)
        else:
            items, text = response.json()["items"], response.text
        for marker in MARKERS:
            assert marker not in text, (template, marker)
        for item in items:
            assert item.get("connection_id") != world["ids"]["connection_id"], template
            assert item.get("id") != world["ids"]["tenant_id"] or template != "/api/v1/tenants"


def test_creating_with_another_tenants_key_lands_in_that_tenant(client, world, hub):
    body = {
        "name": "alpha-conn",
        "plugin": "fakeshop",
        "options": {},
        "credentials": {"seller_id": "b", "api_key": "k"},
    }
    created = client.post("/api/v1/connections", json=body, headers=world["admin_b"])
    assert created.status_code == 201  # same name, other tenant: no clash, no leak
    assert created.json()["id"] != world["ids"]["connection_id"]
    listed = client.get("/api/v1/connections", headers=world["admin_a"]).json()["items"]
    assert [c["name"] for c in listed].count("alpha-conn") == 1


@pytest.mark.parametrize("role", ["viewer", "agency", "operator"])
def test_roles_without_the_right_get_403_and_change_nothing(
    client, world, routes, make_key, snapshot, helpers, role
):
    headers = make_key("default", role, name=f"{role}-key")
    allowed = helpers.role_permissions[role]
    before = snapshot()
    problems = []
    for (method, template), (permission, body) in sorted(routes.items()):
        if permission in allowed:
            continue
        response = _call(client, method, helpers.fill(template, world["ids"], method), body, headers)
        if response.status_code != 403:
            problems.append(f"{role} {method.upper()} {template}: {response.status_code}")
    assert problems == []
    assert snapshot() == before


def test_a_file_put_by_another_tenant_lands_in_its_own_area(client, world, hub):
    path = f"/api/v1/files/{world['ids']['file']}"
    assert client.put(path, content=b"beta's own", headers=world["admin_b"]).status_code == 200
    alpha = hub.egress.areas("default").uploads / world["ids"]["file"]
    beta = hub.egress.areas("beta").uploads / world["ids"]["file"]
    assert alpha.read_bytes() == b"staff_id,name\nP1,Li\n" and beta.read_bytes() == b"beta's own"
    assert client.get(path.replace("/files/", "/files?x="), headers=world["admin_b"]).status_code == 422
    listed = client.get("/api/v1/files", headers=world["admin_a"]).json()["items"]
    assert [f["path"] for f in listed] == [world["ids"]["file"]]
