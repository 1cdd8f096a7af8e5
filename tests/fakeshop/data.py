"""The fake platform's data and its ground truth."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

STATUSES = {"Unpaid": "pending", "Paid": "paid", "Shipped": "shipped", "Canceled": "cancelled"}
START = dt.datetime(2026, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def orders(seed: int, count: int) -> list[dict]:
    """Raw orders as the fake platform returns them: local times with offset, money as strings."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        created = START + dt.timedelta(hours=n * 5, minutes=rng.randint(0, 59))
        items = []
        for line in range(rng.randint(1, 3)):
            qty = rng.randint(1, 4)
            price = Decimal(rng.randint(199, 9999)) / 100
            sku = f"SKU-{rng.randint(1, 40):03d}"
            items.append(
                {
                    "line": f"L{line + 1}",
                    "sku": sku,
                    "qty": qty,
                    "price": str(price),
                    "subtotal": str(price * qty),
                }
            )
        total = sum(Decimal(i["price"]) * i["qty"] for i in items)
        out.append(
            {
                "id": f"FS-{seed}-{n:05d}",
                "status": rng.choice(list(STATUSES)),
                "created": created.isoformat(),
                "modified": (created + dt.timedelta(hours=1)).isoformat(),
                "total": {"amount": str(total), "currency": "usd"},
                "buyer": {"country": "US"},
                "items": items,
            }
        )
    return out


def truth(raw_orders: list[dict], *, shop_id: str) -> dict[str, dict[tuple, dict]]:
    """The standard rows, computed directly from the generator's values (no mapping involved)."""
    orders_rows, item_rows = {}, {}
    for o in raw_orders:
        created = dt.datetime.fromisoformat(o["created"]).astimezone(dt.UTC)
        orders_rows[("fakeshop", shop_id, o["id"])] = {
            "order_id": o["id"],
            "status": STATUSES[o["status"]],
            "currency": "USD",
            "created_at": created,
            "updated_at": created + dt.timedelta(hours=1),
            "gross_amount": Decimal(o["total"]["amount"]),
            "buyer_country": "US",
        }
        for item in o["items"]:
            item_rows[("fakeshop", shop_id, o["id"], item["line"])] = {
                "sku": item["sku"],
                "quantity": item["qty"],
                "unit_price": Decimal(item["price"]),
                "amount": Decimal(item["price"]) * item["qty"],
            }
    return {"orders": orders_rows, "order_items": item_rows}
