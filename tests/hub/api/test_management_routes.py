"""Work orders through the API: listed with their alert, moved along, audited, within scope."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hub_env import outputs


def test_work_orders_move_along_and_are_audited(client, world, snapshot):
    admin, order_id = world["admin_a"], world["ids"]["order_id"]
    listed = client.get("/api/v1/work-orders", headers=admin).json()["items"]
    assert [(o["id"], o["alert_id"], o["status"], o["assignee"]) for o in listed] == [
        (order_id, world["ids"]["alert_id"], "open", None)
    ]
    moved = client.patch(
        f"/api/v1/work-orders/{order_id}", json={"status": "in_progress", "assignee": "li.wei"}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["status"], moved.json()["assignee"]) == ("in_progress", "li.wei")
    # The alert reads the same state back: one work order, not a copy.
    alert = client.get("/api/v1/alerts", headers=admin).json()["items"][0]
    assert alert["work_order_id"] == order_id and alert["work_order_status"] == "in_progress"
    # Leaving the assignee out keeps it.
    done = client.patch(f"/api/v1/work-orders/{order_id}", json={"status": "done"}, headers=admin).json()
    assert (done["status"], done["assignee"]) == ("done", "li.wei")
    assert [
        o["id"] for o in client.get("/api/v1/work-orders?status=open", headers=admin).json()["items"]
    ] == []
    audit = client.get("/api/v1/audit", headers=admin).json()["items"]
    assert [e["action"] for e in audit].count("work_order.update") == 2

    before = snapshot()
    bad = client.patch(f"/api/v1/work-orders/{order_id}", json={"status": "closed"}, headers=admin)
    assert bad.status_code == 422 and "status" in bad.text
    assert snapshot() == before


def test_work_orders_follow_the_key_scope(client, world, make_key, snapshot):
    order_id = world["ids"]["order_id"]
    mine = make_key("default", "agency", shops=["ALPHA-SHOP"], name="agency-alpha")
    other = make_key("default", "agency", shops=["ALPHA-TWO"], name="agency-two")
    assert [o["id"] for o in client.get("/api/v1/work-orders", headers=mine).json()["items"]] == [order_id]
    assert client.get("/api/v1/work-orders", headers=other).json()["items"] == []
    before = snapshot()
    refused = client.patch(f"/api/v1/work-orders/{order_id}", json={"status": "done"}, headers=other)
    assert refused.status_code == 404
    assert snapshot() == before
    # The agency running the shop works its orders.
    taken = client.patch(f"/api/v1/work-orders/{order_id}", json={"status": "in_progress"}, headers=mine)
    assert taken.status_code == 200 and taken.json()["status"] == "in_progress"


def _tenant_target(client, headers, value):
    body = {"metric_id": "gmv", "grain": "month", "period": "2026-03", "scope_type": "tenant",
            "scope_id": "default", "value": value}  # fmt: skip
    assert client.put("/api/v1/targets", json=body, headers=headers).status_code == 200


def _seed_teams(hub, weights):
    """Two teams of tenant default, as the org dimensions hold them."""
    import datetime as dt

    import sqlalchemy as sa

    from hub.store.tables import standard_tables
    from sdk.records import STANDARD_RECORDS

    teams = standard_tables["teams"]
    with hub.ready_store.begin() as conn:
        tid = conn.execute(sa.text("SELECT id FROM tenants WHERE name = 'default'")).scalar_one()
        rows = [STANDARD_RECORDS["teams"](team_id=t, name=f"Team {t}").model_dump() for t in weights]
        now = dt.datetime.now(dt.UTC)
        conn.execute(teams.insert(), [{"tenant_id": tid, "ingested_at": now, **row} for row in rows])


def test_decompose_splits_by_weights_to_the_cent_and_is_audited(client, world, hub, make_key, snapshot):
    admin, weights, total = world["admin_a"], {"T1": 2, "T2": 1}, Decimal("1000.00")
    _seed_teams(hub, weights)
    _tenant_target(client, admin, str(total))
    body = {"metric_id": "gmv", "grain": "month", "period": "2026-03", "down_to": "team", "method": "weights",
            "weights": {"team": weights}}  # fmt: skip
    done = client.post("/api/v1/targets/decompose", json=body, headers=admin)
    assert done.status_code == 200, done.text
    parts = {t["scope_id"]: Decimal(str(t["target_value"])) for t in done.json()["targets"]}
    assert set(parts) == set(weights) and sum(parts.values()) == total
    whole = sum(weights.values())
    for team, weight in weights.items():  # each part within a cent of its exact share
        assert abs(Fraction(parts[team]) - Fraction(total) * weight / whole) < Fraction(1, 100)
    listed = client.get("/api/v1/targets?metric_id=gmv", headers=admin).json()["items"]
    assert {t["scope_id"] for t in listed} == {"default", *weights}
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=admin).json()["items"]]
    assert "target.decompose" in actions

    agency = make_key("default", "agency", shops=["ALPHA-SHOP"], name="agency-alpha")
    # Without a parent target there is nothing to split: a 422 saying so, nothing written.
    before = snapshot()
    missing = client.post("/api/v1/targets/decompose", json={**body, "period": "2026-04"}, headers=admin)
    assert missing.status_code == 422 and "set it first" in missing.json()["error"]["message"]
    negative = {**body, "weights": {"team": {"T1": -1}}}
    assert client.post("/api/v1/targets/decompose", json=negative, headers=admin).status_code == 422
    # An agency may not rewrite the targets it is assessed on.
    assert client.post("/api/v1/targets/decompose", json=body, headers=agency).status_code == 403
    assert snapshot() == before


def test_a_configured_sink_keeps_its_credentials_write_only_and_pushes(
    client, world, hub, tmp_path, snapshot
):
    import sqlalchemy as sa

    from hub.store.tables import metadata

    admin = world["admin_a"]
    target = outputs(tmp_path) / "bi.db"
    body = {
        "name": "bi",
        "plugin": "database",
        "credentials": {"url": f"sqlite:///{target}"},
        "tables": ["dim_shop"],
    }
    created = client.post("/api/v1/sinks", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["credentials_set"] is True and "bi.db" not in created.text
    pushed = client.post(f"/api/v1/sinks/{created.json()['id']}/push", headers=admin)
    assert pushed.status_code == 200 and pushed.json()["succeeded"], pushed.text
    # The push wrote into the database the stored (encrypted) URL names.
    engine = sa.create_engine(f"sqlite:///{target}")
    try:
        assert "dim_shop" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    assert [t["table"] for t in pushed.json()["tables"]] == ["dim_shop"]

    planted = "pw-planted-5c1d9e"
    secret = {"name": "warehouse", "plugin": "database",
              "credentials": {"url": f"postgresql+psycopg://bi:{planted}@127.0.0.1/kpis"}}  # fmt: skip
    stored = client.post("/api/v1/sinks", json=secret, headers=admin)
    assert stored.status_code == 201 and planted not in stored.text
    for path in ("/api/v1/sinks", f"/api/v1/sinks/{stored.json()['id']}", "/api/v1/audit"):
        assert planted not in client.get(path, headers=admin).text, path
    with hub.ready_store.begin() as conn:
        assert planted not in repr(conn.execute(sa.select(metadata.tables["sinks"])).all())

    before = snapshot()
    taken = client.post("/api/v1/sinks", json=secret, headers=admin)
    assert taken.status_code == 409
    unknown = client.post("/api/v1/sinks", json={**secret, "name": "x", "plugin": "nope"}, headers=admin)
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"][0]["path"] == "body.plugin"
    no_table = client.post("/api/v1/sinks", json={**body, "name": "y", "tables": ["nope"]}, headers=admin)
    assert no_table.status_code == 422 and "nope" in no_table.text
    assert snapshot() == before


def test_scorecard_templates_are_saved_listed_and_refused_when_wrong(client, world, make_key, snapshot):
    admin = world["admin_a"]
    metrics = [{"metric_id": "gmv", "weight": "60"}, {"metric_id": "roas", "weight": "40"}]
    template = {"template_id": "ops", "role": "operator", "subject_type": "person", "metrics": metrics}
    saved = client.put("/api/v1/scorecard-templates", json=template, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["warnings"]  # two metrics: 3 to 5 are recommended
    listed = client.get("/api/v1/scorecard-templates", headers=admin).json()["items"]
    assert [(t["template_id"], [m["metric_id"] for m in t["metrics"]]) for t in listed] == [
        ("ops", ["gmv", "roas"])
    ]
    assert client.get("/api/v1/scorecard-templates", headers=world["admin_b"]).json()["items"] == []
    agency = make_key("default", "agency", shops=["ALPHA-SHOP"], name="agency-alpha")
    before = snapshot()
    heavy = {
        **template,
        "metrics": [{"metric_id": "gmv", "weight": "90"}, {"metric_id": "roas", "weight": "40"}],
    }
    bad = client.put("/api/v1/scorecard-templates", json=heavy, headers=admin)
    assert bad.status_code == 422 and "not 100" in bad.text
    assert client.put("/api/v1/scorecard-templates", json=template, headers=agency).status_code == 403
    assert snapshot() == before


def test_adjustments_need_a_reason_and_are_audited(client, world, make_key, snapshot):
    admin = world["admin_a"]
    body = {"subject_type": "person", "subject_id": "P1", "grain": "month", "period": "2026-03",
            "kind": "reweight", "metric_id": "gmv", "weight": 0,
            "reason": "store closed for a week"}  # fmt: skip
    made = client.post("/api/v1/scorecard-adjustments", json=body, headers=admin)
    assert made.status_code == 201, made.text
    entries = client.get("/api/v1/audit", headers=admin).json()["items"]
    assert any(
        e["action"] == "scorecard.reweight" and e["target"] == "person:P1/month/2026-03" for e in entries
    )
    agency = make_key("default", "agency", shops=["ALPHA-SHOP"], name="agency-alpha")
    before = snapshot()
    blank = client.post("/api/v1/scorecard-adjustments", json={**body, "reason": "  "}, headers=admin)
    assert blank.status_code == 422 and "reason" in blank.text
    no_metric = client.post("/api/v1/scorecard-adjustments", json={**body, "metric_id": None}, headers=admin)
    assert no_metric.status_code == 422
    assert client.post("/api/v1/scorecard-adjustments", json=body, headers=agency).status_code == 403
    assert snapshot() == before
