"""Bad input on every route: always a 4xx in the one shape (never a 5xx), and a refused
request changes nothing. Bodies and path values come from hypothesis, seeded and bounded."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _mutations(sample):
    """A valid sample body with one field replaced, dropped, or joined by an unknown one."""
    if not isinstance(sample, dict) or not sample:
        return json_values
    keys = sorted(sample)
    replaced = st.builds(lambda k, v: {**sample, k: v}, st.sampled_from(keys), json_values)
    dropped = st.builds(lambda k: {x: y for x, y in sample.items() if x != k}, st.sampled_from(keys))
    extra = st.builds(lambda k, v: {**sample, f"x{k}": v}, st.text(max_size=5), json_values)
    return replaced | dropped | extra | json_values


def _check(response, before, snapshot):
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and body["error"]["status"] == response.status_code
        assert snapshot() == before, "a refused request changed the store"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_bodies_never_crash_and_never_half_write(client, world, routes, snapshot, helpers):
    headers = world["admin_a"]
    with_body = sorted((key, sample) for key, (_, sample) in routes.items() if sample is not None)

    def checker(method, path, sample):
        @SETTINGS
        @given(body=_mutations(sample))
        def check(body):
            before = snapshot()
            _check(client.request(method.upper(), path, json=body, headers=headers), before, snapshot)

        return check

    for (method, template), sample in with_body:
        checker(method, helpers.fill(template, world["ids"], method), sample)()


path_values = st.integers(-(2**70), 2**70).map(str) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"), min_size=1, max_size=12
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_path_values_never_crash(client, world, routes, snapshot):
    headers = world["admin_a"]

    def checker(method, template):
        @settings(SETTINGS, max_examples=5)
        @given(value=path_values)
        def check(value):
            path = template
            for name in (
                "tenant_id",
                "user_id",
                "key_id",
                "connection_id",
                "run_id",
                "stream",
                "platform",
                "shop_id",
            ):
                path = path.replace("{" + name + "}", quote(value, safe=""))
            before = snapshot()
            _check(client.request(method.upper(), path, headers=headers), before, snapshot)

        return check

    for method, template in sorted(routes):
        if "{" in template:
            checker(method, template)()


def test_nul_characters_are_refused_everywhere(client, admin, add_connection, snapshot):
    cid = add_connection(admin)["id"]
    before = snapshot()
    for method, path, body in (
        ("POST", "/api/v1/users", {"email": "a@b.c", "name": "N\x00", "role": "viewer"}),
        ("GET", "/api/v1/audit?action=a%00b", None),
        ("PUT", f"/api/v1/connections/{cid}/streams/orders/mapping", {"override": {}, "note": "\x00"}),
    ):
        response = client.request(method, path, json=body, headers=admin)
        assert response.status_code == 422, response.text
    assert snapshot() == before


def test_oversized_numbers_and_unknown_fields(client, admin, add_connection, snapshot):
    cid = add_connection(admin)["id"]
    before = snapshot()
    assert client.get(f"/api/v1/connections/{2**70}", headers=admin).status_code == 422
    assert client.get(f"/api/v1/runs?connection_id={2**64}", headers=admin).status_code == 422
    response = client.put(
        f"/api/v1/connections/{cid}/schedule",
        json={"kind": "interval", "every_seconds": 60, "when": 1},
        headers=admin,
    )
    assert response.status_code == 422 and response.json()["error"]["fields"][0]["path"] == "body.when"
    cron = client.put(
        f"/api/v1/connections/{cid}/schedule", json={"kind": "cron", "cron": "61 * * * *"}, headers=admin
    )
    assert cron.status_code == 422 and cron.json()["error"]["fields"][0]["path"] == "body.cron"
    assert snapshot() == before
