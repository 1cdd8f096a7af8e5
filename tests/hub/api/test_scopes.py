"""Scopes never widen: keys, users, mapping overrides and the audit log stay within the caller's."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.store.tables import raw_records, standard_tables
from sdk import MappingError


def test_a_scoped_admin_cannot_create_a_wider_key_or_user(client, world, make_key, snapshot):
    scoped = make_key("default", "admin", shops=["ALPHA-TWO"], name="scoped-admin")
    before = snapshot()
    for path, body in (
        ("/api/v1/api-keys", {"name": "wide", "role": "admin"}),
        (
            "/api/v1/api-keys",
            {"name": "wide", "role": "viewer", "scope": {"shops": ["ALPHA-TWO", "ALPHA-SHOP"]}},
        ),
        ("/api/v1/api-keys", {"name": "wide", "role": "viewer", "scope": {"platforms": ["fakeshop"]}}),
        ("/api/v1/users", {"email": "w@alpha.example", "name": "W", "role": "admin"}),
        (
            "/api/v1/users",
            {"email": "w@alpha.example", "name": "W", "role": "viewer", "scope": {"categories": ["x"]}},
        ),
    ):
        response = client.post(path, json=body, headers=scoped)
        assert response.status_code == 403, (path, body, response.text)
    assert snapshot() == before
    # Within its scope, it can.
    narrow = {"name": "narrow", "role": "viewer", "scope": {"shops": ["ALPHA-TWO"]}}
    created = client.post("/api/v1/api-keys", json=narrow, headers=scoped)
    assert created.status_code == 201, created.text
    new_key = {"Authorization": f"Bearer {created.json()['key']}"}
    assert [c["name"] for c in client.get("/api/v1/connections", headers=new_key).json()["items"]] == [
        "alpha-other"
    ]


def test_a_viewer_key_cannot_be_minted_as_an_admin_by_a_manager(client, world, make_key):
    # Only admins manage keys at all; a manager is refused by its role, whatever it asks for.
    manager = make_key("default", "manager", name="manager")
    assert (
        client.post("/api/v1/api-keys", json={"name": "k", "role": "viewer"}, headers=manager).status_code
        == 403
    )


def test_a_key_acting_for_a_user_is_narrowed_when_the_user_is(client, world):
    admin = world["admin_a"]
    user = client.post(
        "/api/v1/users",
        json={"email": "ops@alpha.example", "name": "Ops", "role": "manager"},
        headers=admin,
    ).json()
    too_wide = client.post(
        "/api/v1/api-keys", json={"name": "ops-admin", "role": "admin", "user_id": user["id"]}, headers=admin
    )
    assert too_wide.status_code == 403, too_wide.text
    created = client.post(
        "/api/v1/api-keys", json={"name": "ops", "role": "manager", "user_id": user["id"]}, headers=admin
    ).json()
    key = {"Authorization": f"Bearer {created['key']}"}
    assert len(client.get("/api/v1/connections", headers=key).json()["items"]) == 2

    demoted = client.patch(
        f"/api/v1/users/{user['id']}",
        json={"role": "viewer", "scope": {"shops": ["ALPHA-TWO"]}},
        headers=admin,
    )
    assert demoted.status_code == 200, demoted.text
    # The key follows its user at once: viewer, one shop.
    after = client.get(f"/api/v1/api-keys/{created['id']}", headers=admin).json()
    assert (after["role"], after["scope"]["shops"]) == ("viewer", ["ALPHA-TWO"])
    assert [c["name"] for c in client.get("/api/v1/connections", headers=key).json()["items"]] == [
        "alpha-other"
    ]
    assert client.post("/api/v1/connections/1/pause", headers=key).status_code in (403, 404)
    entry = client.get("/api/v1/audit?action=user.update", headers=admin).json()["items"][0]
    assert entry["detail"]["keys_narrowed"] == [created["id"]]

    # Narrowed to shops none of the key's: the key is revoked.
    client.patch(f"/api/v1/users/{user['id']}", json={"scope": {"shops": ["ALPHA-SHOP"]}}, headers=admin)
    narrowed_out = client.patch(
        f"/api/v1/users/{user['id']}", json={"scope": {"shops": ["NOT-A-SHOP"]}}, headers=admin
    )
    assert narrowed_out.status_code == 200
    assert client.get("/api/v1/connections", headers=key).status_code == 401


def test_a_scoped_manager_cannot_move_orders_onto_another_teams_shop(client, world, make_key, hub, helpers):
    ids = world["ids"]
    other = ids["other_connection_id"]  # shop ALPHA-TWO
    manager = make_key("default", "manager", shops=["ALPHA-TWO"], name="two-manager")
    orders = standard_tables["orders"]

    def shops():
        with hub.ready_store.begin() as conn:
            return sorted(
                (shop, count)
                for shop, count in conn.execute(
                    sa.select(orders.c.shop_id, sa.func.count()).group_by(orders.c.shop_id)
                )
            )

    before = shops()
    steal = {"override": {"targets": {"orders": {"fields": {"shop_id": {"const": "ALPHA-SHOP"}}}}}}
    saved = client.put(f"/api/v1/connections/{other}/streams/orders/mapping", json=steal, headers=manager)
    assert saved.status_code == 403 and "ALPHA-SHOP" in saved.text, saved.text

    # A path that maps some records elsewhere is refused as well, whatever it is spelt as.
    sneaky = {"override": {"targets": {"orders": {"fields": {"shop_id": {"path": "'ALPHA-SHOP'"}}}}}}
    assert client.put(
        f"/api/v1/connections/{other}/streams/orders/mapping", json=sneaky, headers=manager
    ).status_code in (403, 422)
    # Within its own shop it may change the mapping; every later remap keeps to the shop.
    own = {"override": {"targets": {"orders": {"fields": {"buyer_country": {"const": "GB"}}}}}}
    assert (
        client.put(
            f"/api/v1/connections/{other}/streams/orders/mapping", json=own, headers=manager
        ).status_code
        == 200
    )
    remapped = client.post(f"/api/v1/connections/{other}/remap", headers=manager)
    assert remapped.status_code == 200, remapped.text
    assert shops() == before


def test_an_override_saved_within_a_scope_keeps_it_at_every_sync(hub, world):
    """A raw record that arrives later and maps outside the saver's scope is quarantined, and
    the scope travels with the version into the sync's worker processes."""
    import pickle

    from hub.connections import get_connection, open_source
    from hub.mapping_versions import ShopScope, effective_mapping, save_override

    info = get_connection(hub.ready_store, "alpha-other")
    source = open_source(hub.ready_store, hub.vault, hub.registry, info)
    [stream] = [s for s in source.streams() if s.name == "orders"]
    with hub.ready_store.begin() as conn:
        raw = conn.execute(
            sa.select(raw_records.c.data).where(raw_records.c.connection_id == info.id).limit(1)
        ).scalar_one()
    override = {"targets": {"orders": {"fields": {"shop_id": {"path": "elsewhere || 'ALPHA-TWO'"}}}}}
    with hub.ready_store.begin() as conn:
        save_override(
            conn, info.id, stream, override, actor="test", within=ShopScope(frozenset({"ALPHA-TWO"}))
        )
        _, mapping = effective_mapping(conn, info.id, stream)
    defaults = {"platform": "fakeshop", "shop_id": "ALPHA-TWO"}  # the connection's, as a sync gives them
    for scoped in (mapping, pickle.loads(pickle.dumps(mapping))):
        assert {row["shop_id"] for _, row in scoped.apply(raw, defaults)} == {"ALPHA-TWO"}
        with pytest.raises(MappingError, match="ALPHA-SHOP outside them"):
            scoped.apply({**raw, "elsewhere": "ALPHA-SHOP"}, defaults)


