"""Every catalogue KPI, at every grain and scope, equals an independent exact computation.

The oracle (tests/fixtures/kpi_oracle.py) is written from docs/kpi.md, ARCHITECTURE.md's KPI
catalogue and sdk/records.py, not from the engine: it groups the generated world's rows per
measure, shop, SKU, local day and currency, converts each day's total in a currency with the
rounding rule, adds days and shops up exactly, divides with ten-place rounding and leaves
unknown rows out with their coverage. The engine's ``value`` and ``coverage`` must equal it as
decimals, not approximately, and ``unknown_reason`` must be set exactly where a value is NULL
for want of coverage.

Each example is one world (conftest's generator, hardened with the cases the exact rules are
about) under one counting basis, computed in full on SQLite and on PostgreSQL. The examples run
once per database (a fixture per test class, so pytest-xdist runs the two side by side) and are
compared metric by metric, so a discrepancy of one KPI fails that KPI's test only. Two
explicit examples hold the cases the exact rules are about (costs in several order currencies,
management fees on tiny ad rows, unknown promised dates, growth over an unknown period), so
every run reaches them.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from kpi_oracle import PUBLISHED, SCOPE_TYPES, Comparison, Key, expected_facts

from hub.kpi import compute, set_counting_basis
from hub.store import open_store
from hub.store.kpi_tables import kpi_fact
from sdk import STANDARD_RECORDS

TENANT = "acme"
BASE = "USD"
LOADED = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)

# -- the world: conftest's generator, with the cases the exact rules are about -----------------

TIE_RATE = Decimal("1.0500")
"""A rate at which an amount of n ten-thousandths, n ≡ 10 (mod 20), converts to a total whose
fifth and sixth places are exactly 50: a tie at four places (half away from zero rounds it up,
half to even would not)."""


def _tie_amount(rng: random.Random, low: int, high: int) -> Decimal:
    """An amount that converts at ``TIE_RATE`` to a tie at four places."""
    return Decimal(rng.randint(low, high)) + Decimal(rng.choice([10, 30, 50, 70, 90, 110, 2130])) / 10000


def _record(table: str, row: dict[str, Any]) -> dict[str, Any]:
    return STANDARD_RECORDS[table](**row).model_dump()


def harden(world: dict[str, list[dict[str, Any]]], rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Add to conftest's world what the exact rules are about, for sure and not by chance.

    - days without a EUR rate (some of them days orders were placed), and a third currency,
      GBP, with rates on a few days only: its month average is missing for most months, and
      in February 2026 it is the average of two ten-place rates that ties at ten places;
    - EUR and GBP rates of exactly 1.05 on the days of orders whose amounts then convert to
      ties at four places; several currencies in one shop-day (orders, ads, stock);
    - a SKU (K6) with no cost at all: its order lines' COGS and its stock without a unit cost
      are unknown; stock without a unit cost of SKUs that have one; stock whose currency has
      no rate;
    - orders with a NULL ``platform_fees``, without a shipping cost, with a shipping cost in a
      currency without a rate;
    - one shop-day with shipments with and without a promised delivery date;
    - ad rows whose CTR and CVR are ties at ten places (1 ÷ 2048 = 0.00048828125).
    """
    w = {table: [dict(r) for r in rows] for table, rows in world.items()}
    orders = w["orders"]
    rates = {(r["date"], r["currency"]): r for r in w["fx_rates"]}

    def set_rate(day: dt.date, currency: str, rate: Decimal | None) -> None:
        if rate is None:
            rates.pop((day, currency), None)
        else:
            rates[(day, currency)] = {"date": day, "currency": currency, "base_currency": BASE, "rate": rate}

    around = (-1, 0, 1)  # a UTC day's neighbours: an order's local day is one of them

    # Orders in GBP, and a sibling in another currency on the same shop-day for some.
    for n, order in enumerate(orders):
        if n % 4 == 1:
            order["currency"] = "GBP"
    siblings = []
    for n, order in enumerate(orders[:12]):
        currency = ("USD", "EUR", "GBP")[(("USD", "EUR", "GBP").index(order["currency"]) + 1 + n % 2) % 3]
        siblings.append(
            {
                **order,
                "order_id": f"{order['order_id']}s",
                "currency": currency,
                "status": "paid",
                "created_at": order["created_at"] + dt.timedelta(minutes=1),
                "updated_at": order["created_at"] + dt.timedelta(minutes=1),
                "gross_amount": _tie_amount(rng, 5, 150),
                "tax": Decimal("0.0010") * rng.randint(0, 9),
                "platform_fees": None if n % 3 == 0 else _tie_amount(rng, 0, 9),
                "shipping_cost": None if n % 3 == 1 else _tie_amount(rng, 0, 5),
                "shipping_cost_currency": ("GBP", "EUR", "USD")[n % 3],
            }
        )
        if n % 2 == 0:  # the day's rates make ties of these amounts
            for offset in around:
                day = order["created_at"].date() + dt.timedelta(days=offset)
                set_rate(day, "EUR", TIE_RATE)
                if day >= dt.date(2026, 3, 1):  # GBP keeps no rate in 2025 and two in February
                    set_rate(day, "GBP", TIE_RATE)
    orders.extend(siblings)
    # Days with no EUR rate: some at random, and around three orders' days for sure.
    for r in list(rates.values()):
        if r["currency"] == "EUR" and rng.random() < 0.15:
            set_rate(r["date"], "EUR", None)
    for order in orders[12:15]:
        order["currency"] = "EUR"
        for offset in around:
            set_rate(order["created_at"].date() + dt.timedelta(days=offset), "EUR", None)
    # GBP: day rates in March 2026 (some days missing), two ten-place rates in February 2026
    # whose average ties at ten places, none in 2025.
    day = dt.date(2026, 3, 1)
    while day <= dt.date(2026, 3, 20):
        if rng.random() < 0.8:
            set_rate(day, "GBP", Decimal(rng.randint(12500, 13500)) / 10000)
        day += dt.timedelta(days=1)
    set_rate(dt.date(2026, 2, 25), "GBP", Decimal("1.2700000001"))
    set_rate(dt.date(2026, 2, 26), "GBP", Decimal("1.2700000000"))
    w["fx_rates"] = list(rates.values())
    orders[0]["platform_fees"] = None
    orders[1]["shipping_cost"] = None
    orders[2]["shipping_cost"], orders[2]["shipping_cost_currency"] = Decimal("3.1000"), "GBP"

    # Lines (and refunds) in their order's currency; K6 has no cost; siblings get lines too.
    by_id = {o["order_id"]: o for o in orders}
    lines = w["order_items"]
    for n, line in enumerate(lines):
        line["currency"] = by_id[line["order_id"]]["currency"]
        if n % 5 == 0:
            line["sku"] = "K6"
    for n, sibling in enumerate(siblings):
        quantity = 1 + n % 3
        price = _tie_amount(rng, 1, 40)
        lines.append(
            {
                "platform": sibling["platform"],
                "shop_id": sibling["shop_id"],
                "order_id": sibling["order_id"],
                "line_id": "0",
                "sku": ("K1", "K6", "K2", "K3")[n % 4],
                "quantity": quantity,
                "unit_price": price,
                "amount": price * quantity,
                "currency": sibling["currency"],
            }
        )
    for refund in w["refunds"]:
        if refund["order_id"] in by_id:
            refund["currency"] = by_id[refund["order_id"]]["currency"]
    for n, sibling in enumerate(siblings[:6]):
        w["refunds"].append(
            {
                "platform": sibling["platform"],
                "shop_id": sibling["shop_id"],
                "refund_id": f"R{sibling['order_id']}",
                "order_id": sibling["order_id"],
                "amount": _tie_amount(rng, 1, 20),
                "currency": sibling["currency"],
                "created_at": sibling["created_at"] + dt.timedelta(hours=6 * n),
                "status": "completed",
            }
        )
    w["skus"].append({"sku": "K6", "category": "toys", "launched_on": None})

    # Stock: without a unit cost (K1 has a cost from 2024 or March 2025, K6 none), in GBP,
    # and the same SKU and day in two warehouses of one shop in two currencies.
    keys = {(s["date"], s["sku"], s["warehouse"]) for s in w["inventory_snapshots"]}
    for n, order in enumerate(orders[:10]):
        day = order["created_at"].date()
        for k, (sku, cost, currency) in enumerate(
            [
                ("K1", None, None),
                ("K6", None, None),
                ("K2", Decimal("2.0030"), "GBP"),
                ("K2", Decimal("1.5010"), "EUR"),
            ]
        ):
            key = (day, sku, f"X{n}{k}")
            if key in keys:
                continue
            keys.add(key)
            w["inventory_snapshots"].append(
                {
                    "date": day,
                    "sku": sku,
                    "warehouse": key[2],
                    "warehouse_type": "3pl",
                    "platform": order["platform"],
                    "shop_id": order["shop_id"],
                    "on_hand": rng.randint(1, 30),
                    "unit_cost": cost,
                    "currency": currency,
                }
            )

    # One shop-day of shipments: two with a promised date (one delivered on time), one without.
    first = orders[3]
    shipped = first["created_at"] + dt.timedelta(hours=2)
    for n, (promised, delivered) in enumerate([(5, 3), (5, 9), (None, 2)]):
        w["shipments"].append(
            {
                "platform": first["platform"],
                "shop_id": first["shop_id"],
                "order_id": first["order_id"],
                "shipment_id": f"Z{n}",
                "shipped_at": shipped,
                "ship_by": shipped + dt.timedelta(hours=n - 1),
                "delivered_at": shipped + dt.timedelta(days=delivered),
                "promised_delivery_at": None if promised is None else shipped + dt.timedelta(days=promised),
            }
        )

    # Ads: three currencies in one shop-day, two campaigns in each (whose spends plus a
    # management fee have six places), and ten-place ties in CTR and CVR.
    for n, order in enumerate(orders[:6]):
        for currency in ("USD", "EUR", "GBP"):
            for campaign in ("Q", "R"):
                w["ad_performance"].append(
                    {
                        "platform": order["platform"],
                        "shop_id": order["shop_id"],
                        "date": order["created_at"].date(),
                        "campaign_id": f"{campaign}{n}",
                        "ad_type": currency.lower(),
                        "spend": _tie_amount(rng, 0, 30),
                        "attributed_sales": _tie_amount(rng, 0, 90),
                        "attributed_orders": 1,
                        "clicks": 2048 if n % 2 else 1,
                        "impressions": 2048 if n % 2 == 0 else 4096,
                        "currency": currency,
                        "attribution_window_days": (None, 7, 14)[n % 3],
                    }
                )

    # One shop-day with two orders in two currencies whose lines' COGS and whose shipping costs
    # are in a third: EUR at 1.00005. Summed per currency, 2 x 1 EUR is 2.00010 -> 2.0001;
    # converted order by order it would be 2 x 1.0001.
    when = dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)
    set_rate(when.date(), "EUR", Decimal("1.00005"))
    set_rate(when.date(), "GBP", Decimal("1.2500"))
    w["fx_rates"] = list(rates.values())
    w["skus"].append({"sku": "K7", "category": "home", "launched_on": None})
    w["sku_costs"].append(
        {"sku": "K7", "valid_from": dt.date(2024, 1, 1), "purchase_cost": Decimal(1), "currency": "EUR"}
    )
    for n, currency in enumerate(("USD", "GBP")):
        orders.append(
            {
                "platform": "amazon",
                "shop_id": "A1",
                "order_id": f"E{n}",
                "status": "paid",
                "currency": currency,
                "created_at": when + dt.timedelta(minutes=n),
                "updated_at": when,
                "gross_amount": Decimal(10),
                "platform_fees": Decimal(1),
                "shipping_cost": Decimal(1),
                "shipping_cost_currency": "EUR",
            }
        )
        lines.append(
            {
                "platform": "amazon",
                "shop_id": "A1",
                "order_id": f"E{n}",
                "line_id": "0",
                "sku": "K7",
                "quantity": 1,
                "unit_price": Decimal(10),
                "amount": Decimal(10),
                "currency": currency,
            }
        )
    w["inventory_snapshots"].append(
        {
            "date": when.date(),
            "sku": "K7",
            "warehouse": "E",
            "warehouse_type": "own",
            "platform": "amazon",
            "shop_id": "A1",
            "on_hand": 10,
            "unit_cost": Decimal(1),
            "currency": "USD",
        }
    )
    return {table: [_record(table, r) for r in rows] for table, rows in w.items()}


