"""The default catalogue's gross margin takes off what shipping cost the seller, never the
shipping fee the buyer paid (that is revenue, already in GMV), against a computation by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.connections import ensure_tenant
from hub.kpi import compute
from hub.store.kpi_tables import kpi_fact
from hub.store.tables import standard_tables
from sdk import STANDARD_RECORDS

UTC = dt.UTC
SHOP = {"platform": "amazon", "shop_id": "S1"}
UNIT_COST = Decimal("30.00") + Decimal("2.00")  # purchase + first leg: COGS of one unit
CNY_IN_USD = Decimal("0.1400")


def _insert(conn, tid, table, rows):
    now = dt.datetime(2026, 6, 1, tzinfo=UTC)
    full = [STANDARD_RECORDS[table](**row).model_dump() for row in rows]
    conn.execute(standard_tables[table].insert(), [{"tenant_id": tid, "ingested_at": now, **r} for r in full])


def _order(order_id, day, gross, *, shipping_fee, platform_fees, **cost):
    created = dt.datetime.combine(day, dt.time(10), UTC)
    return {
        **SHOP,
        "order_id": order_id,
        "status": "shipped",
        "currency": "USD",
        "created_at": created,
        "updated_at": created,
        "gross_amount": gross,
        "shipping_fee": shipping_fee,
        "platform_fees": platform_fees,
        **cost,
    }


# April: the seller's shipping cost is known (Mabang's freight, in CNY). May: the ERP knows no
# cost for the order, only the marketplace's shipping fee the buyer paid.
APRIL = _order(
    "A1",
    dt.date(2026, 4, 12),
    Decimal("54.00"),
    shipping_fee=Decimal("4.00"),
    platform_fees=Decimal("2.00"),
    shipping_cost=Decimal("14.2000"),
    shipping_cost_currency="CNY",
)
MAY = _order(
    "M1", dt.date(2026, 5, 8), Decimal("110.00"), shipping_fee=Decimal("10.00"), platform_fees=Decimal("5.00")
)


def _load(store):
    with store.begin() as conn:
        tid = ensure_tenant(conn, "default")
        _insert(conn, tid, "shops", [{**SHOP, "timezone": "UTC", "launched_on": dt.date(2024, 1, 1)}])
        _insert(conn, tid, "orders", [APRIL, MAY])
        _insert(
            conn,
            tid,
            "order_items",
            [
                {
                    **SHOP,
                    "order_id": order["order_id"],
                    "line_id": "1",
                    "sku": "K1",
                    "quantity": 1,
                    "unit_price": order["gross_amount"],
                    "amount": order["gross_amount"],
                    "currency": "USD",
                }
                for order in (APRIL, MAY)
            ],
        )
        _insert(
            conn,
            tid,
            "sku_costs",
            [
                {
                    "sku": "K1",
                    "valid_from": dt.date(2026, 1, 1),
                    "purchase_cost": Decimal("30.00"),
                    "first_leg_cost": Decimal("2.00"),
                    "currency": "USD",
                }
            ],
        )
        _insert(
            conn,
            tid,
            "fx_rates",
            [
                {
                    "date": APRIL["created_at"].date(),
                    "currency": "CNY",
                    "base_currency": "USD",
                    "rate": CNY_IN_USD,
                },
            ],
        )


def _gross_margin(store, month):
    with store.begin() as conn:
        return conn.execute(
            sa.select(kpi_fact.c.value, kpi_fact.c.numerator, kpi_fact.c.denominator).where(
                kpi_fact.c.metric_id == "gross_margin",
                kpi_fact.c.grain == "month",
                kpi_fact.c.period_start == month,
                kpi_fact.c.scope_type == "tenant",
            )
        ).one()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_gross_margin_takes_off_the_seller_s_shipping_cost_not_the_buyer_s_shipping_fee(store):
    _load(store)
    compute(store, "default")

    # Counting basis defaults: GMV with tax and shipping fee; margin less COGS, platform fees
    # and shipping cost. Net sales = GMV (no refunds).
    april_net = APRIL["gross_amount"]
    april_margin = (
        april_net - UNIT_COST - APRIL["platform_fees"] - APRIL["shipping_cost"] * CNY_IN_USD
    )  # 54 - 32 - 2 - 1.988: the 4.00 the buyer paid for shipping is not a cost
    value, numerator, denominator = _gross_margin(store, dt.date(2026, 4, 1))
    assert float(denominator) == pytest.approx(float(april_net))
    assert float(numerator) == pytest.approx(float(april_margin))
    assert float(value) == pytest.approx(float(april_margin / april_net))

    # No shipping cost known: the buyer's 10.00 shipping fee is not taken off in its place.
    may_net = MAY["gross_amount"]
    value, numerator, denominator = _gross_margin(store, dt.date(2026, 5, 1))
    assert float(denominator) == pytest.approx(float(may_net))
    assert float(numerator) == pytest.approx(float(may_net - UNIT_COST - MAY["platform_fees"]))
    assert float(numerator) != pytest.approx(
        float(may_net - UNIT_COST - MAY["platform_fees"] - MAY["shipping_fee"])
    )
