"""The compute and management steps of a scheduled run do what ``kpihub compute`` does: every
registered metric provider's KPIs are computed (a third party's too, on a worker as in process),
and running periods are paced up to the day before the run's fire time, in the tenant's timezone."""

from __future__ import annotations

import datetime as dt
import types
import warnings
from decimal import Decimal

import fakeshop
import pytest
import sqlalchemy as sa
from fakeshop import data

from hub.api import create_app
from hub.api.access import Scope, create_api_key
from hub.kpi.targets import list_targets, set_target
from hub.plugins import load_plugins
from hub.scheduler import Runner
from hub.scheduler.celery_executor import QueuedRunner
from hub.store.kpi_tables import kpi_fact
from sdk import MetricDefinition, MetricProvider, hookimpl

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

FIRE = dt.datetime(2026, 3, 10, 20, 0, tzinfo=dt.UTC)


class PaidOrders(MetricProvider):
    """A third party's metric: orders paid but not yet shipped."""

    name = "paid_orders_metrics"

    def definitions(self) -> list[MetricDefinition]:
        return [
            MetricDefinition(
                metric_id="paid_orders",
                name_en="Paid orders awaiting shipment",
                name_zh="待发货订单",
                family="sales",
                kind="simple",
                unit="count",
                direction="lower_is_better",
                formula="count of orders with status paid",
                table="orders",
                aggregate="count",
                where="status == 'paid'",
                date="created_at",
            )
        ]


@hookimpl
def register_metric_providers(register):
    register(PaidOrders())


@pytest.fixture
def registry():
    """The defaults, the fake shop, and a third party's metrics plugin: a fresh manager per test."""
    plugin = types.ModuleType("paid_orders_plugin")
    plugin.register_metric_providers = register_metric_providers
    return load_plugins(entry_points=[], extra=[("fakeshop", fakeshop), ("paid_orders_plugin", plugin)])


def _truth():
    return data.truth(data.orders(7, 23), shop_id="S1")["orders"]


@pytest.mark.parametrize("runner", ["in_process", "celery_worker"])
def test_a_scheduled_run_computes_a_registered_third_party_metric(hub, connect, runs, runner):
    info = connect()
    if runner == "in_process":
        Runner(hub).run(info.id)
    else:  # what `kpihub worker` does with a delivered message (its runner, the default steps)
        QueuedRunner(hub).take(info.id, trigger="schedule", scheduled_for=FIRE, max_attempts=1)
    (run,) = runs()
    assert run.status == "succeeded", (run.error, run.steps)

    paid = sum(1 for o in _truth().values() if o["status"] == "paid")
    assert paid > 0
    with hub.ready_store.begin() as conn:
        values = conn.execute(
            sa.select(kpi_fact.c.period_start, kpi_fact.c.value).where(
                kpi_fact.c.metric_id == "paid_orders",
                kpi_fact.c.grain == "year",
                kpi_fact.c.scope_type == "tenant",
            )
        ).all()
    assert [(p.year, Decimal(str(v))) for p, v in values] == [(2026, paid)]


def test_the_api_lists_a_registered_third_party_metric(hub, connect, runs):
    """GET /api/v1/kpis reads the catalogue of the registered providers, not only the default one."""
    Runner(hub).run(connect().id)
    with hub.ready_store.begin() as conn:
        _, key = create_api_key(conn, tenant="default", name="t", role="viewer", scope=Scope(), actor="test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's test client prefers httpx2; httpx works
        from starlette.testclient import TestClient
    with TestClient(create_app(hub)) as client:
        answer = client.get(
            "/api/v1/kpis",
            params={"metric_id": "paid_orders", "grain": "year", "scope_type": "tenant"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert answer.status_code == 200, answer.text
    paid = sum(1 for o in _truth().values() if o["status"] == "paid")
    assert [Decimal(str(item["value"])) for item in answer.json()["items"]] == [paid]


def test_a_scheduled_run_paces_targets_to_the_day_before_its_fire_time(hub, connect, runs):
    info = connect()
    gmv = sum(o["gross_amount"] for o in _truth().values() if o["status"] != "cancelled")
    assert {o["created_at"].date() for o in _truth().values()} <= {
        dt.date(2026, 2, 28) + dt.timedelta(days=n) for n in range(10)
    }
    target = Decimal("50000")
    set_target(
        hub.ready_store,
        metric_id="gmv",
        grain="quarter",
        period="2026-Q1",
        scope_type="tenant",
        scope_id="default",
        value=target,
    )
    Runner(hub).run(info.id, scheduled_for=FIRE)
    (run,) = runs()
    assert run.status == "succeeded", (run.error, run.steps)
    # 20:00 UTC on 10 March is 04:00 on 11 March in Shanghai (the default tenant timezone):
    # the last whole day is 10 March, the 69th of the quarter's 90 days.
    assert run.steps["management"]["as_of"] == "2026-03-10"
    [measured] = list_targets(hub.ready_store)
    assert measured.attainment == pytest.approx(float(gmv / target))
    assert measured.paced_attainment == pytest.approx(float(gmv) / (float(target) * 69 / 90))