# -- the property --------------------------------------------------------------------------------

BASES = st.fixed_dictionaries(
    {
        "tax_included": st.booleans(),
        "shipping_included": st.booleans(),
        "refund_dated_by": st.sampled_from(["refund", "order"]),
        "ad_spend_with_fee": st.booleans(),
        "ad_management_fee_rate": st.sampled_from([0.0, 0.05]),
        "attribution_window_days": st.sampled_from([7, 14]),
        "margin_includes_cogs": st.booleans(),
        "margin_includes_shipping": st.booleans(),
        "margin_includes_ad_spend": st.booleans(),
        "margin_includes_platform_fees": st.booleans(),
        "refund_rate_by": st.sampled_from(["count", "amount"]),
        "negative_review_max_stars": st.integers(1, 3),
        "day_boundary": st.sampled_from(["shop", "tenant"]),
        "fx_rate": st.sampled_from(["day", "month_average"]),
        "turnover_by": st.sampled_from(["value", "units"]),
        "min_coverage": st.sampled_from([1.0, 0.5]),
    }
)
# Every run includes these two, so each exact rule is exercised on every run.
STRICT = {
    "refund_rate_by": "count",
    "turnover_by": "units",
    "margin_includes_shipping": False,
    "fx_rate": "month_average",
    "min_coverage": 1.0,
}
"""Every input must be known; month-average rates; counts-only refund rate and turnover; margin
without shipping."""
LENIENT = {
    "tax_included": False,
    "shipping_included": False,
    "refund_dated_by": "order",
    "ad_spend_with_fee": True,
    "ad_management_fee_rate": 0.05,
    "refund_rate_by": "amount",
    "margin_includes_ad_spend": True,
    "day_boundary": "tenant",
    "min_coverage": 0.5,
}
"""Half the inputs may be unknown; tenant days; most other options moved."""


