"""An agency sees only its shops, may sync them, and cannot change what feeds its assessment."""

from __future__ import annotations


def test_agency_sees_only_its_shops(client, world, make_key):
    ids = world["ids"]
    agency = make_key("default", "agency", shops=["ALPHA-TWO"], name="agency")
    listed = client.get("/api/v1/connections", headers=agency).json()
    assert [c["id"] for c in listed["items"]] == [ids["other_connection_id"]]
    assert [s["shop_id"] for s in client.get("/api/v1/shops", headers=agency).json()["items"]] == [
        "ALPHA-TWO"
    ]
    runs = client.get("/api/v1/runs", headers=agency).json()["items"]
    assert runs and {r["connection_id"] for r in runs} == {ids["other_connection_id"]}
    for path in (
        f"/api/v1/connections/{ids['connection_id']}",
        f"/api/v1/connections/{ids['connection_id']}/streams/orders/mapping",
        f"/api/v1/runs/{ids['run_id']}",
        f"/api/v1/pipeline-runs/{ids['pipeline_run_id']}",
        "/api/v1/shops/fakeshop/ALPHA-SHOP",
        f"/api/v1/connections/{ids['connection_id']}/freshness",
    ):
        assert client.get(path, headers=agency).status_code == 404, path


def test_agency_may_sync_its_shop_but_not_change_its_mapping(client, world, make_key, helpers, snapshot):
    other = world["ids"]["other_connection_id"]
    agency = make_key("default", "agency", shops=["ALPHA-TWO"], name="agency")
    run = client.post(f"/api/v1/connections/{other}/runs", headers=agency)
    assert run.status_code == 202
    assert helpers.wait_for_run(client, agency, run.json()["id"])["status"] == "succeeded"
    before = snapshot()
    override = {"override": {"targets": {"orders": {"fields": {"buyer_country": {"const": "GB"}}}}}}
    for method, path, body in (
        ("PUT", f"/api/v1/connections/{other}/streams/orders/mapping", override),
        ("POST", f"/api/v1/connections/{other}/streams/orders/mapping/rollback", {"version": 0}),
        ("PATCH", f"/api/v1/connections/{other}", {"options": {"shop_id": "ALPHA-TWO", "orders": 1}}),
        ("PUT", f"/api/v1/connections/{other}/schedule", {"kind": "interval", "every_seconds": 60}),
        ("POST", f"/api/v1/connections/{other}/pause", None),
        ("POST", "/api/v1/connections", {"name": "n", "plugin": "fakeshop"}),
    ):
        response = client.request(method, path, json=body, headers=agency)
        assert response.status_code == 403, (method, path, response.text)
    assert snapshot() == before


def test_platform_scope_limits_connections(client, world, make_key):
    elsewhere = make_key("default", "viewer", platforms=["amazon"], name="amazon-only")
    assert client.get("/api/v1/connections", headers=elsewhere).json()["items"] == []
    assert client.get("/api/v1/shops", headers=elsewhere).json()["items"] == []


def test_alerts_follow_the_scope_and_kpis_answer_before_any_compute(client, world, make_key):
    ids = world["ids"]
    agency = make_key("default", "agency", shops=["ALPHA-TWO"], name="agency")
    assert client.get("/api/v1/alerts", headers=agency).json()["items"] == []
    assert (
        client.patch(
            f"/api/v1/alerts/{ids['alert_id']}", json={"status": "resolved"}, headers=agency
        ).status_code
        == 404
    )
    admin = world["admin_a"]
    (alert,) = client.get("/api/v1/alerts", headers=admin).json()["items"]
    assert alert["scope_id"] == "fakeshop:ALPHA-SHOP" and alert["status"] == "open"
    acked = client.patch(f"/api/v1/alerts/{ids['alert_id']}", json={"status": "acknowledged"}, headers=admin)
    assert acked.json()["status"] == "acknowledged"
    kpis = client.get("/api/v1/kpis?metric_id=gmv&grain=day", headers=admin)
    assert kpis.status_code == 200 and kpis.json()["items"] == []
    unknown = client.get("/api/v1/kpis?metric_id=no_such_metric", headers=admin)
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"][0]["path"] == "query.metric_id"