def test_a_scoped_admin_reads_only_its_scopes_audit_entries(client, world, make_key):
    scoped = make_key("default", "admin", shops=["ALPHA-TWO"], name="scoped-admin")
    narrow = client.post(
        "/api/v1/api-keys",
        json={"name": "narrow", "role": "viewer", "scope": {"shops": ["ALPHA-TWO"]}},
        headers=scoped,
    )
    assert narrow.status_code == 201
    seen = client.get("/api/v1/audit", headers=scoped).json()
    assert seen["total"] == len(seen["items"]) >= 1
    assert all(entry["actor"].split(":")[2] == "scoped-admin" for entry in seen["items"])
    everything = client.get("/api/v1/audit", headers=world["admin_a"]).json()
    assert everything["total"] > seen["total"]


def test_large_writes_are_refused_before_they_are_read(client, world, snapshot):
    admin = world["admin_a"]
    before = snapshot()
    huge_override = {
        "override": {"targets": {"orders": {"fields": {f"f{i}": "x" * 1000 for i in range(10_000)}}}}
    }
    response = client.put(
        f"/api/v1/connections/{world['ids']['connection_id']}/streams/orders/mapping",
        json=huge_override,
        headers=admin,
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    channels = {"name": "r", "metric_id": "gmv", "scope_type": "tenant", "threshold": 1}
    many = client.post(
        "/api/v1/alert-rules", json={**channels, "channels": ["json://h/" + "x" * 5000] * 20}, headers=admin
    )
    assert many.status_code in (413, 422)
    assert snapshot() == before


def test_a_scoped_manager_cannot_point_its_connection_at_another_shop(client, world, make_key, snapshot):
    other = world["ids"]["other_connection_id"]
    manager = make_key("default", "manager", shops=["ALPHA-TWO"], name="two-manager")
    before = snapshot()
    moved = {"options": {"shop_id": "ALPHA-SHOP", "seed": 7, "orders": 23, "page_size": 5}}
    response = client.patch(f"/api/v1/connections/{other}", json=moved, headers=manager)
    assert response.status_code == 403 and "ALPHA-SHOP" in response.text, response.text
    assert snapshot() == before
    kept = {"options": {"shop_id": "ALPHA-TWO", "seed": 7, "orders": 5, "page_size": 5}}
    assert client.patch(f"/api/v1/connections/{other}", json=kept, headers=manager).status_code == 200


def test_a_scoped_admin_neither_sees_wider_keys_nor_changes_the_tenant(client, world, make_key, snapshot):
    scoped = make_key("default", "admin", shops=["ALPHA-TWO"], name="scoped-admin")
    before = snapshot()
    wide_key, user = world["ids"]["key_id"], world["ids"]["user_id"]
    assert client.get(f"/api/v1/api-keys/{wide_key}", headers=scoped).status_code == 404
    assert client.delete(f"/api/v1/api-keys/{wide_key}", headers=scoped).status_code == 404
    assert client.delete(f"/api/v1/users/{user}", headers=scoped).status_code == 404
    listed = client.get("/api/v1/api-keys", headers=scoped).json()["items"]
    assert [k["name"] for k in listed] == ["scoped-admin"]
    tenant = world["ids"]["tenant_id"]
    assert (
        client.patch(f"/api/v1/tenants/{tenant}", json={"base_currency": "EUR"}, headers=scoped).status_code
        == 403
    )
    assert snapshot() == before