def engine_facts(store: Any, tenant_id: int) -> dict[Key, dict[str, Any]]:
    columns = [kpi_fact.c[n] for n in ("value", "coverage", "unknown_reason", "numerator", "denominator")]
    with store.begin() as conn:
        rows = conn.execute(
            sa.select(
                kpi_fact.c.metric_id,
                kpi_fact.c.grain,
                kpi_fact.c.scope_type,
                kpi_fact.c.scope_id,
                kpi_fact.c.period_start,
                *columns,
            ).where(kpi_fact.c.tenant_id == tenant_id)
        ).all()
    return {(r[0], r[1], r[2], TENANT if r[2] == "tenant" else r[3], r[4]): dict(r._mapping) for r in rows}


@contextmanager
def _database(kind: str, directory: Path) -> Iterator[str]:
    """A fresh database: a SQLite file or a private PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'kpihub.db'}"
        return
    url = os.environ.get("KPIHUB_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("KPIHUB_TEST_POSTGRES_URL is not set (.ci/run sets it to the local PostgreSQL)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            sa.engine.make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _world_tools():
    """conftest's world generator and loader (its ``world_tools`` fixture is per test; the
    examples here are run once per module)."""
    spec = importlib.util.spec_from_file_location(
        "_kpi_engine_worlds", Path(__file__).with_name("conftest.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_world, module.load_world


@pytest.fixture(scope="class")
def comparison(request, tmp_path_factory):
    """The examples on the class's database, each world computed in full and compared whole."""
    make_world, load_world = _world_tools()
    kind = request.cls.database
    found = Comparison()
    generated = request.cls.generated_examples
    with _database(kind, tmp_path_factory.mktemp(kind)) as url:
        store = open_store(url)
        store.migrate()
        counter = iter(range(1000))

        # Each example is a full compute of a whole world: no shrinking, which would take minutes.
        @settings(
            max_examples=max(generated, 1),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate] if generated else [Phase.explicit],
            database=None,
        )
        @given(seed=st.integers(0, 2**32), basis=BASES)
        @example(seed=20260301, basis=STRICT)
        @example(seed=20250302, basis=LENIENT)
        def check(seed: int, basis: dict[str, Any]) -> None:
            tenant = f"{TENANT}{next(counter)}"
            world = harden(make_world(random.Random(seed)), random.Random(seed))
            tenant_id = load_world(store, tenant, world, at=LOADED)
            with store.begin() as conn:
                version = set_counting_basis(conn, tenant_id, basis, actor="test")
            report = compute(store, tenant)
            assert report.full and report.basis_version == version.version
            expected = expected_facts(world, version.settings, tenant=TENANT, base_currency=BASE)
            found.compare(f"seed {seed} basis {basis}", expected, engine_facts(store, tenant_id))

        try:
            check()
        finally:
            store.dispose()
    return found


