"""Sinks through the API: changed with write-only credentials, paused, and tested live."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from hub_env import outputs

from hub.store.tables import audit_log, metadata

PLANTED = "pw-planted-8e2f41c7"


def _sink(client, headers, sink_id):
    response = client.get(f"/api/v1/sinks/{sink_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_sinks_credentials_are_changed_but_never_returned(
    client, world, hub, tmp_path, make_key, snapshot, caplog
):
    caplog.set_level(logging.DEBUG)
    admin, sink_id = world["admin_a"], world["ids"]["sink_id"]
    secret_url = f"postgresql+psycopg://bi:{PLANTED}@127.0.0.1:1/kpis"
    changed = client.patch(
        f"/api/v1/sinks/{sink_id}", json={"credentials": {"url": secret_url}}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["credentials_set"] is True and PLANTED not in changed.text
    for path in ("/api/v1/sinks", f"/api/v1/sinks/{sink_id}", "/api/v1/audit?limit=500"):
        assert PLANTED not in client.get(path, headers=admin).text, path
    with hub.ready_store.begin() as conn:
        assert PLANTED not in repr(conn.execute(sa.select(metadata.tables["sinks"])).all())
        entry = conn.execute(
            sa.select(audit_log.c.detail)
            .where(audit_log.c.action == "sink.update")
            .order_by(audit_log.c.id.desc())
        ).first()
    assert entry.detail["credential_fields_changed"] == ["url"] and PLANTED not in repr(entry)

    # Bad credentials: the test answers what failed and of which kind, without the secret.
    tested = client.post(f"/api/v1/sinks/{sink_id}/test", headers=admin)
    assert tested.status_code == 200, tested.text
    result = tested.json()
    assert result["ok"] is False and result["kind"] == "StoreError"
    assert "cannot connect to the target database" in result["error"] and PLANTED not in tested.text
    pushed = client.post(f"/api/v1/sinks/{sink_id}/push", headers=admin)
    assert pushed.status_code == 503 and PLANTED not in pushed.text  # the same failure, when pushing
    assert PLANTED not in caplog.text

    # Good credentials: the test prepares the target as a push would, and moves no rows.
    target = outputs(tmp_path) / "bi.db"
    fixed = client.patch(
        f"/api/v1/sinks/{sink_id}", json={"credentials": {"url": f"sqlite:///{target}"}}, headers=admin
    )
    assert fixed.status_code == 200
    assert client.post(f"/api/v1/sinks/{sink_id}/test", headers=admin).json() == {
        "ok": True,
        "error": None,
        "kind": None,
    }
    engine = sa.create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM dim_shop")).scalar_one() == 0
    finally:
        engine.dispose()
    tests = client.get("/api/v1/audit?action=sink.test", headers=admin).json()["items"]
    assert [e["detail"]["after"] for e in tests] == [
        {"ok": True, "kind": None},
        {"ok": False, "kind": "StoreError"},
    ]

    # Who may: a shop-limited key neither changes nor tests a sink that carries every shop.
    shop_admin = make_key("default", "admin", shops=["ALPHA-SHOP"], name="shop-admin")
    agency = make_key("default", "agency", name="agency")
    before = snapshot()
    assert (
        client.patch(f"/api/v1/sinks/{sink_id}", json={"status": "paused"}, headers=shop_admin).status_code
        == 403
    )
    assert client.post(f"/api/v1/sinks/{sink_id}/test", headers=shop_admin).status_code == 403
    assert (
        client.patch(f"/api/v1/sinks/{sink_id}", json={"status": "paused"}, headers=agency).status_code == 403
    )
    assert snapshot() == before


def test_a_sinks_options_tables_and_status_change_and_bad_ones_are_named(client, world, snapshot):
    admin, sink_id = world["admin_a"], world["ids"]["sink_id"]
    changed = client.patch(
        f"/api/v1/sinks/{sink_id}",
        json={"options": {"batch_size": 100}, "tables": ["dim_shop", "kpi_target"], "status": "paused"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    sink = changed.json()
    assert (sink["options"]["batch_size"], sink["tables"], sink["status"]) == (
        100,
        ["dim_shop", "kpi_target"],
        "paused",
    )
    assert _sink(client, admin, sink_id) == sink
    # A paused sink is not pushed on demand either, until it is resumed.
    paused = client.post(f"/api/v1/sinks/{sink_id}/push", headers=admin)
    assert paused.status_code == 409 and "paused" in paused.json()["error"]["message"]
    entry = client.get("/api/v1/audit?action=sink.update", headers=admin).json()["items"][0]
    assert entry["detail"]["before"]["status"] == "active" and entry["detail"]["after"]["status"] == "paused"

    before = snapshot()
    for body, field in (
        ({"options": {"batch_size": 0}}, "body.options"),
        ({"options": {"nope": 1}}, "body.options"),
        ({"tables": ["nope"]}, "body.tables"),
        ({"credentials": {"url": 5}}, "body.credentials"),
        ({"status": "gone"}, "body.status"),
        ({}, "body"),
        ({"name": "renamed"}, "body.name"),
    ):
        refused = client.patch(f"/api/v1/sinks/{sink_id}", json=body, headers=admin)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["error"]["fields"][0]["path"] == field, (body, refused.text)
    assert snapshot() == before

    resumed = client.patch(f"/api/v1/sinks/{sink_id}", json={"status": "active", "tables": []}, headers=admin)
    assert resumed.json()["status"] == "active" and resumed.json()["tables"] is None
    assert client.post(f"/api/v1/sinks/{sink_id}/push", headers=admin).json()["succeeded"] is True
