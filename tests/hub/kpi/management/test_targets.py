"""Setting targets, and attainment / paced attainment measured against kpi_fact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.kpi.target_periods import parse_period, period_label
from hub.kpi.targets import list_targets, refresh_attainment, set_target
from hub.store.tables import audit_log
from sdk import ConfigError

APRIL = dt.date(2026, 4, 1)


@pytest.mark.parametrize(
    ("grain", "text", "start"),
    [
        ("month", "2026-03", dt.date(2026, 3, 1)),
        ("quarter", "2026-Q4", dt.date(2026, 10, 1)),
        ("year", "2027", dt.date(2027, 1, 1)),
        ("quarter", "2026-07-01", dt.date(2026, 7, 1)),
    ],
)
def test_periods_read_as_people_write_them(grain, text, start):
    assert parse_period(grain, text) == start
    assert parse_period(grain, period_label(grain, start)) == start


def test_set_target_is_audited_and_bad_arguments_change_nothing(lite_store, table_rows):
    store = lite_store
    set_target(
        store,
        metric_id="gmv",
        grain="month",
        period="2026-04",
        scope_type="shop",
        scope_id="amazon:S1",
        value="1,500.25",
        actor="ops-director",
    )
    bad = [
        ({"grain": "week"}, "grain 'week' is not one of month, quarter, year"),
        ({"period": "2026-Q2"}, "period '2026-Q2' is not a month"),
        ({"value": "-5"}, "must be a finite number, zero or more"),
        ({"value": "12.345678"}, "more than 4 decimals"),
        ({"scope_type": "region"}, "scope type 'region' is not one of"),
        ({"metric_id": "sales_attainment"}, "set the target on net_sales or gmv"),
        ({"metric_id": "gmvv"}, "unknown metric 'gmvv'"),
    ]
    for change, message in bad:
        args = {
            "metric_id": "gmv",
            "grain": "month",
            "period": "2026-04",
            "scope_type": "shop",
            "scope_id": "amazon:S2",
            "value": 10,
            **change,
        }
        with pytest.raises(ConfigError, match=message):
            set_target(store, known_metrics=["gmv", "net_sales"], **args)
    [target] = list_targets(store)
    assert (target.scope_id, target.target_value, target.source) == ("amazon:S1", Decimal("1500.25"), "set")
    [entry] = [r for r in table_rows(store, audit_log) if r["action"] == "target.set"]
    assert entry["actor"] == "ops-director"


# MySQL reads the same doubles back in the sales attainment test below; one MySQL setup is enough.
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_attainment_and_pace_follow_direction_and_missing_values_stay_null(store, metrics, facts):
    from hub.connections import ensure_tenant

    with store.begin() as conn:
        tid = ensure_tenant(conn, "default")
        metrics(
            conn,
            [
                {"metric_id": "gmv", "kind": "simple", "unit": "currency", "direction": "higher_is_better"},
                {
                    "metric_id": "refund_rate",
                    "kind": "ratio",
                    "unit": "ratio",
                    "direction": "lower_is_better",
                },
            ],
        )
        facts(
            conn,
            tid,
            [
                {
                    "metric_id": "gmv",
                    "grain": "month",
                    "period_start": APRIL,
                    "scope_type": "shop",
                    "scope_id": "amazon:S1",
                    "value": 4000.0,
                },
                {
                    "metric_id": "gmv",
                    "grain": "month",
                    "period_start": APRIL,
                    "scope_type": "tenant",
                    "scope_id": "all",
                    "value": 9000.0,
                },
                {
                    "metric_id": "refund_rate",
                    "grain": "month",
                    "period_start": APRIL,
                    "scope_type": "shop",
                    "scope_id": "amazon:S1",
                    "value": 0.05,
                },
                {
                    "metric_id": "gmv",
                    "grain": "quarter",
                    "period_start": dt.date(2026, 1, 1),
                    "scope_type": "shop",
                    "scope_id": "amazon:S1",
                    "value": 36000.0,
                },
            ],
        )
    for metric, grain, period, scope_type, scope_id, value in [
        ("gmv", "month", "2026-04", "shop", "amazon:S1", 10000),
        ("gmv", "month", "2026-04", "tenant", "default", 30000),
        ("gmv", "month", "2026-04", "shop", "amazon:S2", 5000),  # no KPI value yet
        ("refund_rate", "month", "2026-04", "shop", "amazon:S1", "0.04"),
        ("gmv", "quarter", "2026-Q1", "shop", "amazon:S1", 30000),  # a finished period
        ("gmv", "month", "2026-05", "shop", "amazon:S1", 0),  # a zero target cannot be divided by
    ]:
        set_target(
            store,
            metric_id=metric,
            grain=grain,
            period=period,
            scope_type=scope_type,
            scope_id=scope_id,
            value=value,
        )
    assert refresh_attainment(store, as_of=dt.date(2026, 4, 10)) == 6
    got = {
        (t.metric_id, t.grain, t.scope_id): t
        for t in list_targets(store)
        if t.period_start < dt.date(2026, 5, 1)
    }

    shop = got[("gmv", "month", "amazon:S1")]
    assert shop.actual_value == 4000.0
    assert shop.attainment == pytest.approx(4000 / 10000)
    assert shop.paced_attainment == pytest.approx(4000 / 10 * 30 / 10000)  # 10 of April's 30 days
    tenant = got[("gmv", "month", "default")]
    assert tenant.attainment == pytest.approx(9000 / 30000)
    missing = got[("gmv", "month", "amazon:S2")]
    assert (missing.actual_value, missing.attainment, missing.paced_attainment) == (None, None, None)
    refund = got[("refund_rate", "month", "amazon:S1")]
    # Lower is better: 5% against a 4% target is 2 - 1.25; a rate is not paced.
    assert refund.attainment == pytest.approx(2 - 0.05 / 0.04)
    assert refund.paced_attainment == refund.attainment
    finished = got[("gmv", "quarter", "amazon:S1")]
    assert finished.paced_attainment == finished.attainment == pytest.approx(36000 / 30000)
    [zero] = [t for t in list_targets(store) if t.period_start == dt.date(2026, 5, 1)]
    assert (zero.target_value, zero.attainment, zero.paced_attainment) == (0, None, None)

    # A refresh that measures nothing new writes nothing: sinks see no change (updated_at).
    from hub.store.management_tables import kpi_target

    def stamps():
        with store.begin() as conn:
            return dict(
                conn.execute(
                    sa.select(kpi_target.c.scope_id + kpi_target.c.metric_id, kpi_target.c.updated_at)
                ).all()
            )

    before = stamps()
    assert refresh_attainment(store, as_of=dt.date(2026, 4, 10)) == 6
    assert stamps() == before


# MySQL is the database where "unchanged" could fail (a double read back differently).
@pytest.mark.parametrize("database_url", ["sqlite", "mysql"], indirect=True)
def test_sales_attainment_is_published_where_a_sales_target_exists(store, facts):
    import sqlalchemy as sa

    from hub.connections import ensure_tenant
    from hub.store.kpi_tables import dim_metric, kpi_fact

    with store.begin() as conn:
        tid = ensure_tenant(conn, "default")
        facts(
            conn,
            tid,
            [
                {
                    "metric_id": "net_sales",
                    "grain": "month",
                    "period_start": APRIL,
                    "scope_type": scope_type,
                    "scope_id": scope_id,
                    "value": value,
                }
                for scope_type, scope_id, value in (
                    ("tenant", "default", 50_000.0),
                    ("person", "P1", 8_000.0),
                    ("person", "P2", 9_000.0),
                )
            ],
        )
    set_target(
        store,
        metric_id="net_sales",
        grain="month",
        period="2026-04",
        scope_type="tenant",
        scope_id="default",
        value=40_000,
    )
    set_target(
        store,
        metric_id="net_sales",
        grain="month",
        period="2026-04",
        scope_type="person",
        scope_id="P1",
        value=10_000,
    )
    refresh_attainment(store, as_of=dt.date(2026, 4, 30))
    with store.begin() as conn:
        rows = conn.execute(
            sa.select(kpi_fact)
            .where(kpi_fact.c.metric_id == "sales_attainment")
            .order_by(kpi_fact.c.scope_type)
        ).all()
        described = conn.execute(
            sa.select(dim_metric.c.unit).where(dim_metric.c.metric_id == "sales_attainment")
        )
        assert described.scalar_one() == "ratio"
    got = {(r.scope_type, r.scope_id): (r.value, r.numerator, r.denominator) for r in rows}
    # P2 has sales but no target: no row at all ("not configured"), never 0.
    # Exactly: sales over the target, to ten places; numerator and denominator as they are.
    assert got == {
        ("person", "P1"): (Decimal("0.8"), 8_000, 10_000),
        ("tenant", "default"): (Decimal("1.25"), 50_000, 40_000),
    }

    # Refreshing again changes nothing, so sinks have nothing new to push; a new target does.
    def stamps():
        with store.begin() as conn:
            query = sa.select(kpi_fact.c.scope_id, kpi_fact.c.computed_at, kpi_fact.c.denominator)
            return {
                r.scope_id: r for r in conn.execute(query.where(kpi_fact.c.metric_id == "sales_attainment"))
            }

    before = stamps()
    refresh_attainment(store, as_of=dt.date(2026, 4, 30))
    assert stamps() == before
    set_target(
        store,
        metric_id="net_sales",
        grain="month",
        period="2026-04",
        scope_type="person",
        scope_id="P1",
        value=16_000,
    )
    refresh_attainment(store, as_of=dt.date(2026, 4, 30))
    after = stamps()
    assert after["default"] == before["default"]
    # (MySQL keeps whole seconds: the stamp may look the same within one second.)
    assert after["P1"].denominator == 16_000.0 and after["P1"].computed_at >= before["P1"].computed_at
