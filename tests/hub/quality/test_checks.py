"""Every check on a tenant with known gaps (tests/fixtures/quality_world.py), on every database.

The expected findings are worked out by hand from the rows the world writes (its comments say
which row makes which finding), including rows whose local day differs from their UTC day.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from quality_world import NOW, SECRET, complete, seed_gaps

from hub.kpi import list_bases, set_counting_basis
from hub.quality import CHECK_NAMES, Finding, run_checks
from hub.redaction import scrub
from hub.store.tables import standard_tables
from sdk import ConfigError

SHIPPING_COST = "shipping_cost" in standard_tables["orders"].c
FX_FIX = (
    "rates for these days: a files connection's fx_rates.csv (date, currency, base_currency, rate) or "
    "the ERP's currency rates; then `kpihub compute`"
)
COST_FIX = (
    "through the ERP's SKU costs or a files connection's sku_costs.csv (sku, valid_from, purchase_cost, "
    "first_leg_cost, currency)"
)
REGISTER = (
    "the shop register: a files connection's shops.csv (platform, shop_id, site, shop_name, timezone, "
    "currency, launched_on) or the shop's marketplace connection"
)


def _found(store, check, **options):
    return run_checks(store, "default", checks=[check], now=NOW, **options).findings


def _fees_fix(label: str, column: str, connection: str) -> str:
    return (
        f"map the source's {label} onto orders.{column} (`kpihub mapping show {connection} orders`, then "
        f"`kpihub mapping set …` and `kpihub remap {connection}`); the newest orders' {label} often arrive "
        "only once they settle, with a later sync"
    )


def test_missing_fx_per_currency_on_each_rows_local_day(store):
    seed_gaps(store)
    assert _found(store, "missing_fx") == [
        Finding(
            check="missing_fx",
            severity="error",
            count=3,
            summary="no EUR→USD exchange rate for 3 days (2026-03-12 to 2026-04-02): 4 amounts in EUR "
            "cannot be converted and are left out of the KPIs (1 line cost (COGS), 2 ad rows, 1 stock row)",
            example="EUR on 2026-03-12: 1 line cost (COGS), 1 stock row",
            fix=f"add EUR→USD {FX_FIX}",
            details={
                "currency": "EUR",
                "base_currency": "USD",
                "fx_rate": "day",
                "missing": ["2026-03-12", "2026-03-21", "2026-04-02"],
                "amounts": {"sku_costs": 1, "ad_performance": 2, "inventory_snapshots": 1},
            },
        ),
        Finding(
            check="missing_fx",
            severity="error",
            count=1,
            summary="no SGD→USD exchange rate for 1 day (2026-03-05): 4 amounts in SGD cannot be converted "
            "and are left out of the KPIs (1 order, 1 order line, 1 refund, 1 ad row)",
            example="SGD on 2026-03-05: 1 order, 1 order line, 1 refund, 1 ad row",
            fix=f"add SGD→USD {FX_FIX}",
            details={
                "currency": "SGD",
                "base_currency": "USD",
                "fx_rate": "day",
                "missing": ["2026-03-05"],
                "amounts": {"orders": 1, "order_items": 1, "refunds": 1, "ad_performance": 1},
            },
        ),
    ]


def test_missing_fx_by_month_with_the_month_average_basis(store):
    tid = seed_gaps(store)
    with store.begin() as conn:
        set_counting_basis(conn, tid, {"fx_rate": "month_average"}, actor="test")
    # March has EUR and SGD rates on some day; April has none.
    [april] = _found(store, "missing_fx")
    assert (april.count, april.example, april.details["missing"]) == (
        1,
        "EUR on 2026-04: 1 ad row",
        ["2026-04"],
    )
    assert april.summary.startswith("no EUR→USD exchange rate for 1 month (2026-04): 1 amount in EUR")
    assert (
        april.fix
        == f"add EUR→USD rates for any day of these months{FX_FIX.removeprefix('rates for these days')}"
    )


@pytest.mark.skipif(not SHIPPING_COST, reason="orders have no shipping_cost column (the KPI engine adds it)")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_shipping_cost_in_another_currency_needs_its_rate(store):
    seed_gaps(store)
    orders = standard_tables["orders"]
    with store.begin() as conn:
        conn.execute(sa.update(orders).where(orders.c.order_id == "O7").values(shipping_cost_currency="GBP"))
    [gbp] = [f for f in _found(store, "missing_fx") if f.details["currency"] == "GBP"]
    assert (gbp.count, gbp.example) == (1, "GBP on 2026-03-15: 1 shipping cost")


def test_missing_cost_per_shop_on_the_order_day(store):
    seed_gaps(store)
    assert _found(store, "missing_cost") == [
        Finding(
            check="missing_cost",
            severity="error",
            count=2,
            summary="2 SKUs sold on 2 order lines (2026-03-05 to 2026-03-09) without a cost valid on the "
            "order day: COGS, gross margin, inventory turnover and days of inventory leave these lines out",
            example="K2: 1 line (2026-03-09), its first cost is valid from 2026-03-10",
            fix=f"add each SKU's cost, valid from its first day sold, {COST_FIX}; then `kpihub compute`",
            details={
                "lines": 2,
                "skus": [
                    {
                        "sku": "K2",
                        "lines": 1,
                        "first_day": "2026-03-09",
                        "last_day": "2026-03-09",
                        "cost_valid_from": "2026-03-10",
                    },
                    {
                        "sku": "K3",
                        "lines": 1,
                        "first_day": "2026-03-05",
                        "last_day": "2026-03-05",
                        "cost_valid_from": None,
                    },
                ],
            },
            scope="shop",
            scope_id="amazon:A1",
        )
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_tenants_day_boundary_moves_a_line_onto_its_cost(store):
    tid = seed_gaps(store)
    with store.begin() as conn:
        set_counting_basis(conn, tid, {"day_boundary": "tenant"}, actor="test")
    # O2 at 2026-03-10 03:00 UTC is 03-10 in Shanghai, the day K2's cost starts: only K3 is left.
    [finding] = _found(store, "missing_cost")
    assert (finding.count, finding.example) == (1, "K3: 1 line (2026-03-06), no cost at all")


def test_missing_fees_and_shipping_cost_per_shop(store):
    seed_gaps(store)
    fees = _found(store, "missing_fees")
    assert fees == [
        Finding(
            check="missing_fees",
            severity="error",
            count=1,
            summary="1 order of 2 (2026-03-09) has no known platform fees: gross margin is incomplete for "
            "this order",
            example="order O2",
            fix=_fees_fix("platform fees", "platform_fees", "amz"),
            details={"orders": 2, "unknown": 1, "connections": ["amz"]},
            scope="shop",
            scope_id="amazon:A1",
        ),
        Finding(
            check="missing_fees",
            severity="error",
            count=1,
            summary="1 order of 1 (2026-03-20) has no known platform fees: gross margin is incomplete for "
            "this order",
            example="order O6",
            fix=_fees_fix("platform fees", "platform_fees", "CONNECTION"),
            details={"orders": 1, "unknown": 1, "connections": []},
            scope="shop",
            scope_id="tiktok:T1",
        ),
    ]
    if SHIPPING_COST:
        [shipping] = _found(store, "missing_shipping_cost")
        assert (shipping.scope_id, shipping.count, shipping.example) == ("amazon:A1", 1, "order O1")
        assert shipping.summary.startswith("1 order of 2 (2026-03-05) has no known shipping cost")
        assert shipping.fix == _fees_fix("shipping cost", "shipping_cost", "amz")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_fees_left_out_of_the_margin_are_not_missing(store):
    tid = seed_gaps(store)
    with store.begin() as conn:
        set_counting_basis(conn, tid, {"margin_includes_platform_fees": False}, actor="test")
    assert _found(store, "missing_fees") == []


def test_stock_without_any_cost_per_shop_and_for_no_shop(store):
    seed_gaps(store)
    fix = (
        f"add the SKUs' costs, valid from the first snapshot day, {COST_FIX}, or map the snapshots' unit cost"
    )
    tail = (
        "neither a unit cost nor a SKU cost valid on the day: inventory value, turnover and days of inventory"
    )
    assert _found(store, "stock_without_cost") == [
        Finding(
            check="stock_without_cost",
            severity="error",
            count=1,
            summary=f"1 stock snapshot of 1 SKU (2026-03-05) has {tail} leave them out",
            example="K2: 1 snapshot (2026-03-05), its first cost is valid from 2026-03-10",
            fix=f"{fix}; then `kpihub compute`",
            details={
                "snapshots": 1,
                "skus": [
                    {
                        "sku": "K2",
                        "snapshots": 1,
                        "first_day": "2026-03-05",
                        "last_day": "2026-03-05",
                        "cost_valid_from": "2026-03-10",
                    }
                ],
            },
            scope="tenant",
            scope_id=None,
        ),
        Finding(
            check="stock_without_cost",
            severity="error",
            count=2,
            summary=f"2 stock snapshots of 1 SKU (2026-03-05 to 2026-03-06) have {tail} leave them out",
            example="K3: 2 snapshots (2026-03-05 to 2026-03-06), no cost at all",
            fix=f"{fix}; then `kpihub compute`",
            details={
                "snapshots": 2,
                "skus": [
                    {
                        "sku": "K3",
                        "snapshots": 2,
                        "first_day": "2026-03-05",
                        "last_day": "2026-03-06",
                        "cost_valid_from": None,
                    }
                ],
            },
            scope="shop",
            scope_id="amazon:A1",
        ),
    ]


def test_shipments_without_a_promised_delivery_date_per_shop(store):
    seed_gaps(store)
    assert _found(store, "missing_delivery_dates") == [
        Finding(
            check="missing_delivery_dates",
            severity="warning",
            count=1,
            summary="1 shipment of 1 shipped (2026-03-05) has no promised delivery date: the last-mile "
            "delivery rate cannot tell whether it was on time",
            example="shipment P4",
            fix="map the platform's promised delivery date onto shipments.promised_delivery_at (`kpihub "
            "mapping show CONNECTION STREAM`, `kpihub mapping set …`, `kpihub remap CONNECTION`) where the "
            "platform reports one; a platform that reports none leaves the rate unknown",
            details={"shipped": 1, "unknown": 1, "connections": []},
            scope="shop",
            scope_id="shopee:S1",
        )
    ]


def test_shops_with_orders_but_no_row_or_no_usable_time_zone(store):
    seed_gaps(store)
    assert _found(store, "unknown_shop") == [
        Finding(
            check="unknown_shop",
            severity="warning",
            count=1,
            summary="shop amazon:A2 has 1 order (2026-03-15) but the shop dimension knows only its id (no "
            "site; time zone UTC by default): its days are counted in UTC",
            example="order O7",
            fix=f"give the shop its site and timezone in {REGISTER}; then `kpihub compute`",
            details={"in_shop_dimension": True, "timezone": "UTC"},
            scope="shop",
            scope_id="amazon:A2",
        ),
        Finding(
            check="unknown_shop",
            severity="error",
            count=1,
            summary="shop shopee:S2 has 1 order (2026-03-15) but its time zone 'Mars/Olympus' is no IANA "
            "time zone, so its local days cannot be told",
            example="order O8",
            fix=f"set the shop's timezone (an IANA name such as Asia/Shanghai) in {REGISTER}; then `kpihub "
            "compute`",
            details={"in_shop_dimension": True, "timezone": "Mars/Olympus"},
            scope="shop",
            scope_id="shopee:S2",
        ),
        Finding(
            check="unknown_shop",
            severity="error",
            count=1,
            summary="shop tiktok:T1 has 1 order (2026-03-20) but no row in the shop dimension: its days "
            "are counted in UTC and it has no site, phase or team",
            example="order O6",
            fix=f"add the shop to {REGISTER}; for an ERP's orders, map the ERP's shop to its marketplace's "
            "(platform, shop_id) (Mabang: the connection's `shops` option); then `kpihub compute`",
            details={"in_shop_dimension": False, "timezone": None},
            scope="shop",
            scope_id="tiktok:T1",
        ),
    ]


def test_quarantined_records_per_connection_stream_and_reason(store):
    seed_gaps(store)
    pattern = "orders.currency: String should match pattern '^[A-Z]{3}$'"
    erp_record = json.dumps({"note": "x" * 3000, "shopId": "7"}, sort_keys=True)
    assert _found(store, "quarantined") == [
        Finding(
            check="quarantined",
            severity="error",
            count=3,
            summary=f"3 records of amz/orders are quarantined (kept raw, in no standard table): {pattern} "
            "(2); 1 other reason",
            example=json.dumps({"currency": "usd", "id": "q1"}, sort_keys=True),
            fix="list them with `kpihub check --quarantined amz`; correct the mapping (`kpihub mapping "
            "preview amz orders`, `kpihub mapping set …`) or the connection's options, then `kpihub remap "
            "amz` (or sync it again)",
            details={
                "connection": "amz",
                "stream": "orders",
                "reasons": [
                    {"reason": pattern, "records": 2},
                    {"reason": "orders.gross_amount: Field required", "records": 1},
                ],
                "other_reasons": 0,
            },
            scope="connection",
            scope_id="amz",
        ),
        Finding(
            check="quarantined",
            severity="error",
            count=1,
            summary="1 record of erp/shops is quarantined (kept raw, in no standard table): shop 7 is not "
            "mapped (1)",
            # The raw record is cut to 400 characters.
            example=erp_record[:399] + "…",
            fix="list them with `kpihub check --quarantined erp`; correct the mapping (`kpihub mapping "
            "preview erp shops`, `kpihub mapping set …`) or the connection's options, then `kpihub remap "
            "erp` (or sync it again)",
            details={
                "connection": "erp",
                "stream": "shops",
                "reasons": [{"reason": "shop 7 is not mapped", "records": 1}],
                "other_reasons": 0,
            },
            scope="connection",
            scope_id="erp",
        ),
    ]


def test_stale_and_failing_connections_as_the_alert_rules_see_them(store):
    seed_gaps(store)
    newest = (NOW - dt.timedelta(hours=70)).isoformat()
    stale = _found(store, "stale_data")
    assert [(f.scope_id, f.count, f.example) for f in stale] == [
        ("amz", 1, f"newest data time {newest}"),
        ("never", 1, "last run: none"),
    ]
    assert stale[0].summary == (
        "connection amz: its newest data is 70 hours old (limit 48): the days since are missing from its "
        "shops' KPIs"
    )
    assert stale[0].details == {"connection": "amz", "newest": newest, "age_hours": 70.0, "limit_hours": 48.0}
    assert stale[1].summary == "connection never has delivered no data yet"
    # A longer limit leaves only the connection with no data at all.
    assert [f.scope_id for f in _found(store, "stale_data", stale_hours=71)] == ["never"]

    failed = _found(store, "sync_failed")
    assert [(f.scope_id, f.count, f.summary) for f in failed] == [
        ("amz", 1, "connection amz: its last run failed, so nothing new was read"),
        ("erp", 1, "connection erp: its last run failed on 1 stream (stock), whose data is missing since"),
    ]
    assert failed[0].example == scrub(f"401 from https://api.example.test/orders?access_token={SECRET}")
    assert SECRET not in json.dumps([f.as_dict() for f in failed])
    assert failed[1].example == "stock listing timed out"


def test_complete_data_has_no_finding(store):
    tid = seed_gaps(store)
    # Every check but low_coverage (no KPI computed here) finds something before.
    expected = set(CHECK_NAMES) - {"low_coverage"} - (set() if SHIPPING_COST else {"missing_shipping_cost"})
    assert {f.check for f in run_checks(store, "default", now=NOW).findings} == expected
    complete(store, tid)
    report = run_checks(store, "default", now=NOW)
    assert report.findings == []
    assert report.base_currency == "USD"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_input_names_what_is_known_and_changes_nothing(store):
    tid = seed_gaps(store)
    with pytest.raises(ConfigError, match=r"unknown check.*missing_fx, missing_cost"):
        run_checks(store, "default", checks=["missing_fx", "nope"], now=NOW)
    with pytest.raises(ConfigError, match=r"no tenant named 'acme'.*default"):
        run_checks(store, "acme", now=NOW)
    with pytest.raises(ConfigError, match="more than 0 hours"):
        run_checks(store, "default", stale_hours=0, now=NOW)
    # Reading the report stores no counting basis for a tenant that never set one.
    with store.begin() as conn:
        assert list_bases(conn, tid) == []
