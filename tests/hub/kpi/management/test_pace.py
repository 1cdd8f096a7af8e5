"""Paced attainment of a running period, through the real engine: net sales (a metric derived
from GMV and refunds) against a quarter target, paced at the as-of day each caller gives."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.connections import ensure_tenant
from hub.kpi import compute, set_counting_basis
from hub.kpi.after_compute import after_compute
from hub.kpi.targets import list_targets, set_target
from hub.store.tables import standard_tables
from sdk import STANDARD_RECORDS

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

Q2 = dt.date(2026, 4, 1)
Q2_DAYS = 30 + 31 + 30
TARGET = Decimal("20000")
UTC = dt.UTC
# (order id, created, status, gross amount): Q2 has data up to 10 May only.
ORDERS = [
    ("Q1-late", dt.datetime(2026, 3, 30, 12, tzinfo=UTC), "shipped", Decimal("5000.00")),
    ("A", dt.datetime(2026, 4, 2, 10, tzinfo=UTC), "shipped", Decimal("1200.00")),
    ("B", dt.datetime(2026, 4, 18, 9, tzinfo=UTC), "delivered", Decimal("845.50")),
    ("C", dt.datetime(2026, 4, 21, 9, tzinfo=UTC), "cancelled", Decimal("700.00")),
    ("D", dt.datetime(2026, 5, 3, 16, tzinfo=UTC), "paid", Decimal("2010.25")),
    ("E", dt.datetime(2026, 5, 10, 23, tzinfo=UTC), "shipped", Decimal("99.99")),
]
REFUND = ("R1", "B", dt.datetime(2026, 5, 6, 8, tzinfo=UTC), Decimal("100.00"))


def _insert(conn, tid, table, rows):
    now = dt.datetime(2026, 5, 11, tzinfo=UTC)
    full = [STANDARD_RECORDS[table](**row).model_dump() for row in rows]
    conn.execute(standard_tables[table].insert(), [{"tenant_id": tid, "ingested_at": now, **r} for r in full])


def load_quarter(store):
    """The orders and refund above for shop amazon:S1 (UTC); net sales of Q2 computed by hand."""
    shop = {"platform": "amazon", "shop_id": "S1"}
    with store.begin() as conn:
        tid = ensure_tenant(conn, "default")
        _insert(conn, tid, "shops", [{**shop, "timezone": "UTC", "launched_on": dt.date(2024, 1, 1)}])
        _insert(
            conn,
            tid,
            "orders",
            [
                {
                    **shop,
                    "order_id": order_id,
                    "status": status,
                    "currency": "USD",
                    "created_at": created,
                    "updated_at": created,
                    "gross_amount": amount,
                }
                for order_id, created, status, amount in ORDERS
            ],
        )
        refund_id, order_id, created, amount = REFUND
        _insert(
            conn,
            tid,
            "refunds",
            [
                {
                    **shop,
                    "refund_id": refund_id,
                    "order_id": order_id,
                    "amount": amount,
                    "currency": "USD",
                    "created_at": created,
                    "status": "completed",
                }
            ],
        )
    gmv = sum(a for _, created, status, a in ORDERS if status != "cancelled" and created.date() >= Q2)
    return gmv - REFUND[3]


def set_quarter_target(store):
    set_target(
        store,
        metric_id="net_sales",
        grain="quarter",
        period="2026-Q2",
        scope_type="tenant",
        scope_id="default",
        value=TARGET,
    )


def the_target(store):
    [target] = list_targets(store, metric_id="net_sales")
    return target


def expected_pace(actual, as_of):
    """Actual against the share of the target the days from 1 April to ``as_of`` call for."""
    elapsed = (as_of - Q2).days + 1
    return float(actual) / (float(TARGET) * elapsed / Q2_DAYS)


def test_a_running_quarter_is_paced_to_the_as_of_day_a_finished_one_is_not_and_a_future_one_has_none(hub):
    store = hub.ready_store
    actual = load_quarter(store)
    assert actual == Decimal("4055.74")
    compute(store, "default")
    set_quarter_target(store)

    run = after_compute(store, hub.vault, as_of=dt.date(2026, 5, 15))
    target = the_target(store)
    assert float(target.actual_value) == pytest.approx(float(actual))
    assert target.attainment == pytest.approx(float(actual / TARGET))
    # 45 of the quarter's 91 days have passed: the actual is measured against 45/91 of the target.
    assert target.paced_attainment == pytest.approx(expected_pace(actual, dt.date(2026, 5, 15)))
    assert target.paced_attainment == pytest.approx(float(actual) / 45 * 91 / float(TARGET))
    assert target.paced_attainment > 2 * target.attainment
    assert run.as_of == dt.date(2026, 5, 15)

    # On the quarter's last day, or any day after it, the quarter is over: pace is attainment.
    for day in (dt.date(2026, 6, 30), dt.date(2026, 7, 3)):
        after_compute(store, hub.vault, as_of=day)
        target = the_target(store)
        assert target.paced_attainment == pytest.approx(target.attainment)
        assert target.paced_attainment == pytest.approx(float(actual / TARGET))

    # Before the quarter starts there is nothing to pace.
    after_compute(store, hub.vault, as_of=dt.date(2026, 3, 31))
    assert the_target(store).paced_attainment is None


def test_without_an_as_of_day_the_pace_runs_to_yesterday_in_the_tenant_s_timezone(hub):
    store = hub.ready_store
    actual = load_quarter(store)
    compute(store, "default")
    set_quarter_target(store)
    # 20:00 UTC on 15 May is already 16 May in Shanghai (the default tenant timezone), 13:00
    # on 15 May in Los Angeles: the last whole day of data is 15 May, then 14 May.
    evening = dt.datetime(2026, 5, 15, 20, tzinfo=UTC)
    run = after_compute(store, hub.vault, now=evening)
    assert the_target(store).paced_attainment == pytest.approx(expected_pace(actual, dt.date(2026, 5, 15)))
    assert run.as_of == dt.date(2026, 5, 15)

    with store.begin() as conn:
        tid = ensure_tenant(conn, "default")
        set_counting_basis(conn, tid, {"tenant_timezone": "America/Los_Angeles"}, actor="test")
    run = after_compute(store, hub.vault, now=evening)
    assert the_target(store).paced_attainment == pytest.approx(expected_pace(actual, dt.date(2026, 5, 14)))
    assert run.as_of == dt.date(2026, 5, 14)


def test_kpihub_compute_paces_at_its_as_of_day(hub):
    store = hub.ready_store
    actual = load_quarter(store)
    set_quarter_target(store)
    result = CliRunner().invoke(app, ["compute", "--as-of", "2026-05-15", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["management"]["as_of"] == "2026-05-15"
    assert the_target(store).paced_attainment == pytest.approx(expected_pace(actual, dt.date(2026, 5, 15)))

    bad = CliRunner().invoke(app, ["compute", "--as-of", "15/05/2026"])
    assert bad.exit_code != 0 and "--as-of '15/05/2026' is not a date" in bad.stderr
