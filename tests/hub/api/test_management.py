"""Targets and counting bases through the API: set, listed back, versioned, audited."""

from __future__ import annotations


def test_targets_and_counting_bases(client, admin, make_key):
    target = {"metric_id": "gmv", "grain": "month", "period": "2026-03", "scope_type": "shop",
              "scope_id": "fakeshop:S1", "value": "1500.50"}  # fmt: skip
    saved = client.put("/api/v1/targets", json=target, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["period_start"] == "2026-03-01" and saved.json()["source"] == "set"
    listed = client.get("/api/v1/targets?metric_id=gmv", headers=admin).json()["items"]
    assert [(t["scope_id"], float(t["target_value"])) for t in listed] == [("fakeshop:S1", 1500.5)]
    # A key limited to another shop sees no target of this one.
    other = make_key("default", "viewer", shops=["S2"], name="s2")
    assert client.get("/api/v1/targets", headers=other).json()["items"] == []
    bad = client.put("/api/v1/targets", json={**target, "period": "March"}, headers=admin)
    assert bad.status_code == 422

    first = client.put("/api/v1/counting-bases", json={"changes": {"tax_included": False}}, headers=admin)
    assert first.status_code == 200 and first.json()["settings"]["tax_included"] is False
    versions = client.get("/api/v1/counting-bases", headers=admin).json()["items"]
    assert [v["version"] for v in versions] == [1, 2]
    unknown = client.put("/api/v1/counting-bases", json={"changes": {"vat": 1}}, headers=admin)
    assert unknown.status_code == 422 and "vat" in unknown.json()["error"]["message"]
    assert len(client.get("/api/v1/counting-bases", headers=admin).json()["items"]) == 2
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=admin).json()["items"]]
    assert "target.set" in actions and "counting_basis.set" in actions
