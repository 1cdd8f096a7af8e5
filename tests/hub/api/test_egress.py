"""No key of any role or tenant can make the hub send a stored credential off its platform.

A listener on loopback stands for an internal service or an attacker's host. For every URL
option of every plugin (first-party and the ones ``kpihub new-plugin`` generates, found from
the options' ``Destination`` declarations, so a new option is covered without touching this
file), each role of the connection's tenant, scoped and not, and an admin of another tenant
try to point the option at the listener and to use it. The listener must never receive the
planted secret:

- with the operator allowing nothing beyond the platforms' hosts, every attempt is refused
  with a 4xx and changes nothing, and a row tampered with in the store is stopped by the
  egress guard before any byte leaves;
- with the operator allowing loopback (as for simulators), a new URL without the credentials
  is refused, and with credentials re-entered the hub sends those, never the stored ones.
"""

from __future__ import annotations

import importlib
import socket
import sys
import threading

import pytest
import sqlalchemy as sa

import plugins.amazon
import plugins.database
import plugins.erp_mabang
import plugins.powerbi
import plugins.shopee
import plugins.tableau
import plugins.tiktok
from hub.api import create_app
from hub.cli.scaffold import Auth, Kind, generate
from hub.context import HubContext
from hub.plugins import load_plugins
from hub.settings import Settings
from hub.store.sink_tables import sinks as sinks_table
from hub.store.tables import connections as connections_table
from sdk import destination_fields

from .conftest import PLANTED, TestClient

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

FIRST_PARTY = [
    ("amazon", plugins.amazon),
    ("shopee", plugins.shopee),
    ("tiktok", plugins.tiktok),
    ("erp_mabang", plugins.erp_mabang),
    ("powerbi", plugins.powerbi),
    ("tableau", plugins.tableau),
    ("database", plugins.database),
]

# A valid configuration of each plugin on its official hosts, every secret the planted one.
CONFIGS = {
    "amazon": (
        {"seller_id": "A1", "region": "na", "marketplaces": {"ATVPDKIKX0DER": "US1"}},
        {"lwa_client_id": "app", "lwa_client_secret": PLANTED, "refresh_token": PLANTED},
    ),
    "shopee": (
        {"partner_id": 1, "shops": {"101": "SG"}},
        {"partner_key": PLANTED, "refresh_tokens": PLANTED},
    ),
    "tiktok": (
        {"shops": [{"cipher": "c1", "shop_id": "T1", "region": "US"}]},
        {"app_key": PLANTED, "app_secret": PLANTED, "refresh_token": PLANTED},
    ),
    "erp_mabang": (
        {"shops": {"1": {"platform": "amazon", "shop_id": "US1"}}},
        {"app_key": PLANTED, "app_secret": PLANTED},
    ),
    "powerbi": ({"tenant": "contoso", "workspace_id": "w1"}, {"client_id": "app", "client_secret": PLANTED}),
    "tableau": (
        {"directory": "extracts", "server_url": "https://prod-apnortheast-a.online.tableau.com"},
        {"pat_name": "kpihub", "pat_secret": PLANTED},
    ),
    "egress_source": ({}, {"api_token": PLANTED}),
    "egress_sink": ({}, {"api_token": PLANTED}),
}


