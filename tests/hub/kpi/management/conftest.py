"""Fixtures for KPI management tests: an organisation with history, written into the store."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.connections import ensure_tenant
from hub.store import open_store
from hub.store.kpi_tables import dim_metric, kpi_fact
from hub.store.tables import standard_tables
from sdk import STANDARD_RECORDS

NOW = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
CATEGORIES = ("Toys", "Kitchen", "Garden", "Phone accessories")


def insert(conn, table_name, tid, rows):
    """Rows validated by the standard record model (which fills its defaults), then inserted."""
    table, record = standard_tables[table_name], STANDARD_RECORDS[table_name]
    full = [record(**row).model_dump() for row in rows]
    conn.execute(table.insert(), [{"tenant_id": tid, "ingested_at": NOW, **row} for row in full])


def insert_facts(conn, tid, rows):
    base = {
        "tenant_id": tid,
        "unit": "currency",
        "currency": "USD",
        "basis_version": 1,
        "computed_at": NOW,
        "contract_version": "1.0",
        "numerator": None,
        "denominator": None,
        "platform": None,
        "shop_id": None,
    }
    conn.execute(kpi_fact.insert(), [{**base, **row} for row in rows])


@dataclass
class Org:
    tid: int
    teams: list[str]
    team_of: dict[str, str]
    owner: dict[str, str]
    new_shops: set[str]
    history: dict[tuple[str, str], float] = field(default_factory=dict)
    category_sales: dict[str, dict[str, Decimal]] = field(default_factory=dict)


def seed_org(store, *, seed=11, teams=3, people=10, shops=40, new_shops=4, period=dt.date(2026, 4, 1)):
    """Teams, people, shops (a few new), SKUs in categories, last quarter's orders and KPI history.

    One shop changes hands in the period: the person who holds it longest owns it.
    """
    rnd = random.Random(seed)
    team_ids = [f"T{i + 1}" for i in range(teams)]
    person_ids = [f"P{i + 1:02d}" for i in range(people)]
    shop_ids = [f"S{i + 1:02d}" for i in range(shops)]
    team_of = {p: team_ids[i % teams] for i, p in enumerate(person_ids)}
    owner = {f"amazon:{s}": person_ids[i % people] for i, s in enumerate(shop_ids)}
    fresh = {f"amazon:{s}" for s in shop_ids[:new_shops]}
    previous = dt.date(2026, 1, 1)
    with store.begin() as conn:
        tid = ensure_tenant(conn, "default")
        insert(conn, "teams", tid, [{"team_id": t, "name": f"Team {t}"} for t in team_ids])
        insert(conn, "staff", tid, [{"staff_id": p, "name": p, "team_id": team_of[p]} for p in person_ids])
        insert(
            conn,
            "shops",
            tid,
            [
                {
                    "platform": "amazon",
                    "shop_id": s,
                    "timezone": "UTC",
                    "launched_on": period - dt.timedelta(days=20)
                    if f"amazon:{s}" in fresh
                    else dt.date(2024, 1, 1),
                }
                for s in shop_ids
            ],
        )
        assignments = [
            {
                "staff_id": owner[f"amazon:{s}"],
                "scope_type": "shop",
                "scope_id": s,
                "valid_from": dt.date(2025, 1, 1),
            }
            for s in shop_ids
        ]
        # The last shop: a short stint by someone else at the start of the quarter, ended.
        last = shop_ids[-1]
        other = next(p for p in person_ids if p != owner[f"amazon:{last}"])
        assignments[-1]["valid_from"] = period + dt.timedelta(days=10)
        assignments.append(
            {
                "staff_id": other,
                "scope_type": "shop",
                "scope_id": last,
                "valid_from": dt.date(2025, 1, 1),
                "valid_to": period + dt.timedelta(days=9),
            }
        )
        insert(conn, "assignments", tid, assignments)
        skus = [{"sku": f"SKU{i:02d}", "category": CATEGORIES[i % len(CATEGORIES)]} for i in range(12)]
        insert(conn, "skus", tid, skus)
        org = Org(tid, team_ids, team_of, owner, fresh)
        orders, items = [], []
        for s in shop_ids:
            key = f"amazon:{s}"
            if key in fresh:
                continue
            for n in range(rnd.randint(3, 8)):
                order_id = f"{s}-{n}"
                status = "cancelled" if n == 0 else "shipped"
                created = dt.datetime.combine(previous, dt.time(), dt.UTC) + dt.timedelta(
                    days=rnd.randint(0, 89)
                )
                orders.append(
                    {
                        "platform": "amazon",
                        "shop_id": s,
                        "order_id": order_id,
                        "status": status,
                        "currency": "USD",
                        "created_at": created,
                        "updated_at": created,
                        "gross_amount": Decimal(0),
                        "tax": Decimal(0),
                        "shipping_fee": Decimal(0),
                        "discount": Decimal(0),
                    }
                )
                for line in range(rnd.randint(1, 3)):
                    sku = rnd.choice(skus)
                    amount = Decimal(rnd.randint(500, 50000)) / 100
                    items.append(
                        {
                            "platform": "amazon",
                            "shop_id": s,
                            "order_id": order_id,
                            "line_id": str(line),
                            "sku": sku["sku"],
                            "quantity": 1,
                            "unit_price": amount,
                            "amount": amount,
                            "currency": "USD",
                        }
                    )
                    if status != "cancelled":
                        shop_sales = org.category_sales.setdefault(key, {})
                        shop_sales[sku["category"]] = shop_sales.get(sku["category"], Decimal(0)) + amount
        insert(conn, "orders", tid, orders)
        insert(conn, "order_items", tid, items)
        facts = []
        for scope_type, ids in (("team", team_ids), ("person", person_ids), ("shop", sorted(owner))):
            for scope_id in ids:
                if scope_id in fresh:
                    continue
                value = rnd.randint(10_000, 900_000) + rnd.randint(0, 99) / 100
                org.history[(scope_type, scope_id)] = value
                facts.append(
                    {
                        "metric_id": "net_sales",
                        "grain": "quarter",
                        "period_start": previous,
                        "scope_type": scope_type,
                        "scope_id": scope_id,
                        "value": value,
                    }
                )
        insert_facts(conn, tid, facts)
    return org


@pytest.fixture
def org(store):
    return seed_org(store)


@pytest.fixture
def seeder():
    """``seed_org`` itself, for tests that seed with their own arguments."""
    return seed_org


@pytest.fixture
def table_rows():
    """All rows of a table in a store, as dicts, ordered by primary key."""

    def rows(store, table):
        with store.begin() as conn:
            return [
                dict(r._mapping) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns))
            ]

    return rows


@pytest.fixture
def lite_store(tmp_path):
    """A migrated SQLite store, for tests whose point does not depend on the database."""
    s = open_store(f"sqlite:///{tmp_path / 'kpihub-lite.db'}")
    s.migrate()
    yield s
    s.dispose()


def insert_metrics(conn, rows):
    """``dim_metric`` rows as the engine publishes them (direction, kind, unit matter here)."""
    base = {
        "name_en": "",
        "name_zh": "",
        "family": "sales",
        "formula": "",
        "provider": "test",
        "contract_version": "1.0",
    }
    conn.execute(dim_metric.insert(), [{**base, "name_en": r["metric_id"], **r} for r in rows])


@pytest.fixture
def metrics():
    return insert_metrics


@pytest.fixture
def facts():
    return insert_facts
