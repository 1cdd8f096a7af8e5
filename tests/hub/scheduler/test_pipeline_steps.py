"""The whole pipeline of a scheduled run: sync, then the tenant's KPIs recomputed, alert rules
evaluated, and the sinks pushed, each step against an independent expectation."""

from __future__ import annotations

from decimal import Decimal

import fakeshop
import pytest
import sqlalchemy as sa
from fakeshop import data
from hub_env import outputs

import plugins.database
from hub.kpi.alert_rules import add_rule
from hub.publish import add_sink
from hub.scheduler import Runner
from hub.store.kpi_tables import kpi_fact
from hub.store.management_tables import kpi_alert

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def registry():
    from hub.plugins import load_plugins

    return load_plugins(entry_points=[], extra=[("fakeshop", fakeshop), ("database", plugins.database)])


def test_a_run_syncs_computes_alerts_and_pushes(hub, connect, runs, tmp_path):
    info = connect()
    target = f"sqlite:///{outputs(tmp_path) / 'seller.db'}"
    add_sink(
        hub.ready_store,
        hub.vault,
        hub.registry,
        name="warehouse",
        plugin="database",
        options={},
        credentials={"url": target},
        tables=["kpi_fact"],
    )
    add_rule(
        hub.ready_store,
        hub.vault,
        {"name": "big-year", "metric_id": "gmv", "scope_type": "tenant", "grain": "year", "threshold": 1},
    )
    Runner(hub).run(info.id)
    (run,) = runs()
    assert run.status == "succeeded", (run.error, run.steps)
    assert list(run.steps) == ["sync", "kpi", "management", "push"]

    truth = data.truth(data.orders(7, 23), shop_id="S1")["orders"]
    gmv = sum(o["gross_amount"] for o in truth.values() if o["status"] != "cancelled")
    with hub.ready_store.begin() as conn:
        facts = conn.execute(
            sa.select(kpi_fact.c.period_start, kpi_fact.c.value).where(
                kpi_fact.c.metric_id == "gmv", kpi_fact.c.grain == "year", kpi_fact.c.scope_type == "tenant"
            )
        ).all()
        alerts = conn.execute(sa.select(kpi_alert.c.metric_id, kpi_alert.c.value)).all()
        hub_facts = conn.execute(sa.select(sa.func.count()).select_from(kpi_fact)).scalar_one()
    assert [round(Decimal(str(f.value)), 2) for f in facts] == [gmv]
    assert [(a.metric_id, round(Decimal(str(a.value)), 2)) for a in alerts] == [("gmv", gmv)]
    assert run.steps["management"]["alerts"] and run.steps["kpi"]["facts_written"] > 0

    engine = sa.create_engine(target)
    with engine.connect() as conn:
        pushed = conn.execute(sa.text("SELECT count(*) FROM kpi_fact")).scalar_one()
    engine.dispose()
    assert pushed == hub_facts

    # A run that brings nothing new leaves the KPIs, alerts and sinks alone.
    Runner(hub).run(info.id)
    second = runs()[-1]
    assert second.status == "succeeded" and second.steps["kpi"] == {"skipped": "the sync wrote no new rows"}
