"""Standard-table worlds for the KPI engine tests: random but valid shops, orders, ads, stock…

``make_world(rng)`` returns plain records (validated by the SDK's models) per standard table;
``load_world`` writes them into a store for one tenant. Tests compare the engine's kpi_fact
with an independent computation over the same records.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from hub.store.tables import standard_tables, tenants
from sdk import STANDARD_RECORDS

UTC = dt.UTC
SHOPS = [
    {"platform": "amazon", "shop_id": "A1", "site": "US", "timezone": "America/Los_Angeles"},
    {"platform": "amazon", "shop_id": "A2", "site": "UK", "timezone": "Europe/London"},
    {"platform": "shopee", "shop_id": "S1", "site": "SG", "timezone": "Asia/Singapore"},
]
SKUS = ["K1", "K2", "K3", "K4", "K5"]
# Two windows a year apart (year-over-year growth) around a daylight-saving change.
WINDOWS = [(dt.datetime(2025, 3, 1, tzinfo=UTC), 12), (dt.datetime(2026, 2, 24, tzinfo=UTC), 20)]


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _instant(rng: random.Random) -> dt.datetime:
    start, days = rng.choice(WINDOWS)
    return start + dt.timedelta(seconds=rng.randint(0, days * 86400))


def make_world(rng: random.Random, orders: int = 40) -> dict[str, list[dict[str, Any]]]:
    """A small, varied world: 3 shops in 3 timezones, 2 currencies, every standard table."""
    w: dict[str, list[dict[str, Any]]] = {name: [] for name in STANDARD_RECORDS}
    w["shops"] = [dict(s, shop_name=s["shop_id"], launched_on=dt.date(2025, 1, 1)) for s in SHOPS]
    w["skus"] = [
        {
            "sku": sku,
            "category": rng.choice(["home", "toys", None]) if i else "home",
            "launched_on": rng.choice([None, (_instant(rng)).date()]),
        }
        for i, sku in enumerate(SKUS)
    ]
    first = min(s for s, _ in WINDOWS).date() - dt.timedelta(days=3)
    day = first
    while day <= dt.date(2026, 3, 20):
        w["fx_rates"].append(
            {
                "date": day,
                "currency": "EUR",
                "base_currency": "USD",
                "rate": Decimal(rng.randint(10500, 11500)) / 10000,
            }
        )
        day += dt.timedelta(days=1)
    for sku in SKUS:
        for valid_from in sorted(
            rng.sample([dt.date(2024, 1, 1), dt.date(2025, 3, 6), dt.date(2026, 3, 1)], 2)
        ):
            w["sku_costs"].append(
                {
                    "sku": sku,
                    "valid_from": valid_from,
                    "purchase_cost": _money(rng, 1, 9),
                    "first_leg_cost": _money(rng, 0, 2),
                    "currency": rng.choice(["USD", "EUR"]),
                }
            )
    statuses = ["pending", "paid", "shipped", "delivered", "cancelled", "refunded", "partially_refunded"]
    for n in range(orders):
        shop = rng.choice(SHOPS)
        created = _instant(rng)
        order = {
            "platform": shop["platform"],
            "shop_id": shop["shop_id"],
            "order_id": f"O{n}",
            "status": rng.choice(statuses),
            "currency": rng.choice(["USD", "EUR"]),
            "created_at": created,
            "updated_at": created,
            "gross_amount": _money(rng, 5, 200),
            "tax": _money(rng, 0, 10),
            "shipping_fee": _money(rng, 0, 8),
            "platform_fees": rng.choice([None, _money(rng, 0, 15)]),
        }
        w["orders"].append(order)
        for line in range(rng.randint(1, 3)):
            qty = rng.randint(1, 3)
            price = _money(rng, 3, 60)
            w["order_items"].append(
                {
                    "platform": shop["platform"],
                    "shop_id": shop["shop_id"],
                    "order_id": f"O{n}",
                    "line_id": str(line),
                    "sku": rng.choice(SKUS),
                    "quantity": qty,
                    "unit_price": price,
                    "amount": price * qty,
                    "currency": order["currency"],
                }
            )
        if rng.random() < 0.3:
            w["refunds"].append(
                {
                    "platform": shop["platform"],
                    "shop_id": shop["shop_id"],
                    "refund_id": f"R{n}",
                    "order_id": f"O{n}" if rng.random() < 0.9 else "missing",
                    "amount": _money(rng, 1, 50),
                    "currency": order["currency"],
                    "created_at": created + dt.timedelta(hours=rng.randint(1, 500)),
                    "status": rng.choice(["completed", "completed", "requested"]),
                }
            )
        if rng.random() < 0.6:
            shipped = created + dt.timedelta(hours=rng.randint(1, 72)) if rng.random() < 0.9 else None
            w["shipments"].append(
                {
                    "platform": shop["platform"],
                    "shop_id": shop["shop_id"],
                    "order_id": f"O{n}",
                    "shipment_id": f"P{n}",
                    "shipped_at": shipped,
                    "ship_by": rng.choice([None, created + dt.timedelta(hours=48)]),
                    "delivered_at": shipped + dt.timedelta(days=rng.randint(2, 9)) if shipped else None,
                    "promised_delivery_at": rng.choice([None, created + dt.timedelta(days=7)]),
                }
            )
        if rng.random() < 0.5:
            w["reviews"].append(
                {
                    "platform": shop["platform"],
                    "shop_id": shop["shop_id"],
                    "review_id": f"V{n}",
                    "rating": rng.randint(1, 5),
                    "created_at": created + dt.timedelta(days=rng.randint(0, 5)),
                }
            )
        if rng.random() < 0.5:
            opened = created + dt.timedelta(hours=rng.randint(0, 30))
            w["service_tickets"].append(
                {
                    "platform": shop["platform"],
                    "shop_id": shop["shop_id"],
                    "ticket_id": f"T{n}",
                    "kind": rng.choice(["message", "dispute", "return_request"]),
                    "opened_at": opened,
                    "first_response_at": rng.choice(
                        [None, opened + dt.timedelta(seconds=rng.randint(30, 90000))]
                    ),
                    "resolved_at": rng.choice(
                        [None, opened + dt.timedelta(seconds=rng.randint(600, 900000))]
                    ),
                }
            )
    for shop in SHOPS:
        for _ in range(rng.randint(2, 6)):
            w["ad_performance"].append(
                {
                    "platform": shop["platform"],
                    "shop_id": shop["shop_id"],
                    "date": _instant(rng).date(),
                    "campaign_id": f"C{rng.randint(1, 1000)}",
                    "ad_type": rng.choice(["sp", "sb"]),
                    "spend": _money(rng, 0, 40),
                    "attributed_sales": _money(rng, 0, 120),
                    "attributed_orders": rng.randint(0, 6),
                    "clicks": rng.randint(0, 50),
                    "impressions": rng.randint(0, 2000),
                    "currency": rng.choice(["USD", "EUR"]),
                    "attribution_window_days": rng.choice([None, 7, 14]),
                }
            )
    snapshot_keys = set()
    for _ in range(rng.randint(4, 12)):
        shop = rng.choice([*SHOPS, None])
        key = (_instant(rng).date(), rng.choice(SKUS), f"W{rng.randint(1, 50)}")
        if key in snapshot_keys:  # one snapshot per day, SKU and warehouse, as the table's key says
            continue
        snapshot_keys.add(key)
        w["inventory_snapshots"].append(
            {
                "date": key[0],
                "sku": key[1],
                "warehouse": key[2],
                "warehouse_type": "fba",
                "platform": shop["platform"] if shop else None,
                "shop_id": shop["shop_id"] if shop else None,
                "on_hand": rng.randint(0, 40),
                "unit_cost": rng.choice([None, _money(rng, 1, 9)]),
                "currency": rng.choice(["USD", "EUR"]),
            }
        )
    w["teams"] = [{"team_id": "T1", "name": "North"}, {"team_id": "T2", "name": "South"}]
    w["staff"] = [
        {"staff_id": "p1", "name": "Li", "team_id": "T1"},
        {"staff_id": "p2", "name": "Wang", "team_id": "T1"},
        {"staff_id": "p3", "name": "Zhao", "team_id": "T2"},
    ]
    mid = dt.date(2026, 3, rng.randint(1, 10))
    w["assignments"] = [
        {"staff_id": "p1", "scope_type": "shop", "scope_id": "amazon:A1", "valid_from": dt.date(2025, 1, 1)},
        # Overlaps the shop assignment: A1 must still count once for p1.
        {"staff_id": "p1", "scope_type": "site", "scope_id": "US", "valid_from": mid},
        {
            "staff_id": "p2",
            "scope_type": "platform",
            "scope_id": "shopee",
            "valid_from": dt.date(2025, 3, 5),
            "valid_to": mid,
        },
        {"staff_id": "p2", "scope_type": "shop", "scope_id": "A2", "valid_from": mid},
        {
            "staff_id": "p3",
            "scope_type": "category",
            "scope_id": "home",
            "valid_from": dt.date(2025, 1, 1),
            "valid_to": dt.date(2026, 3, 3),
        },
    ]
    for table, rows in w.items():
        cls = STANDARD_RECORDS[table]
        w[table] = [cls(**row).model_dump() for row in rows]
    return w


def load_world(store: Any, tenant: str, world: dict[str, list[dict[str, Any]]], *, at: dt.datetime) -> int:
    """Write ``world`` for ``tenant`` (created if new) with ``ingested_at=at``; return the tenant id."""
    with store.begin() as conn:
        tid = conn.execute(sa.select(tenants.c.id).where(tenants.c.name == tenant)).scalar_one_or_none()
        if tid is None:
            tid = conn.execute(
                tenants.insert().values(name=tenant, base_currency="USD", created_at=at)
            ).inserted_primary_key[0]
        for table, rows in world.items():
            if rows:
                conn.execute(
                    standard_tables[table].insert(),
                    [{**r, "tenant_id": tid, "ingested_at": at} for r in rows],
                )
    return int(tid)


@pytest.fixture
def world_tools():
    return make_world, load_world
