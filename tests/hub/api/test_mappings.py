"""A mapping changed, previewed and saved through the API is used by the next run and by
remap; rolling back restores the earlier standard rows."""

from __future__ import annotations

import fakeshop.data as data
import pytest
import sqlalchemy as sa

from hub.store.tables import standard_tables

GB = {"targets": {"orders": {"fields": {"buyer_country": {"const": "GB"}}}}}


def _orders(hub):
    orders = standard_tables["orders"]
    with hub.ready_store.begin() as conn:
        rows = conn.execute(sa.select(orders).order_by(orders.c.order_id)).all()
    return {r.order_id: {k: v for k, v in r._asdict().items() if k != "ingested_at"} for r in rows}


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_mapping_preview_save_run_remap_rollback(client, hub, admin, add_connection, helpers):
    cid = add_connection(admin, "shop1", shop_id="S1", orders=20)["id"]
    base = f"/api/v1/connections/{cid}/streams/orders/mapping"
    run = client.post(f"/api/v1/connections/{cid}/runs", headers=admin).json()
    assert helpers.wait_for_run(client, admin, run["id"])["status"] == "succeeded"
    before = _orders(hub)
    truth = data.truth(data.orders(7, 20), shop_id="S1")["orders"]
    assert {k[2] for k in truth} == set(before)
    assert {r["buyer_country"] for r in before.values()} == {"US"}

    shown = client.get(base, headers=admin).json()
    assert shown["version"] == 0 and shown["override"] == {} and shown["effective"] == shown["default"]

    # Validate and preview: nothing is stored, the preview shows the new value.
    assert client.post(f"{base}/validate", json={"override": GB}, headers=admin).json() == {
        "valid": True,
        "problems": [],
    }
    bad = {"targets": {"orders": {"fields": {"buyer_country": {"path": "buyer.country", "const": "GB"}}}}}
    checked = client.post(f"{base}/validate", json={"override": bad}, headers=admin).json()
    assert checked["valid"] is False and any("buyer_country" in p["path"] for p in checked["problems"])
    preview = client.post(f"{base}/preview", json={"override": GB, "limit": 3}, headers=admin).json()
    assert len(preview) == 3
    assert all(r["errors"] == [] and r["rows"][0]["row"]["buyer_country"] == "GB" for r in preview)
    assert _orders(hub) == before

    # An invalid mapping is refused with the field path and saves nothing.
    refused = client.put(base, json={"override": bad}, headers=admin)
    assert refused.status_code == 422
    assert any("buyer_country" in f["path"] for f in refused.json()["error"]["fields"])
    assert client.get(f"{base}/versions", headers=admin).json()["total"] == 0

    saved = client.put(base, json={"override": GB, "note": "UK shop"}, headers=admin).json()
    assert saved["version"] == 1 and saved["effective"]["targets"]["orders"]["fields"]["buyer_country"] == {
        "const": "GB"
    }

    # The next run reads new orders under the saved mapping; the old rows wait for a remap.
    client.patch(
        f"/api/v1/connections/{cid}", json={"options": {"shop_id": "S1", "orders": 30}}, headers=admin
    )
    run = client.post(f"/api/v1/connections/{cid}/runs", headers=admin).json()
    assert helpers.wait_for_run(client, admin, run["id"])["status"] == "succeeded"
    after_run = _orders(hub)
    new = set(after_run) - set(before)
    assert new and {after_run[o]["buyer_country"] for o in new} == {"GB"}
    assert {after_run[o]["buyer_country"] for o in before} == {"US"}

    remapped = client.post(f"/api/v1/connections/{cid}/remap", headers=admin).json()
    assert remapped["status"] == "succeeded"
    assert {r["buyer_country"] for r in _orders(hub).values()} == {"GB"}

    rolled = client.post(f"{base}/rollback", json={"version": 0}, headers=admin).json()
    assert rolled["version"] == 2 and rolled["override"] == {}
    assert client.post(f"/api/v1/connections/{cid}/remap", headers=admin).json()["status"] == "succeeded"
    restored = _orders(hub)
    assert {k: restored[k] for k in before} == before
    versions = client.get(f"{base}/versions", headers=admin).json()
    assert [v["version"] for v in versions["items"]] == [1, 2] and versions["items"][0]["note"] == "UK shop"
    audit = client.get("/api/v1/audit?action=mapping.save", headers=admin).json()["items"]
    assert audit[0]["detail"]["after"]["version"] == 1 and audit[0]["detail"]["before"] == {"version": 0}
