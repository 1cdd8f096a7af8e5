"""Scorecards through the API: adjustments and scores listed and filtered within the key's
scope, and scoring a period on demand."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from hub.store.tables import standard_tables


def _items(client, path, headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _seed_staff(hub, *people):
    staff = standard_tables["staff"]
    now = dt.datetime.now(dt.UTC)
    with hub.ready_store.begin() as conn:
        tid = conn.execute(sa.text("SELECT id FROM tenants WHERE name = 'default'")).scalar_one()
        conn.execute(
            staff.insert(),
            [
                {"tenant_id": tid, "staff_id": p, "name": p, "role": "operator", "ingested_at": now}
                for p in people
            ],
        )


def test_adjustments_and_scores_are_listed_filtered_and_scoped(client, world, make_key):
    admin = world["admin_a"]
    second = {"subject_type": "team", "subject_id": "T1", "grain": "quarter", "period": "2026-Q2",
              "kind": "reweight", "metric_id": "gmv", "weight": 20, "reason": "new team"}  # fmt: skip
    assert client.post("/api/v1/scorecard-adjustments", json=second, headers=admin).status_code == 201
    listed = _items(client, "/api/v1/scorecard-adjustments", admin)
    assert [(a["subject_id"], a["kind"], a["period_start"], a["weight"]) for a in listed] == [
        ("alpha-person", "exempt", "2026-03-01", None),
        ("T1", "reweight", "2026-04-01", 20.0),
    ]
    assert listed[0]["reason"] == "on leave" and listed[0]["actor"].startswith("apikey:")
    for query, expected in (
        ("grain=quarter&period=2026-Q2", ["T1"]),
        ("subject_type=person", ["alpha-person"]),
        ("kind=reweight", ["T1"]),
        ("grain=month&period=2026-04", []),
    ):
        found = _items(client, f"/api/v1/scorecard-adjustments?{query}", admin)
        assert [a["subject_id"] for a in found] == expected, query

    scores = _items(client, "/api/v1/scorecards?grain=month&period=2026-03", admin)
    assert [(s["subject_id"], s["metric_id"], s["score"], s["total_score"]) for s in scores] == [
        ("alpha-person", "gmv", 80.0, 80.0)
    ]
    assert _items(client, "/api/v1/scorecards?subject_type=team", admin) == []
    assert _items(client, "/api/v1/scorecards?template_id=ops&subject_id=alpha-person", admin) == scores
    alone = client.get("/api/v1/scorecards?period=2026-03", headers=admin)
    assert alone.status_code == 422 and alone.json()["error"]["fields"][0]["path"] == "query.period"
    bad = client.get("/api/v1/scorecard-adjustments?grain=month&period=2026-13", headers=admin)
    assert bad.status_code == 422

    # People and teams span shops: a key limited to some shops sees none of their scores.
    shop_viewer = make_key("default", "viewer", shops=["ALPHA-SHOP"], name="shop-viewer")
    assert _items(client, "/api/v1/scorecards", shop_viewer) == []
    assert _items(client, "/api/v1/scorecard-adjustments", shop_viewer) == []
    assert _items(client, "/api/v1/scorecards", make_key("default", "viewer", name="viewer")) == scores


def test_scoring_a_period_now_replaces_its_scores_and_is_audited(client, world, hub, make_key, snapshot):
    admin = world["admin_a"]
    template = {"template_id": "ops", "role": "operator", "subject_type": "person",
                "metrics": [{"metric_id": "gmv", "weight": "100"}]}  # fmt: skip
    assert client.put("/api/v1/scorecard-templates", json=template, headers=admin).status_code == 200
    _seed_staff(hub, "P1", "alpha-person")
    target = {"metric_id": "gmv", "grain": "month", "period": "2026-03", "scope_type": "person",
              "scope_id": "P1", "value": "500"}  # fmt: skip
    assert client.put("/api/v1/targets", json=target, headers=admin).status_code == 200

    done = client.post(
        "/api/v1/scorecards/compute", json={"grain": "month", "period": "2026-03"}, headers=admin
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"grain": "month", "period_start": "2026-03-01", "subjects": 2, "rows": 2}
    scores = {
        s["subject_id"]: s for s in _items(client, "/api/v1/scorecards?grain=month&period=2026-03", admin)
    }
    assert set(scores) == {"P1", "alpha-person"}  # the seeded row was replaced by the real scoring
    assert scores["P1"]["target_value"] == 500.0 and scores["P1"]["adjusted"] is False
    assert scores["alpha-person"]["adjusted"] is True
    assert scores["alpha-person"]["adjustment_reason"] == "exempt: on leave"
    entry = client.get("/api/v1/audit?action=scorecard.compute", headers=admin).json()["items"][0]
    assert entry["target"] == "month/2026-03-01" and entry["detail"]["after"]["rows"] == 2

    # Scoring changes no configuration (an agency may), but it spans every shop.
    agency = make_key("default", "agency", name="agency")
    shop_agency = make_key("default", "agency", shops=["ALPHA-SHOP"], name="shop-agency")
    viewer = make_key("default", "viewer", name="viewer")
    body = {"grain": "month", "period": "2026-03"}
    assert client.post("/api/v1/scorecards/compute", json=body, headers=agency).status_code == 200
    before = snapshot()
    assert client.post("/api/v1/scorecards/compute", json=body, headers=shop_agency).status_code == 403
    assert client.post("/api/v1/scorecards/compute", json=body, headers=viewer).status_code == 403
    bad = client.post(
        "/api/v1/scorecards/compute", json={"grain": "month", "period": "2026-Q1"}, headers=admin
    )
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["path"] == "body.period"
    assert snapshot() == before