class Listener:
    """A TCP listener on loopback that records every byte it receives and answers 400."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = bytearray()
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(2)
                try:
                    self.received += conn.recv(65536)
                    body = b'{"error": "invalid_request"}'
                    conn.sendall(
                        b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                        + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
                        + body
                    )
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory):
    """A source and a sink as ``kpihub new-plugin`` generates them, importable."""
    root = tmp_path_factory.mktemp("scaffold")
    found = []
    for kind in ("source", "sink"):
        name = f"egress_{kind}"
        package = root / name
        generate(name, Kind(kind), Auth("bearer"), package)
        sys.path.insert(0, str(package))
        found.append((name, importlib.import_module(f"kpihub_{name}")))
    yield found
    for kind in ("source", "sink"):
        sys.path.remove(str(root / f"egress_{kind}"))


@pytest.fixture
def registry(hub_env, monkeypatch, scaffolded):
    # The operator allows nothing beyond each platform's own hosts.
    monkeypatch.delenv("KPIHUB_EGRESS_ALLOW")
    return load_plugins(entry_points=[], extra=[*FIRST_PARTY, *scaffolded])


@pytest.fixture
def listener():
    found = Listener()
    yield found
    found.close()


def _kind(hub, plugin):
    return "connection" if plugin in hub.registry.sources else "sink"


def _url_options(hub, plugin):
    cls = hub.registry.source(plugin) if _kind(hub, plugin) == "connection" else hub.registry.sink(plugin)
    return sorted(name for name, d in destination_fields(cls.Options).items() if d.kind == "url")


def _create(client, headers, hub, plugin, name):
    options, credentials = CONFIGS[plugin]
    collection = "connections" if _kind(hub, plugin) == "connection" else "sinks"
    body = {"name": name, "plugin": plugin, "options": options, "credentials": credentials}
    created = client.post(f"/api/v1/{collection}", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return collection, created.json()["id"]


def _stored_options(hub):
    with hub.ready_store.begin() as conn:
        return sorted(
            [tuple(map(str, r)) for r in conn.execute(sa.select(connections_table.c.options))]
            + [tuple(map(str, r)) for r in conn.execute(sa.select(sinks_table.c.options))]
        )


def _every_plugin(hub):
    return [p for p in CONFIGS if p in {*hub.registry.sources, *hub.registry.sinks}]


def test_every_plugin_declares_where_it_sends(hub):
    """Every option that names a URL, host, path or file is a declared destination."""
    assert set(_every_plugin(hub)) == set(CONFIGS), "a plugin lost its configuration above"
    for plugin in _every_plugin(hub):
        kind = _kind(hub, plugin)
        cls = hub.registry.source(plugin) if kind == "connection" else hub.registry.sink(plugin)
        for model in (cls.Options, cls.Credentials):
            declared = destination_fields(model)
            for field in model.model_fields:
                if any(word in field for word in ("url", "host", "directory", "file", "path", "region")):
                    assert field in declared, f"{plugin}.{field} decides where data goes but is not declared"
    assert sum(len(_url_options(hub, p)) for p in _every_plugin(hub)) >= 12


def test_no_role_of_any_tenant_points_a_credential_at_another_host(client, hub, make_key, listener, snapshot):
    admin = make_key("default", "admin")
    keys = {
        role: make_key("default", role, name=f"{role}-all")
        for role in ("admin", "manager", "operator", "viewer")
    }
    keys |= {
        f"{role}-scoped": make_key("default", role, shops=["US1"], name=f"{role}-scoped")
        for role in ("admin", "manager", "operator", "agency")
    }
    keys["other-tenant-admin"] = make_key("beta", "admin", name="beta-admin")
    created = {plugin: _create(client, admin, hub, plugin, f"target-{i}") for i, plugin in enumerate(CONFIGS)}
    before, stored = snapshot(), _stored_options(hub)
    attempts = 0
    for plugin, (collection, object_id) in created.items():
        options, credentials = CONFIGS[plugin]
        for option in _url_options(hub, plugin):
            for who, headers in keys.items():
                for body in (
                    {"options": {**options, option: listener.url + "/token"}},
                    {"options": {**options, option: listener.url}, "credentials": credentials},
                ):
                    response = client.patch(f"/api/v1/{collection}/{object_id}", json=body, headers=headers)
                    attempts += 1
                    assert 400 <= response.status_code < 500, (plugin, option, who, response.text)
                    assert PLANTED not in response.text
            # Nor as a new object pointing there from the start.
            response = client.post(
                f"/api/v1/{collection}",
                json={
                    "name": "evil",
                    "plugin": plugin,
                    "options": {**options, option: listener.url},
                    "credentials": credentials,
                },
                headers=admin,
            )
            assert response.status_code == 422 and "KPIHUB_EGRESS_ALLOW" in response.text, (plugin, option)
    assert attempts >= 12 * len(keys) * 2
    assert _stored_options(hub) == stored and snapshot() == before
    assert listener.connections == 0 and bytes(listener.received) == b""


def test_a_tampered_row_is_stopped_by_the_guard_before_any_byte_leaves(client, hub, make_key, listener):
    admin = make_key("default", "admin")
    for i, plugin in enumerate(("amazon", "shopee", "tiktok", "erp_mabang", "egress_source")):
        _collection, object_id = _create(client, admin, hub, plugin, f"tampered-{i}")
        options = CONFIGS[plugin][0]
        # As if written before these rules existed, or by hand into the store.
        with hub.ready_store.begin() as conn:
            conn.execute(
                sa.update(connections_table)
                .where(connections_table.c.id == object_id)
                .values(options={**options, _url_options(hub, plugin)[0]: listener.url})
            )
        checked = client.post(f"/api/v1/connections/{object_id}/check", headers=admin)
        assert checked.status_code in (200, 422), checked.text
        assert PLANTED not in checked.text
        assert "KPIHUB_EGRESS_ALLOW" in checked.text or not checked.json().get("ok", True), checked.text
    assert listener.connections == 0 and bytes(listener.received) == b""


def test_with_loopback_allowed_the_stored_secrets_never_follow_a_new_url(hub, make_key, listener):
    """The operator allows simulators on loopback; a tenant may then use one, but only with
    credentials it enters itself: the stored ones stay with the platform."""
    ctx = HubContext(Settings(egress_allow="loopback"))
    ctx.__dict__["registry"] = hub.registry
    admin = make_key("default", "admin")
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        for i, plugin in enumerate(("amazon", "shopee", "tiktok", "erp_mabang", "egress_source")):
            collection, object_id = _create(client, admin, hub, plugin, f"moved-{i}")
            options, credentials = CONFIGS[plugin]
            option = _url_options(hub, plugin)[0]
            moved = {"options": {**options, option: listener.url}}
            refused = client.patch(f"/api/v1/{collection}/{object_id}", json=moved, headers=admin)
            assert refused.status_code == 422 and "send the credentials again" in refused.text
            # Only part of the credentials: the rest are not carried over either.
            partial = dict(list(credentials.items())[:1])
            with_part = client.patch(
                f"/api/v1/{collection}/{object_id}", json={**moved, "credentials": partial}, headers=admin
            )
            if len(credentials) > 1:
                assert with_part.status_code == 422, with_part.text
            mine = {k: ("attacker-own-value" if v == PLANTED else v) for k, v in credentials.items()}
            accepted = client.patch(
                f"/api/v1/{collection}/{object_id}", json={**moved, "credentials": mine}, headers=admin
            )
            assert accepted.status_code == 200, accepted.text
            client.post(f"/api/v1/connections/{object_id}/check", headers=admin)
    ctx.close()
    assert PLANTED.encode() not in bytes(listener.received)
    assert b"attacker-own-value" in bytes(listener.received), "the check did reach the allowed listener"


def test_a_database_sink_reaches_neither_private_servers_nor_files_outside_its_area(
    client, hub, make_key, listener, tmp_path
):
    admin = make_key("default", "admin")
    for url, why in (
        (
            f"postgresql+psycopg://kpihub:{PLANTED}@127.0.0.1:{listener.port}/sales",
            "loopback, private or link-local",
        ),
        (f"mysql+pymysql://kpihub:{PLANTED}@169.254.169.254/sales", "loopback, private or link-local"),
        (hub.settings.database_url, "outside the tenant's area"),  # the hub's own store
        (f"sqlite:///{tmp_path / 'other.db'}", "outside the tenant's area"),
        ("sqlite:///../../beta/outputs/client.db", "outside the tenant's area"),  # another tenant's
        ("sqlite:///client.db?mode=rw&uri=true", "SQLite URI options"),
    ):
        body = {"name": "client-db", "plugin": "database", "credentials": {"url": url}}
        response = client.post("/api/v1/sinks", json=body, headers=admin)
        assert response.status_code == 422 and why in response.text, (url, response.text)
        assert PLANTED not in response.text
    assert listener.connections == 0
