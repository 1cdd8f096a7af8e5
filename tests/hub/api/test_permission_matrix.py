"""Every route, role and data scope answers as the access rules say, generated from the route table.

Each route has a rule for scoped keys (``SCOPE_RULES``); a route added to the app without one
fails ``test_every_route_has_a_scope_rule``. For every route, every role, and a key of that role
that is unlimited, limited to the shop ``world``'s objects belong to (in scope), limited to
another shop (out of scope), and an admin of another tenant, the answer must be:

- 403 when the role lacks the route's permission;
- 404 for an object out of the key's scope or tenant (as if it did not exist);
- 403 for a tenant-wide change by a key limited to some shops;
- otherwise not refused (the route did its work, or said what was wrong with the request).

Refusals must change nothing; allowed calls are made last, reads before writes before deletes.
"""

from __future__ import annotations

import pytest

from .conftest import ROLE_PERMISSIONS

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SHOP = "shop"
"""An object bound to the shop ALPHA-SHOP (its connection, runs, alert, work order): 404 out of scope."""
LIST = "list"
"""A read of a collection or of tenant-wide settings: answered, cut to the key's scope."""
TENANT = "tenant"
"""A change to the whole tenant, or to something that carries every shop (sinks, uploads): 403 to a
key limited to some shops."""
PEOPLE = "people"
"""``world``'s user and key are unlimited, so a scoped admin cannot see them: 404."""

SCOPE_RULES: dict[tuple[str, str], str] = {
    ("get", "/api/v1/tenants"): LIST,
    ("get", "/api/v1/tenants/{tenant_id}"): LIST,
    ("patch", "/api/v1/tenants/{tenant_id}"): TENANT,
    ("get", "/api/v1/users"): LIST,
    ("post", "/api/v1/users"): TENANT,  # the sample user is unlimited: wider than a scoped admin
    ("get", "/api/v1/users/{user_id}"): PEOPLE,
    ("patch", "/api/v1/users/{user_id}"): PEOPLE,
    ("delete", "/api/v1/users/{user_id}"): PEOPLE,
    ("get", "/api/v1/api-keys"): LIST,
    ("post", "/api/v1/api-keys"): TENANT,  # the sample key is unlimited
    ("get", "/api/v1/api-keys/{key_id}"): PEOPLE,
    ("delete", "/api/v1/api-keys/{key_id}"): PEOPLE,
    ("get", "/api/v1/shops"): LIST,
    ("get", "/api/v1/shops/{platform}/{shop_id}"): SHOP,
    ("get", "/api/v1/connections"): LIST,
    ("post", "/api/v1/connections"): TENANT,
    ("get", "/api/v1/connections/{connection_id}"): SHOP,
    ("patch", "/api/v1/connections/{connection_id}"): SHOP,
    ("post", "/api/v1/connections/{connection_id}/check"): SHOP,
    ("post", "/api/v1/connections/{connection_id}/pause"): SHOP,
    ("post", "/api/v1/connections/{connection_id}/resume"): SHOP,
    ("post", "/api/v1/connections/{connection_id}/remap"): SHOP,
    ("get", "/api/v1/connections/{connection_id}/streams"): SHOP,
    ("get", "/api/v1/connections/{connection_id}/streams/{stream}/mapping"): SHOP,
    ("put", "/api/v1/connections/{connection_id}/streams/{stream}/mapping"): SHOP,
    ("post", "/api/v1/connections/{connection_id}/streams/{stream}/mapping/validate"): SHOP,
    ("post", "/api/v1/connections/{connection_id}/streams/{stream}/mapping/preview"): SHOP,
    ("get", "/api/v1/connections/{connection_id}/streams/{stream}/mapping/versions"): SHOP,
    ("post", "/api/v1/connections/{connection_id}/streams/{stream}/mapping/rollback"): SHOP,
    ("get", "/api/v1/schedules"): LIST,
    ("get", "/api/v1/connections/{connection_id}/schedule"): SHOP,
    ("put", "/api/v1/connections/{connection_id}/schedule"): SHOP,
    ("delete", "/api/v1/connections/{connection_id}/schedule"): SHOP,
    ("get", "/api/v1/runs"): LIST,
    ("get", "/api/v1/runs/{run_id}"): SHOP,
    ("get", "/api/v1/pipeline-runs"): LIST,
    ("get", "/api/v1/pipeline-runs/{run_id}"): SHOP,
    ("post", "/api/v1/connections/{connection_id}/runs"): SHOP,
    ("get", "/api/v1/connections/{connection_id}/freshness"): SHOP,
    ("get", "/api/v1/kpis"): LIST,
    ("get", "/api/v1/data-quality"): LIST,  # cut to the key's shops and the tenant's shared inputs
    ("get", "/api/v1/alert-rules"): LIST,
    ("post", "/api/v1/alert-rules"): TENANT,  # the sample rule watches the whole tenant
    ("patch", "/api/v1/alert-rules/{rule_id}"): TENANT,  # rules are the tenant's, even a shop's rule
    ("get", "/api/v1/alerts"): LIST,
    ("patch", "/api/v1/alerts/{alert_id}"): SHOP,
    ("get", "/api/v1/work-orders"): LIST,
    ("patch", "/api/v1/work-orders/{order_id}"): SHOP,
    ("get", "/api/v1/counting-bases"): LIST,
    ("put", "/api/v1/counting-bases"): TENANT,
    ("get", "/api/v1/targets"): LIST,
    ("put", "/api/v1/targets"): TENANT,
    ("delete", "/api/v1/targets"): TENANT,
    ("get", "/api/v1/targets/xlsx"): LIST,
    ("post", "/api/v1/targets/xlsx"): TENANT,
    ("post", "/api/v1/targets/decompose"): TENANT,
    # Cut to the key's shops (other shops' rows left out); totals over shops are a 403 to a limited key.
    ("post", "/api/v1/reconciliations"): LIST,
    ("get", "/api/v1/scorecard-templates"): LIST,
    ("put", "/api/v1/scorecard-templates"): TENANT,
    ("get", "/api/v1/scorecard-adjustments"): LIST,
    ("get", "/api/v1/scorecards"): LIST,
    ("post", "/api/v1/scorecards/compute"): TENANT,
    ("post", "/api/v1/scorecard-adjustments"): TENANT,
    ("get", "/api/v1/sinks"): LIST,
    ("post", "/api/v1/sinks"): TENANT,
    ("get", "/api/v1/sinks/{sink_id}"): LIST,
    ("patch", "/api/v1/sinks/{sink_id}"): TENANT,
    ("post", "/api/v1/sinks/{sink_id}/test"): TENANT,
    ("post", "/api/v1/sinks/{sink_id}/push"): TENANT,
    ("get", "/api/v1/files"): LIST,
    ("put", "/api/v1/files/{path:path}"): TENANT,
    ("delete", "/api/v1/files/{path:path}"): TENANT,
    ("get", "/api/v1/plugins"): LIST,
    ("get", "/api/v1/audit"): LIST,
}

