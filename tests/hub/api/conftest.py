"""Fixtures for the admin API: an app on a migrated hub, and keys of several tenants and roles."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hub_env import outputs

from hub.api import create_app
from hub.api.access import Scope, create_api_key
from hub.scheduler import Runner, SyncStep

with warnings.catch_warnings():
    # Starlette now prefers httpx2 for its test client; the hub depends on httpx, which works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture
def registry():
    """The fake shop and the database sink, so sinks can be configured and pushed."""
    import fakeshop

    import plugins.database
    from hub.plugins import load_plugins

    return load_plugins(entry_points=[], extra=[("fakeshop", fakeshop), ("database", plugins.database)])


@pytest.fixture
def app(hub):
    # Runs sync only: what the API does with a run does not depend on the KPI steps after it,
    # which tests/hub/scheduler/test_pipeline_steps.py covers.
    return create_app(hub, runner=Runner(hub, steps=[SyncStep()], retry_delays=(0.0,)))


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def make_key(hub):
    """``make_key(tenant, role, shops=...)`` -> request headers carrying a new key."""

    def make(tenant="default", role="admin", *, shops=(), platforms=(), name="test"):
        with hub.ready_store.begin() as conn:
            _, key = create_api_key(
                conn,
                tenant=tenant,
                name=name,
                role=role,
                scope=Scope(shops=list(shops), platforms=list(platforms)),
                actor="test",
            )
        return {"Authorization": f"Bearer {key}"}

    return make


@pytest.fixture
def admin(make_key):
    return make_key("default", "admin")


def pytest_collection_modifyitems(config, items):
    """Admin API tests run on SQLite; the few that say so (the isolation matrix, secrets, the
    mapping round trip) run on PostgreSQL too. The API's queries are the store's, whose schema
    tests/hub/test_store.py checks on every database; this keeps the suite lean."""
    here = Path(__file__).parent
    keep, drop = [], []
    for item in items:
        explicit = any(m.args and m.args[0] == "database_url" for m in item.iter_markers("parametrize"))
        mine = here in item.path.parents
        (drop if mine and not explicit and "[sqlite" not in item.nodeid else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


PLANTED = "sk-planted-7f3a9c1e55d24b0b"
"""A credential value that must never come back out of the hub."""


@pytest.fixture
def add_connection(client):
    """``add_connection(headers, name, shop_id=...)`` -> the created connection's JSON."""

    def add(headers, name="shop1", *, shop_id="S1", orders=23, api_key=PLANTED, **options):
        body = {
            "name": name,
            "plugin": "fakeshop",
            "options": {"shop_id": shop_id, "seed": 7, "orders": orders, "page_size": 5, **options},
            "credentials": {"seller_id": "A1", "api_key": api_key},
        }
        response = client.post("/api/v1/connections", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()

    return add


def wait_for_run(client, headers, run_id, timeout=30.0):
    """Poll a pipeline run until it is no longer running; return it."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/v1/pipeline-runs/{run_id}", headers=headers).json()
        if run["status"] != "running":
            return run
        time.sleep(0.05)
    raise AssertionError(f"pipeline run {run_id} still running after {timeout}s")


# Every route of the admin API with a sample request and the permission it needs. The
# isolation and bad-input tests walk this table; a test checks that it covers every route,
# so a new route cannot skip them.

ROUTES = {
    # (method, path): (permission, sample body)
    ("get", "/api/v1/tenants"): ("read", None),
    ("get", "/api/v1/tenants/{tenant_id}"): ("read", None),
    ("patch", "/api/v1/tenants/{tenant_id}"): ("admin", {"base_currency": "EUR"}),
    ("get", "/api/v1/users"): ("admin", None),
    ("post", "/api/v1/users"): ("admin", {"email": "eve@example.com", "name": "Eve", "role": "viewer"}),
    ("get", "/api/v1/users/{user_id}"): ("admin", None),
    ("patch", "/api/v1/users/{user_id}"): ("admin", {"name": "Changed"}),
    ("delete", "/api/v1/users/{user_id}"): ("admin", None),
    ("get", "/api/v1/api-keys"): ("admin", None),
    ("post", "/api/v1/api-keys"): ("admin", {"name": "k", "role": "admin"}),
    ("get", "/api/v1/api-keys/{key_id}"): ("admin", None),
    ("delete", "/api/v1/api-keys/{key_id}"): ("admin", None),
    ("get", "/api/v1/shops"): ("read", None),
    ("get", "/api/v1/shops/{platform}/{shop_id}"): ("read", None),
    ("get", "/api/v1/connections"): ("read", None),
    ("post", "/api/v1/connections"): (
        "configure",
        {
            "name": "new",
            "plugin": "fakeshop",
            "options": {},
            "credentials": {"seller_id": "x", "api_key": "sk-x"},
        },
    ),
    ("get", "/api/v1/connections/{connection_id}"): ("read", None),
    ("patch", "/api/v1/connections/{connection_id}"): (
        "configure",
        {"options": {"shop_id": "ALPHA-SHOP", "orders": 2}},
    ),
    ("post", "/api/v1/connections/{connection_id}/check"): ("operate", None),
    ("post", "/api/v1/connections/{connection_id}/pause"): ("configure", None),
    ("post", "/api/v1/connections/{connection_id}/resume"): ("configure", None),
    ("post", "/api/v1/connections/{connection_id}/remap"): ("operate", None),
    ("get", "/api/v1/connections/{connection_id}/streams"): ("read", None),
    ("get", "/api/v1/connections/{connection_id}/streams/{stream}/mapping"): ("read", None),
    ("put", "/api/v1/connections/{connection_id}/streams/{stream}/mapping"): (
        "configure",
        {"override": {"targets": {"orders": {"fields": {"buyer_country": "buyer.country"}}}}},
    ),
    ("post", "/api/v1/connections/{connection_id}/streams/{stream}/mapping/validate"): (
        "read",
        {"override": {}},
    ),
    ("post", "/api/v1/connections/{connection_id}/streams/{stream}/mapping/preview"): ("read", {}),
    ("get", "/api/v1/connections/{connection_id}/streams/{stream}/mapping/versions"): ("read", None),
    ("post", "/api/v1/connections/{connection_id}/streams/{stream}/mapping/rollback"): (
        "configure",
        {"version": 0},
    ),
    ("get", "/api/v1/schedules"): ("read", None),
    ("get", "/api/v1/connections/{connection_id}/schedule"): ("read", None),
    ("put", "/api/v1/connections/{connection_id}/schedule"): (
        "configure",
        {"kind": "interval", "every_seconds": 3600},
    ),
    ("delete", "/api/v1/connections/{connection_id}/schedule"): ("configure", None),
    ("get", "/api/v1/runs"): ("read", None),
    ("get", "/api/v1/runs/{run_id}"): ("read", None),
    ("get", "/api/v1/pipeline-runs"): ("read", None),
    ("get", "/api/v1/pipeline-runs/{run_id}"): ("read", None),
    ("post", "/api/v1/connections/{connection_id}/runs"): ("operate", None),
    ("get", "/api/v1/connections/{connection_id}/freshness"): ("read", None),
    ("get", "/api/v1/kpis"): ("read", None),
    ("get", "/api/v1/data-quality"): ("read", None),
    ("get", "/api/v1/alert-rules"): ("read", None),
    ("post", "/api/v1/alert-rules"): (
        "configure",
        {"name": "new-rule", "metric_id": "gmv", "scope_type": "tenant", "threshold": 1},
    ),
    ("patch", "/api/v1/alert-rules/{rule_id}"): ("configure", {"enabled": False}),
    ("get", "/api/v1/alerts"): ("read", None),
    ("patch", "/api/v1/alerts/{alert_id}"): ("operate", {"status": "acknowledged"}),
    ("get", "/api/v1/work-orders"): ("read", None),
    ("patch", "/api/v1/work-orders/{order_id}"): ("operate", {"status": "in_progress", "assignee": "ops"}),
    ("get", "/api/v1/counting-bases"): ("read", None),
    ("put", "/api/v1/counting-bases"): (
        "configure",
        {"changes": {"tax_included": False}, "note": "net of tax"},
    ),
    ("get", "/api/v1/targets"): ("read", None),
    ("put", "/api/v1/targets"): (
        "configure",
        {
            "metric_id": "gmv",
            "grain": "month",
            "period": "2026-03",
            "scope_type": "tenant",
            "scope_id": "default",
            "value": "1000",
        },
    ),
    ("delete", "/api/v1/targets"): ("configure", None),
    ("get", "/api/v1/targets/xlsx"): ("read", None),
    ("post", "/api/v1/targets/xlsx"): ("configure", None),
    # A report and its column map as a multipart form: no JSON sample (tests/hub/reconcile/ sends real ones).
    ("post", "/api/v1/reconciliations"): ("read", None),
    ("post", "/api/v1/targets/decompose"): (
        "configure",
        {"metric_id": "gmv", "grain": "month", "period": "2026-03", "down_to": "shop", "method": "weights"},
    ),
    ("get", "/api/v1/scorecard-templates"): ("read", None),
    ("put", "/api/v1/scorecard-templates"): (
        "configure",
        {"template_id": "ops", "role": "operator", "metrics": [{"metric_id": "gmv", "weight": "100"}]},
    ),
    ("get", "/api/v1/scorecard-adjustments"): ("read", None),
    ("get", "/api/v1/scorecards"): ("read", None),
    ("post", "/api/v1/scorecards/compute"): ("operate", {"grain": "month", "period": "2026-03"}),
    ("post", "/api/v1/scorecard-adjustments"): (
        "configure",
        {
            "subject_type": "person",
            "subject_id": "P1",
            "grain": "month",
            "period": "2026-03",
            "kind": "exempt",
            "reason": "parental leave",
        },
    ),
    ("get", "/api/v1/sinks"): ("read", None),
    ("post", "/api/v1/sinks"): (
        "configure",
        {"name": "new-sink", "plugin": "database", "options": {}, "credentials": {"url": "sqlite:///x.db"}},
    ),
    ("get", "/api/v1/sinks/{sink_id}"): ("read", None),
    ("patch", "/api/v1/sinks/{sink_id}"): ("configure", {"status": "paused", "tables": ["dim_shop"]}),
    ("post", "/api/v1/sinks/{sink_id}/test"): ("operate", None),
    ("post", "/api/v1/sinks/{sink_id}/push"): ("operate", None),
    ("get", "/api/v1/files"): ("read", None),
    ("put", "/api/v1/files/{path:path}"): ("configure", None),
    ("delete", "/api/v1/files/{path:path}"): ("configure", None),
    ("get", "/api/v1/plugins"): ("read", None),
    ("get", "/api/v1/audit"): ("admin", None),
}

ROLE_PERMISSIONS = {
    "admin": {"read", "operate", "configure", "admin"},
    "manager": {"read", "operate", "configure"},
    "operator": {"read", "operate", "configure"},
    "agency": {"read", "operate"},
    "viewer": {"read"},
}


TARGET_KEY = "metric_id=gmv&grain=month&period=2026-03&scope_type=tenant&scope_id=default"
"""The tenant target ``world`` sets, as the query of ``DELETE /targets``."""


def fill(path: str, ids: dict, method: str = "get") -> str:
    """The path with its parameters replaced by ``ids``; pipeline runs use their own key."""
    if path.startswith("/api/v1/pipeline-runs/"):
        return path.format(run_id=ids["pipeline_run_id"])
    if path == "/api/v1/kpis":
        return path + "?metric_id=gmv&grain=day"
    if path == "/api/v1/targets" and method == "delete":
        return path + "?" + TARGET_KEY
    return path.replace("{path:path}", ids["file"]).format(**ids)


@pytest.fixture
def routes():
    return ROUTES


@pytest.fixture
def world(client, hub, make_key, add_connection, tmp_path):
    """Tenant ``default`` with one of everything (synced), and tenant ``beta`` with an admin.

    Returns the ids of tenant default's objects, its admin's headers and beta's admin's headers.
    """
    admin_a = make_key("default", "admin", name="alpha-admin")
    conn_a = add_connection(admin_a, "alpha-conn", shop_id="ALPHA-SHOP")
    other_a = add_connection(admin_a, "alpha-other", shop_id="ALPHA-TWO")
    run = client.post(f"/api/v1/connections/{conn_a['id']}/runs", headers=admin_a).json()
    assert wait_for_run(client, admin_a, run["id"])["status"] == "succeeded"
    run2 = client.post(f"/api/v1/connections/{other_a['id']}/runs", headers=admin_a).json()
    assert wait_for_run(client, admin_a, run2["id"])["status"] == "succeeded"
    user = client.post(
        "/api/v1/users",
        json={"email": "alice@alpha.example", "name": "Alice", "role": "viewer"},
        headers=admin_a,
    ).json()
    key = client.post(
        "/api/v1/api-keys", json={"name": "alpha-key", "role": "viewer"}, headers=admin_a
    ).json()
    put = client.put(
        f"/api/v1/connections/{conn_a['id']}/schedule",
        json={"kind": "interval", "every_seconds": 86400},
        headers=admin_a,
    )
    assert put.status_code == 200, put.text
    sync_run = client.get(f"/api/v1/runs?connection_id={conn_a['id']}", headers=admin_a).json()["items"][0]
    tenant = client.get("/api/v1/tenants", headers=admin_a).json()["items"][0]
    admin_b = make_key("beta", "admin", name="beta-admin")
    add_connection(admin_b, "beta-conn", shop_id="BETA-SHOP")
    sink_id = _add_sink(hub, "default", "alpha-sink", outputs(tmp_path) / "alpha.db")
    _add_sink(hub, "beta", "beta-sink", outputs(tmp_path, "beta") / "beta.db")
    alert_id = _add_alert(hub, "default", "alpha-rule", "fakeshop:ALPHA-SHOP")
    for scope_type, scope_id, metric in (("tenant", "default", "gmv"), ("team", "alpha-team", "net_sales")):
        target = {"metric_id": metric, "grain": "month", "period": "2026-03", "scope_type": scope_type,
                  "scope_id": scope_id, "value": "1000"}  # fmt: skip
        assert client.put("/api/v1/targets", json=target, headers=admin_a).status_code == 200
    adjustment = {"subject_type": "person", "subject_id": "alpha-person", "grain": "month",
                  "period": "2026-03", "kind": "exempt", "reason": "on leave"}  # fmt: skip
    assert client.post("/api/v1/scorecard-adjustments", json=adjustment, headers=admin_a).status_code == 201
    _add_score(hub, "default", "alpha-person")
    uploaded = client.put(
        "/api/v1/files/alpha-files/staff.csv", content=b"staff_id,name\nP1,Li\n", headers=admin_a
    )
    assert uploaded.status_code == 200, uploaded.text
    ids = {
        "tenant_id": tenant["id"],
        "connection_id": conn_a["id"],
        "other_connection_id": other_a["id"],
        "user_id": user["id"],
        "key_id": key["id"],
        "run_id": sync_run["id"],
        "pipeline_run_id": run["id"],
        "stream": "orders",
        "platform": "fakeshop",
        "shop_id": "ALPHA-SHOP",
        "sink_id": sink_id,
        "alert_id": alert_id,
        "rule_id": _rule_id(hub, "alpha-rule"),
        "order_id": _add_work_order(hub, alert_id),
        "file": "alpha-files/staff.csv",
    }
    return {"ids": ids, "admin_a": admin_a, "admin_b": admin_b}


def _add_sink(hub, tenant, name, path):
    from hub.publish import add_sink

    info = add_sink(
        hub.ready_store,
        hub.vault,
        hub.registry,
        name=name,
        plugin="database",
        options={},
        credentials={"url": f"sqlite:///{path}"},
        tables=["dim_shop"],
        tenant=tenant,
    )
    return info.id


def _add_alert(hub, tenant, rule, scope_id):
    """An alert as the evaluator would raise it (the evaluator itself is tested with the KPI engine)."""
    import datetime as dt

    import sqlalchemy as sa

    from hub.kpi.alert_rules import add_rule
    from hub.store.management_tables import kpi_alert

    rule_id = add_rule(
        hub.ready_store,
        hub.vault,
        {"name": rule, "metric_id": "gmv", "scope_type": "shop", "threshold": 1},
        tenant=tenant,
    )
    with hub.ready_store.begin() as conn:
        tenant_id = conn.execute(
            sa.text("SELECT id FROM tenants WHERE name = :n"), {"n": tenant}
        ).scalar_one()
        inserted = conn.execute(
            kpi_alert.insert().values(
                tenant_id=tenant_id,
                rule_id=rule_id,
                raised_at=dt.datetime.now(dt.UTC),
                metric_id="gmv",
                scope_type="shop",
                scope_id=scope_id,
                grain="day",
                value=5.0,
                threshold=1.0,
                severity="warning",
                status="open",
                message=f"gmv of shop {scope_id} is 5.0, > 1",
                delivery="none",
                contract_version="1.0",
            )
        )
        return inserted.inserted_primary_key[0]


def _add_score(hub, tenant, person):
    """A published scorecard row, as scoring a template with one metric would publish it."""
    import datetime as dt

    import sqlalchemy as sa

    from hub.store.management_tables import kpi_scorecard

    with hub.ready_store.begin() as conn:
        tenant_id = conn.execute(
            sa.text("SELECT id FROM tenants WHERE name = :n"), {"n": tenant}
        ).scalar_one()
        conn.execute(
            kpi_scorecard.insert().values(
                tenant_id=tenant_id, grain="month", period_start=dt.date(2026, 3, 1), subject_type="person",
                subject_id=person, metric_id="gmv", template_id="ops", weight=100.0, actual_value=800.0,
                target_value=1000.0, attainment=0.8, score=80.0, total_score=80.0, adjusted=False,
                adjustment_reason=None, guardrail=None, contract_version="1.0",
                computed_at=dt.datetime.now(dt.UTC),
            )
        )  # fmt: skip


def _add_work_order(hub, alert_id):
    """A work order opened on the alert, as a rule with work_order=True would open it."""
    import datetime as dt

    from hub.store.management_tables import kpi_alert, work_orders

    now = dt.datetime.now(dt.UTC)
    with hub.ready_store.begin() as conn:
        alert = conn.execute(kpi_alert.select().where(kpi_alert.c.alert_id == alert_id)).one()
        order_id = conn.execute(
            work_orders.insert().values(
                tenant_id=alert.tenant_id,
                alert_id=alert_id,
                title=alert.message,
                assignee=None,
                status="open",
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        conn.execute(
            kpi_alert.update().where(kpi_alert.c.alert_id == alert_id).values(work_order_id=order_id)
        )
    return order_id


def _rule_id(hub, name):
    import sqlalchemy as sa

    from hub.store.management_tables import alert_rules

    with hub.ready_store.begin() as conn:
        return conn.execute(sa.select(alert_rules.c.id).where(alert_rules.c.name == name)).scalar_one()


def _snapshot(hub):
    """Everything a request could change, to prove that a refused one changed nothing."""
    import sqlalchemy as sa

    from hub.store.tables import metadata

    names = [
        "tenants",
        "connections",
        "users",
        "api_keys",
        "mapping_versions",
        "schedules",
        "pipeline_runs",
        "sync_runs",
        "audit_log",
        "orders",
        "shops",
        "kpi_alert",
        "work_orders",
        "sinks",
        "kpi_target",
        "counting_bases",
        "alert_rules",
        "kpi_adjustments",
        "kpi_scorecard",
        "sink_watermarks",
    ]
    state = {}
    with hub.ready_store.begin() as conn:
        for name in names:
            table = metadata.tables[name]
            rows = conn.execute(sa.select(table)).all()
            # last_used_at moves on every authenticated request by design; it is not a change.
            state[name] = sorted(
                repr({k: v for k, v in r._asdict().items() if k != "last_used_at"}) for r in rows
            )
    # Tenants' uploaded files and sinks' outputs are state too.
    root = hub.egress.data_dir
    state["files"] = (
        sorted((str(p.relative_to(root)), p.read_bytes()) for p in root.rglob("*") if p.is_file())
        if root.exists()
        else []
    )
    return state


@pytest.fixture
def snapshot(hub):
    return lambda: _snapshot(hub)


@pytest.fixture
def helpers():
    """Plain helpers for the tests: fill a route's path, wait for a run, the role table."""
    import types

    return types.SimpleNamespace(fill=fill, wait_for_run=wait_for_run, role_permissions=ROLE_PERMISSIONS)
