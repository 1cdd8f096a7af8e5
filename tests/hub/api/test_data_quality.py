"""``GET /api/v1/data-quality``: the report, paged, cut to a scoped key's shops and connections;
findings about the tenant's shared inputs (exchange rates, SKU costs, stock of no shop) are
shown to every reader of the tenant."""

from __future__ import annotations

import json

import pytest
import time_machine
from quality_world import NOW, SECRET, seed_gaps

from hub.quality import run_checks

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _get(client, headers, **params):
    with time_machine.travel(NOW, tick=False):
        return client.get("/api/v1/data-quality", headers=headers, params=params)


@SQLITE
def test_an_unlimited_key_reads_the_whole_report(client, hub, make_key):
    seed_gaps(hub.ready_store)
    answer = _get(client, make_key("default", "viewer"), limit=500)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = run_checks(hub.ready_store, "default", now=NOW)
    assert body["items"] == json.loads(json.dumps([f.as_dict() for f in expected.findings]))
    assert (body["total"], body["tenant"], body["base_currency"]) == (
        len(expected.findings),
        "default",
        "USD",
    )
    assert SECRET not in answer.text
    page = _get(client, make_key("default", "viewer", name="pager"), limit=2, offset=1).json()
    assert (page["items"], page["total"]) == (body["items"][1:3], body["total"])


@SQLITE
def test_a_key_limited_to_a_shop_sees_its_shop_its_connections_and_the_shared_inputs(client, hub, make_key):
    seed_gaps(hub.ready_store)
    everything = _get(client, make_key("default", "admin"), limit=500).json()["items"]
    scoped = _get(client, make_key("default", "agency", shops=["A1"], name="agency"), limit=500).json()[
        "items"
    ]

    def about(f):
        return f["scope"], f["scope_id"]

    # amz wrote shop A1's row, so the key sees the connection; erp and never have no shop in scope.
    wanted = [
        f for f in everything if about(f) in {("tenant", None), ("shop", "amazon:A1"), ("connection", "amz")}
    ]
    assert scoped == wanted
    assert {f["check"] for f in scoped} >= {"missing_fx", "missing_cost", "quarantined", "stale_data"}
    hidden = {about(f) for f in everything} - {about(f) for f in scoped}
    assert hidden >= {
        ("shop", "tiktok:T1"),
        ("shop", "shopee:S2"),
        ("connection", "erp"),
        ("connection", "never"),
    }


@SQLITE
def test_other_tenants_see_nothing_and_bad_input_is_a_422(client, hub, make_key):
    seed_gaps(hub.ready_store)
    beta = _get(client, make_key("beta", "admin", name="beta")).json()
    assert (beta["tenant"], beta["items"], beta["total"]) == ("beta", [], 0)
    admin = make_key("default", "admin", name="bad-input")
    unknown = _get(client, admin, check="nope")
    assert unknown.status_code == 422
    error = unknown.json()["error"]
    assert "missing_fx" in error["message"]
    assert error["fields"] == [{"path": "query.check", "reason": "'nope' is no check"}]
    assert _get(client, admin, stale_hours=0).status_code == 422
    assert _get(client, admin, checks="missing_fx").status_code == 422  # a misspelt parameter
    only = _get(client, admin, check=["missing_fx", "stale_data"], stale_hours=71).json()
    assert [f["check"] for f in only["items"]] == ["missing_fx", "missing_fx", "stale_data"]