VARIANTS = ("unlimited", "in scope", "out of scope", "other tenant")
REFUSED = (401, 403, 404)
ORDER = {"get": 0, "post": 1, "put": 1, "patch": 1, "delete": 3}
LAST_WRITES = {
    ("patch", "/api/v1/connections/{connection_id}"),
    ("post", "/api/v1/connections/{connection_id}/remap"),
    ("post", "/api/v1/connections/{connection_id}/pause"),
}


def test_every_route_has_a_scope_rule(routes):
    assert set(SCOPE_RULES) == set(routes), "give each new route a scope rule here"


def expected(route, permission, role, variant):
    """The refusal (403 or 404) the access rules call for, or None when the call is allowed."""
    path, rule = route[1], SCOPE_RULES[route]
    if variant == "other tenant":
        return 404 if "{" in path and not path.endswith("{path:path}") else None
    if permission not in ROLE_PERMISSIONS[role]:
        return 403
    if variant == "unlimited":
        return None
    if rule == TENANT:
        return 403
    if rule == PEOPLE:
        return 404
    if rule == SHOP and variant == "out of scope":
        return 404
    return None


def _keys(make_key):
    keys = {}
    for role in ROLE_PERMISSIONS:
        keys[(role, "unlimited")] = make_key("default", role, name=f"{role}-all")
        keys[(role, "in scope")] = make_key("default", role, shops=["ALPHA-SHOP"], name=f"{role}-in")
        keys[(role, "out of scope")] = make_key("default", role, shops=["ALPHA-TWO"], name=f"{role}-out")
    keys[("admin", "other tenant")] = make_key("beta", "admin", name="beta-matrix")
    return keys


def _call(client, route, body, headers, helpers, ids):
    method, path = route
    url = helpers.fill(path, ids, method)
    if path.endswith("{path:path}") and method == "put":
        return client.put(url, content=b"staff_id,name\nP2,Wu\n", headers=headers)
    return client.request(method.upper(), url, json=body, headers=headers)


@SQLITE
def test_refusals_follow_role_scope_and_tenant_and_change_nothing(
    client, world, routes, make_key, snapshot, helpers
):
    keys = _keys(make_key)
    before = snapshot()
    problems, checked = [], 0
    for route, (permission, body) in sorted(routes.items()):
        for (role, variant), headers in keys.items():
            want = expected(route, permission, role, variant)
            if want is None:
                continue
            response = _call(client, route, body, headers, helpers, world["ids"])
            checked += 1
            if response.status_code != want:
                problems.append(f"{role}/{variant} {route}: {response.status_code}, expected {want}")
    assert not problems, "\n".join(problems)
    assert checked > 300
    assert snapshot() == before


@SQLITE
def test_what_the_rules_allow_is_not_refused(client, world, routes, make_key, helpers):
    keys = _keys(make_key)
    calls = []
    for route, (permission, body) in routes.items():
        for (role, variant), headers in keys.items():
            if variant != "other tenant" and expected(route, permission, role, variant) is None:
                order = 2 if route in LAST_WRITES else ORDER[route[0]]
                calls.append((order, route, role, variant, body, headers))
    problems = []
    seen_writes = set()
    for _, route, role, variant, body, headers in sorted(calls, key=lambda c: (c[0], c[1], c[2], c[3])):
        # One allowed write per route and scope variant: a second would meet the first's effect
        # (a deleted schedule, a taken name) and say so, which is no refusal of access.
        if route[0] != "get":
            once = (route, variant if route[0] != "delete" else "")
            if once in seen_writes:
                continue
            seen_writes.add(once)
        response = _call(client, route, body, headers, helpers, world["ids"])
        if response.status_code in REFUSED or response.status_code >= 500:
            problems.append(f"{role}/{variant} {route}: {response.status_code} {response.text[:160]}")
    assert not problems, "\n".join(problems)
