"""TikTok Shop streams: orders (with their lines and packages) and returns, one partition per shop.

Both are ``POST .../search`` listings over an ``update_time`` window, sorted by update time
ascending and paged with ``page_token``/``next_page_token``. A listing's upper bound is fixed
when it starts and kept in the state with the page token, so a resumed listing sends exactly
the body its token was issued for; the next run starts at that bound.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from sdk import Checkpoint, Partition, RawRecord, Stream

from .options import REGIONS

if TYPE_CHECKING:
    from .source import TikTokSource

__all__ = ["OrdersStream", "ReturnsStream", "amount_problems"]


class _Search(Stream):
    """A shop-scoped ``POST`` search listing, one partition per shop of the connection."""

    source: TikTokSource
    path: ClassVar[str]
    endpoint: ClassVar[str]
    items_key: ClassVar[str]

    def page_size(self) -> int:
        return self.source.options.page_size

    def partitions(self) -> list[Partition]:
        return [
            Partition(
                key=shop.shop_id,
                params={"shop_cipher": shop.cipher},
                defaults={
                    "shop_id": shop.shop_id,
                    "site": REGIONS[shop.region].site,
                    "currency": REGIONS[shop.region].currency,
                },
            )
            for shop in self.source.options.shops
        ]

    def start(self) -> int:
        default = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=90)
        first = self.source.context.since or self.source.options.start_date or default
        return int(dt.datetime.combine(first, dt.time(), dt.UTC).timestamp())

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        after = int(state.get("after") or self.start())
        # Records updated in the last moments may still be settling upstream: they come next run.
        before = int(state.get("before") or int(time.time()) - self.source.options.lag_seconds)
        if before <= after:
            return
        token = state.get("page_token")
        cipher = partition.params["shop_cipher"]
        # The body is serialised once: the bytes signed are the bytes sent, on every retry.
        body = json.dumps({"update_time_ge": after, "update_time_lt": before}, separators=(",", ":"))
        while True:
            params = {
                "shop_cipher": cipher,
                "page_size": self.page_size(),
                "sort_field": "update_time",
                "sort_order": "ASC",
                **({"page_token": token} if token else {}),
            }
            data = await self.source.client.call(
                "POST", self.path, endpoint=f"{self.endpoint}/{cipher}", params=params, body=body.encode()
            )
            for record in data.get(self.items_key) or []:
                yield record
            token = data.get("next_page_token") or None
            if token is None:
                yield Checkpoint({"after": before})
                return
            yield Checkpoint({"after": after, "before": before, "page_token": token})


class OrdersStream(_Search):
    """``POST /order/202309/orders/search``: each order with its line items and packages."""

    name: ClassVar[str] = "orders"
    primary_key: ClassVar[tuple[str, ...]] = ("id",)
    cursor_field: ClassVar[str | None] = "update_time"
    default_mapping: ClassVar[str | None] = "mappings/orders.json"
    path = "/order/202309/orders/search"
    endpoint = "orders.search"
    items_key = "orders"

    def problems(self, record: RawRecord) -> list[str]:
        return amount_problems(record)


class ReturnsStream(_Search):
    """``POST /return_refund/202309/returns/search``: returns and refunds, as ``refunds`` rows."""

    name: ClassVar[str] = "returns"
    primary_key: ClassVar[tuple[str, ...]] = ("return_id",)
    cursor_field: ClassVar[str | None] = "update_time"
    default_mapping: ClassVar[str | None] = "mappings/returns.json"
    path = "/return_refund/202309/returns/search"
    endpoint = "returns.search"
    items_key = "return_orders"

    def page_size(self) -> int:
        return self.source.options.returns_page_size


_IDENTITIES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("sub_total", ("original_total_product_price",), ("seller_discount", "platform_discount")),
    (
        "shipping_fee",
        ("original_shipping_fee",),
        ("shipping_fee_seller_discount", "shipping_fee_platform_discount"),
    ),
    ("total_amount", ("sub_total", "shipping_fee", "tax", "retail_delivery_fee"), ()),
)
"""TikTok's documented order amount identities: ``result = sum(plus) - sum(minus)``."""
_ZERO = Decimal(0)


def amount_problems(order: RawRecord) -> list[str]:
    """Where an order's ``payment`` breaks TikTok's documented amount identities.

    ``sub_total = original_total_product_price - seller_discount - platform_discount``,
    ``shipping_fee = original_shipping_fee - shipping_fee_seller_discount -
    shipping_fee_platform_discount`` and ``total_amount = sub_total + shipping_fee + tax +
    retail_delivery_fee``, exactly, in decimals. A term that is absent counts as 0; an identity
    whose result is absent is not checked; an amount that is not a decimal is a problem.
    """
    payment = order.get("payment")
    if not isinstance(payment, dict):
        return ["payment is missing: the order carries no amounts"]
    problems: list[str] = []
    amounts: dict[str, Decimal] = {}
    for name, value in payment.items():
        if name == "currency" or value is None or value == "":
            continue
        try:
            # TikTok sends amounts as text; Decimal reads text as str() would give it.
            amount = Decimal(value) if type(value) is str else Decimal(str(value))
        except InvalidOperation:
            problems.append(f"payment.{name} {value!r} is not a decimal amount")
            continue
        if amount.is_finite():
            amounts[name] = amount
        else:
            problems.append(f"payment.{name} {value!r} is not a finite amount")
    for result, plus, minus in _IDENTITIES:
        if result not in amounts:
            continue
        added = subtracted = _ZERO
        for name in plus:
            added += amounts.get(name, _ZERO)
        for name in minus:
            subtracted += amounts.get(name, _ZERO)
        expected = added - subtracted
        if amounts[result] != expected:
            formula = " + ".join(plus) + "".join(f" - {n}" for n in minus)
            problems.append(
                f"payment.{result} is {payment[result]} but {formula} is {expected}: "
                "the amounts break TikTok's documented identity"
            )
    return problems
