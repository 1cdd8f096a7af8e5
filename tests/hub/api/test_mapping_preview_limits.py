"""A viewer's mapping preview or check is bounded: an expensive one is a 422 naming the bound
it crossed, never half a minute of the server's CPU, and a pathological expression is a
mapping problem, never a 500."""

from __future__ import annotations

import datetime as dt
import importlib

import sqlalchemy as sa

from hub.store.tables import raw_records

# The module (``hub.mapping.preview`` names the function, which the package re-exports).
preview_module = importlib.import_module("hub.mapping.preview")
# As in tests/hub/mapping/test_mapping_preview_limits.py: each field sorts the record's lines
# by a computed key, some 70 ms a record of 2,000 lines.
HEAVY = "sort_by(items, &join('-', [sku, sku, to_string(line), sku]))[-1].sku"
EXPENSIVE = {"targets": {"orders": {"fields": {"order_id": HEAVY, "buyer_country": HEAVY, "status": HEAVY}}}}
RECORDS = 60
"""Kept raw records of 2,000 lines each: some 5 s of work for the expensive override."""


def _kept(hub, connection_id, count=RECORDS):
    lines = [
        {"line": i, "sku": f"SKU{i * 7919 % 9973:05d}", "qty": 1, "price": "1.00", "subtotal": "1.00"}
        for i in range(2000)
    ]
    record = {
        "status": "Paid",
        "total": {"amount": "2000.00", "currency": "usd"},
        "created": "2026-03-01T10:00:00+08:00",
        "modified": "2026-03-01T11:00:00+08:00",
        "buyer": {"country": "US"},
        "items": lines,
    }
    now = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    rows = [
        {
            "connection_id": connection_id,
            "stream": "orders",
            "partition_key": "",
            "record_key": f"o{n}",
            "data": {**record, "id": f"o{n}"},
            "fetched_at": now,
        }
        for n in range(count)
    ]
    with hub.ready_store.begin() as conn:
        conn.execute(sa.insert(raw_records), rows)


def test_a_slow_preview_is_a_422_naming_the_time_budget(
    client, hub, admin, make_key, add_connection, monkeypatch
):
    cid = add_connection(admin)["id"]
    _kept(hub, cid)
    viewer = make_key("default", "viewer", name="viewer")
    budget = preview_module.PREVIEW_SECONDS
    monkeypatch.setattr(preview_module, "PREVIEW_SECONDS", 0.25)
    base = f"/api/v1/connections/{cid}/streams/orders/mapping"
    response = client.post(f"{base}/preview", json={"override": EXPENSIVE, "limit": RECORDS}, headers=viewer)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("the preview took longer than 0.25 s (after ")
    assert error["message"].endswith(f" of {RECORDS} records); preview fewer records")
    # A cheap preview of the same records, under the real budget, still answers.
    monkeypatch.setattr(preview_module, "PREVIEW_SECONDS", budget)
    cheap = client.post(f"{base}/preview", json={"limit": 2}, headers=viewer)
    assert cheap.status_code == 200 and [r["index"] for r in cheap.json()] == [0, 1]


def test_an_oversized_or_too_deep_override_is_refused_by_check_and_preview(
    client, hub, admin, add_connection
):
    cid = add_connection(admin)["id"]
    _kept(hub, cid, count=1)
    base = f"/api/v1/connections/{cid}/streams/orders/mapping"
    limit = preview_module.MAX_OVERRIDE_BYTES
    # Under the request-body limit, over the override's.
    big = {"targets": {"orders": {"fields": {"buyer_country": {"const": "x" * (limit + 1024)}}}}}
    for route in ("validate", "preview"):
        refused = client.post(f"{base}/{route}", json={"override": big}, headers=admin)
        assert refused.status_code == 422, refused.text
        assert f"a mapping override may be at most {limit // 1024} KB" in refused.json()["error"]["message"]

    deep = {"targets": {"orders": {"fields": {"buyer_country": "a || " * 600 + "b"}}}}
    checked = client.post(f"{base}/validate", json={"override": deep}, headers=admin)
    assert checked.status_code == 200, checked.text
    [problem] = checked.json()["problems"]
    assert problem["path"] == "targets.orders.fields.buyer_country"
    assert "nested more than 100 levels deep" in problem["reason"]
    previewed = client.post(f"{base}/preview", json={"override": deep}, headers=admin)
    assert previewed.status_code == 422, previewed.text
    assert "nested more than 100 levels deep" in previewed.json()["error"]["message"]