class _EveryMetric:
    """The property on one database (a class of its own, so pytest-xdist runs the databases side
    by side); ``generated_examples`` are drawn besides the explicit ones."""

    database = "sqlite"
    generated_examples = 0

    def test_the_examples_reach_every_metric_scope_and_unknown_case(self, comparison):
        assert comparison.examples >= 2 and comparison.facts > 10_000
        assert comparison.metrics == set(PUBLISHED), set(PUBLISHED) - comparison.metrics
        assert comparison.scopes == set(SCOPE_TYPES)
        # Values published as unknown, and values computed from their known rows only.
        for kind in (comparison.unknown, comparison.partial):
            assert {"gmv", "net_sales", "aov", "ad_spend", "roas", "days_of_inventory"} <= kind, kind

    @pytest.mark.parametrize("metric", list(PUBLISHED))
    def test_every_grain_and_scope_of_the_metric_equals_the_independent_computation(self, comparison, metric):
        differences = comparison.differences.get(metric, [])
        assert not differences, f"{len(differences)} facts of {metric} differ, e.g.:\n" + "\n".join(
            sorted(differences)[:8]
        )


class TestOnSQLite(_EveryMetric):
    database = "sqlite"
    generated_examples = 1


@pytest.mark.postgres
class TestOnPostgreSQL(_EveryMetric):
    database = "postgresql"
    generated_examples = 0
