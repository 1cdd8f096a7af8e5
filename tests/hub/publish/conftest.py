"""Fixtures of the publishing tests: a hub with the sink plugins, a second database as the
seller's target, and KPI rows written straight into the hub's published tables."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import hypothesis  # noqa: F401  (see tests/plugins/powerbi/conftest.py: CPython 3.11.7 ast.parse)
import pytest
import sqlalchemy as sa
from hub_env import outputs

import plugins.database
import plugins.powerbi
import plugins.tableau
from hub.context import HubContext
from hub.plugins import load_plugins
from hub.settings import Settings
from hub.store.kpi_tables import dim_metric, kpi_fact
from hub.store.tables import tenants

SINK_PLUGINS = [("database", plugins.database), ("powerbi", plugins.powerbi), ("tableau", plugins.tableau)]


@pytest.fixture
def sink_hub(hub_env):
    """A migrated hub store on ``database_url`` whose registry knows the sink plugins."""
    ctx = HubContext(Settings())
    ctx.store.migrate()
    ctx.__dict__["registry"] = load_plugins(entry_points=[], extra=SINK_PLUGINS)
    yield ctx
    ctx.close()


@pytest.fixture
def target_url(database_url, tmp_path):
    """A second, empty database of the same kind as the hub's: the seller's own."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{outputs(tmp_path) / 'target.db'}"
        return
    name = f"tgt_{uuid.uuid4().hex[:12]}"
    if url.get_backend_name() == "postgresql":
        admin = sa.create_engine(os.environ["KPIHUB_TEST_POSTGRES_URL"])
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        target = sa.engine.make_url(os.environ["KPIHUB_TEST_POSTGRES_URL"])
        yield target.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(False)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
    else:
        admin = sa.create_engine(os.environ["KPIHUB_TEST_MYSQL_URL"])
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        target = sa.engine.make_url(os.environ["KPIHUB_TEST_MYSQL_URL"]).set(database=name)
        yield target.render_as_string(False)
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE `{name}`"))
    admin.dispose()


METRICS = ["gmv", "orders", "roas", "refund_rate", "aov"]


def kpi_rows(tenant_id: int, count: int, *, seed: int = 0) -> list[dict]:
    """``count`` distinct kpi_fact rows: metrics by days by shops, values from the seed."""
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rows = []
    for i in range(count):
        metric = METRICS[i % len(METRICS)]
        day = dt.date(2026, 1, 1) + dt.timedelta(days=(i // len(METRICS)) % 300)
        shop = f"shop-{i // (len(METRICS) * 300)}"
        value = None if i % 97 == 0 else round((i * 7919 + seed) % 100_000 / 7.0, 4)
        rows.append(
            {
                "tenant_id": tenant_id,
                "metric_id": metric,
                "grain": "day",
                "period_start": day,
                "scope_type": "shop",
                "scope_id": f"amazon:{shop}",
                "platform": "amazon",
                "shop_id": shop,
                "value": value,
                "numerator": value,
                "denominator": 1.0 if value is not None else 0.0,
                "unit": "USD" if metric in ("gmv", "aov") else "count",
                "currency": "USD",
                "basis_version": 1,
                "computed_at": now,
                "contract_version": "1.0",
            }
        )
    return rows


def metric_rows() -> list[dict]:
    return [
        {
            "metric_id": m,
            "name_en": m.upper(),
            "name_zh": f"指标{i}",
            "family": "sales",
            "kind": "ratio" if m in ("roas", "refund_rate", "aov") else "simple",
            "formula": f"sum({m})",
            "direction": "higher_is_better",
            "unit": "USD",
            "provider": "builtin",
            "contract_version": "1.0",
        }
        for i, m in enumerate(METRICS)
    ]


def seed_kpis(store, count: int) -> int:
    """Write ``count`` kpi_fact rows and the metric dimension for tenant ``default``."""
    with store.begin() as conn:
        found = conn.execute(sa.select(tenants.c.id).where(tenants.c.name == "default")).scalar()
        if found is None:
            found = conn.execute(
                tenants.insert().values(name="default", created_at=dt.datetime.now(dt.UTC))
            ).inserted_primary_key[0]
        conn.execute(kpi_fact.insert(), kpi_rows(found, count))
        conn.execute(dim_metric.insert(), metric_rows())
    return int(found)


@pytest.fixture
def seed():
    """``seed(store, count)``: write KPI rows and the metric dimension; returns the tenant id."""
    return seed_kpis


@pytest.fixture
def make_kpi_rows():
    """``make_kpi_rows(tenant_id, count)``: kpi_fact rows like ``seed`` writes."""
    return kpi_rows
