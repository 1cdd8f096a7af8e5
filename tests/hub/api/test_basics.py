"""First contact: health, authentication, a connection's round trip."""

from __future__ import annotations

import pytest

# The API's own logic: no database changes it.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_health_needs_no_key(client):
    assert client.get("/health").json()["status"] == "ok"


def test_create_and_read_connection(client, admin, add_connection):
    created = add_connection(admin)
    got = client.get(f"/api/v1/connections/{created['id']}", headers=admin).json()
    assert got["credentials"] == {"seller_id": True, "api_key": True}
