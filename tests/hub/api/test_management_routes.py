"""Work orders through the API: listed with their alert, moved along, audited, within scope."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction


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
