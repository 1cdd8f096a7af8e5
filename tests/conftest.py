"""Shared fixtures: a store on every configured database, a master key, the fake plugin."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import fakeshop
import hypothesis  # noqa: F401  (see below)
import pytest
import sqlalchemy as sa
from hub_env import set_hub_env

from hub.connections import add_connection, get_connection
from hub.context import HubContext
from hub.plugins import load_plugins
from hub.settings import Settings
from hub.store import open_store
from hub.vault import create_key_file

# rich sizes the CLI's consoles from COLUMNS when hub.cli is first imported (by a test module,
# after this file), which under pytest-xdist happens in a worker with no terminal: give every
# test the same wide console.
os.environ.setdefault("COLUMNS", "200")

# hypothesis is imported at collection on purpose: imported lazily by its pytest plugin at the
# end of a session, CPython 3.11.7's ast.parse can fail with "AST constructor recursion depth
# mismatch" and turn a green run red.

SLOW = (
    "benchmarks/",
    "hub/test_demo.py",
    "hub/test_demo_dates.py",
    "hub/test_demo_recompute.py",
    "hub/test_scaffold.py",
    "hub/test_sync_process_kill.py",
    "hub/quality/test_demo_quality.py",
    "hub/reconcile/test_demo_reconcile.py",
    "hub/api/test_schemathesis.py",
    "hub/api/test_stateful.py",
    "hub/kpi/engine/test_incremental_property.py",
    "hub/kpi/engine/test_metrics_property.py",
    "hub/scheduler/test_celery_workers.py",
    "hub/scheduler/test_two_processes.py",
    "plugins/amazon/test_amazon_sync.py",
)
"""Test files (or folders) of whole demos, package installs, property runs, schema fuzzing and
process kills: marked ``slow`` so ``pytest -m "not slow"`` is a quick inner loop. CI runs all."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        where = item.path.relative_to(tests).as_posix() if item.path.is_relative_to(tests) else ""
        if where.startswith(SLOW):
            item.add_marker(pytest.mark.slow)


POSTGRES_URL = os.environ.get("KPIHUB_TEST_POSTGRES_URL")
MYSQL_URL = os.environ.get("KPIHUB_TEST_MYSQL_URL")
SPECS_DIR = Path(
    os.environ.get("KPIHUB_SPECS_DIR", Path(__file__).parents[2] / "shared" / "reference" / "specs")
)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def database_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a private schema on the test PostgreSQL/MariaDB."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kpihub.db'}"
        return
    if request.param == "mysql":
        yield from _mysql_database()
        return
    if not POSTGRES_URL:
        pytest.skip("KPIHUB_TEST_POSTGRES_URL is not set (.ci/run sets it to the local PostgreSQL)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    for attempt in range(3):
        try:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            break
        except sa.exc.OperationalError as exc:
            # Two tests' teardowns dropping their schemas at once can deadlock on the catalogue
            # (PostgreSQL picks one to fail); the next attempt goes through.
            if "deadlock" not in str(exc) or attempt == 2:
                raise
    admin.dispose()


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "master.key"
    create_key_file(path)
    return path


@pytest.fixture
def hub_env(monkeypatch, tmp_path, database_url, key_file):
    """Environment for a hub on ``database_url`` with a master key, run from ``tmp_path``."""
    return set_hub_env(monkeypatch, tmp_path, database_url, key_file)


@pytest.fixture
def fake_dist(tmp_path, monkeypatch):
    """Install the fake plugin as a real distribution with an entry point in group ``kpihub``."""
    site = tmp_path / "site"
    dist = site / "kpihub_fakeshop-1.0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kpihub-fakeshop\nVersion: 1.0.0\n")
    (dist / "entry_points.txt").write_text("[kpihub]\nfakeshop = fakeshop\n")
    monkeypatch.syspath_prepend(str(site))
    return site


@pytest.fixture
def registry():
    """A fresh plugin manager with the default plugins and the fake shop plugin."""
    return load_plugins(entry_points=[], extra=[("fakeshop", fakeshop)])


@pytest.fixture
def hub(hub_env, registry):
    """A migrated store, its vault and a registry that knows the fake plugin."""
    ctx = HubContext(Settings())
    ctx.store.migrate()
    ctx.__dict__["registry"] = registry
    yield ctx
    ctx.close()


@pytest.fixture
def store(database_url):
    s = open_store(database_url)
    s.migrate()
    yield s
    s.dispose()


def _mysql_database():
    if not MYSQL_URL:
        pytest.skip("KPIHUB_TEST_MYSQL_URL is not set (.ci/run sets it to the local MariaDB)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(MYSQL_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    yield sa.engine.make_url(MYSQL_URL).set(database=name).render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE `{name}`"))
    admin.dispose()


FAKE_OPTIONS = {"shop_id": "S1", "seed": 7, "orders": 23, "page_size": 5}
FAKE_CREDENTIALS = {"seller_id": "A1", "api_key": "sk-test-123"}


@pytest.fixture
def connect(hub):
    """Add a connection through the hub's service layer and return it."""

    def connect(name="shop1", *, plugin="fakeshop", options=FAKE_OPTIONS, credentials=FAKE_CREDENTIALS):
        add_connection(
            hub.ready_store,
            hub.vault,
            hub.registry,
            name=name,
            plugin=plugin,
            options=options,
            credentials=credentials,
        )
        return get_connection(hub.ready_store, name)

    return connect
