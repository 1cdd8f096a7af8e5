"""Orders, their lines and refunds for one shop of a seller world.

The money rules are listed in ``sdk.simulator.world``. An order's lifecycle is planned when
it is created (paid minutes later, shipped hours later, delivered days later, or cancelled
before or after payment) and cut at the world's ``as_of``.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from zoneinfo import ZoneInfo

from sdk.records import Order, OrderItem, OrderStatus, Refund, RefundStatus

from ._generate import RAMP_DAYS, WEEKDAY, Builder, Drawn, poisson, site_for, stream
from .sites import CENT, ShopSpec, new_id

_ZERO = Decimal("0.00")
_HOUR_CUM = list(accumulate((2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 8, 9, 10, 10, 8, 4)))
_LINES_CUM = (0.60, 0.85, 0.95)
_QTY_CUM = (0.80, 0.95)
_DISCOUNTS = (Decimal("0.05"), Decimal("0.10"), Decimal("0.15"), Decimal("0.20"))
_FEE_RATE = {"amazon": Decimal("0.15"), "shopee": Decimal("0.08"), "tiktok": Decimal("0.06")}
_DEFAULT_FEE = Decimal("0.10")
_FULFILMENT = {"amazon": ("AFN", "AFN", "MFN"), "tiktok": ("SELLER", "FBT"), "shopee": ("SELLER",)}
_REFUND_REASONS = ("damaged", "not_as_described", "wrong_item", "no_longer_needed", "late_delivery")
_MINUTE = dt.timedelta(minutes=1)
# Durations come from tables: building timedeltas one by one is a fifth of the drawing time.
_MINUTES = tuple(dt.timedelta(minutes=m) for m in range(11521))
_SECONDS = tuple(dt.timedelta(seconds=s) for s in range(60))
_SHIP_WITHIN = dt.timedelta(days=3)
_DELIVER_WITHIN = dt.timedelta(days=10)


def fee_rate(platform: str) -> Decimal:
    """The platform's commission on an order's discounted total."""
    return _FEE_RATE.get(platform, _DEFAULT_FEE)


class _Shop:
    """What drawing one shop's orders needs at hand, looked up once."""

    def __init__(self, shop: ShopSpec, drawn: Drawn, build: Builder) -> None:
        self.spec = shop
        self.site = site_for(shop)
        self.listings = drawn.listings[(shop.platform, shop.shop_id)]
        launched = {spec.sku.sku: spec.sku.launched_on for spec in drawn.skus}
        self.on_sale_from = [launched.get(listing.sku) or dt.date.min for listing in self.listings]
        self.amounts = [tuple(listing.unit_price * q for q in (1, 2, 3)) for listing in self.listings]
        # Each line starts as a copy of its listing's template, in the model's field order.
        self.line_templates = [
            {
                "platform": shop.platform,
                "shop_id": shop.shop_id,
                "order_id": "",
                "line_id": "",
                "sku": listing.sku,
                "platform_item_id": listing.item_id,
                "quantity": 0,
                "unit_price": listing.unit_price,
                "amount": listing.unit_price,
                "currency": shop.currency,
            }
            for listing in self.listings
        ]
        total, self.popularity = 0.0, []
        for rank in range(len(self.listings)):
            total += 1 / (rank + 1) ** 0.8
            self.popularity.append(total)
        self.fee_rate = fee_rate(shop.platform)
        self.channels = _FULFILMENT.get(shop.platform, ("SELLER",))
        self.build = build
        self.make_order = build.maker(Order)
        self.make_item = build.maker(OrderItem)


def draw_orders(
    seed: int,
    shop: ShopSpec,
    drawn: Drawn,
    build: Builder,
    *,
    start: dt.date,
    days: int,
    as_of: dt.datetime,
    cancel_rate: float,
    refund_rate: float,
) -> None:
    """Fill ``drawn.orders``, ``drawn.items`` and ``drawn.refunds`` for ``shop``."""
    rng = stream(seed, "orders", shop.platform, shop.shop_id)
    ctx = _Shop(shop, drawn, build)
    tz = ZoneInfo(shop.timezone)
    orders: dict[str, Order] = {}
    refunds: list[Refund] = []
    refund_ids: set[str] = set()
    for day in range(days):
        date = start + dt.timedelta(days=day)
        age = (date - shop.launched_on).days
        if age < 0:
            continue
        # Local midnight in UTC: on a DST change day later times shift by the hour, harmlessly.
        midnight = dt.datetime(date.year, date.month, date.day, tzinfo=tz).astimezone(dt.UTC)
        mean = shop.orders_per_day * WEEKDAY[date.weekday()] * min(1.0, (age + 1) / RAMP_DAYS)
        seconds = sorted(
            bisect(_HOUR_CUM, rng.random() * _HOUR_CUM[-1]) * 3600 + int(rng.random() * 3600)
            for _ in range(poisson(rng, mean))
        )
        for second in seconds:
            created = midnight + _MINUTES[second // 60] + _SECONDS[second % 60]
            if created >= as_of:
                break
            order_id = new_id("order", shop.platform, rng, on=date)
            while order_id in orders:
                order_id = new_id("order", shop.platform, rng, on=date)
            lines = _draw_lines(rng, ctx, order_id, date)
            order = _draw_order(rng, ctx, order_id, created, lines, as_of=as_of, cancel_rate=cancel_rate)
            if order.shipped_at is not None and rng.random() < refund_rate:
                refund = _draw_refund(rng, ctx, order, lines, as_of=as_of, taken=refund_ids)
                if refund is not None:
                    refunds.append(refund)
                    order = _after_refund(order, refund)
            orders[order_id] = order
            drawn.items[(shop.platform, shop.shop_id, order_id)] = lines
    drawn.orders[(shop.platform, shop.shop_id)] = orders
    drawn.refunds[(shop.platform, shop.shop_id)] = refunds


def _draw_lines(rng: random.Random, ctx: _Shop, order_id: str, date: dt.date) -> list[OrderItem]:
    wanted = bisect(_LINES_CUM, rng.random()) + 1
    popularity, top, last = ctx.popularity, ctx.popularity[-1], len(ctx.listings) - 1
    chosen: list[int] = []
    for _ in range(wanted * 4):
        index = min(bisect(popularity, rng.random() * top), last)
        if index not in chosen and ctx.on_sale_from[index] <= date:
            chosen.append(index)
            if len(chosen) == wanted:
                break
    base = 10**12 + rng.getrandbits(40)
    make, templates, amounts = ctx.make_item, ctx.line_templates, ctx.amounts
    lines = []
    for n, index in enumerate(chosen or [0]):
        quantity = bisect(_QTY_CUM, rng.random()) + 1
        values = templates[index].copy()
        values["order_id"] = order_id
        values["line_id"] = str(base + n)
        values["quantity"] = quantity
        values["amount"] = amounts[index][quantity - 1]
        lines.append(make(values))
    return lines


def _draw_order(
    rng: random.Random,
    ctx: _Shop,
    order_id: str,
    created: dt.datetime,
    lines: list[OrderItem],
    *,
    as_of: dt.datetime,
    cancel_rate: float,
) -> Order:
    site, shop = ctx.site, ctx.spec
    subtotal = sum((line.amount for line in lines), _ZERO)
    discount = _ZERO
    if rng.random() < 0.2:
        discount = (subtotal * _DISCOUNTS[int(rng.random() * 4)]).quantize(CENT, ROUND_HALF_UP)
    net = subtotal - discount
    shipping = _ZERO if net >= site.free_shipping_over else site.shipping_fee
    tax = (net * site.tax_rate).quantize(CENT, ROUND_HALF_UP)

    roll = rng.random()
    paid: dt.datetime | None = created + _MINUTES[1 + int(rng.random() * 29)]
    cancelled = shipped = delivered = None
    if roll < cancel_rate / 2:
        paid, cancelled = None, created + _MINUTES[5 + int(rng.random() * 115)]
    elif roll < cancel_rate:
        assert paid is not None
        cancelled = paid + _MINUTES[60 + int(rng.random() * 1380)]
    else:
        assert paid is not None
        shipped = paid + _MINUTES[360 + int(rng.random() * 3960)]
        delivered = shipped + _MINUTES[2880 + int(rng.random() * 8640)]
    status, updated = OrderStatus.PENDING, created
    if paid is not None and paid <= as_of:
        status, updated = OrderStatus.PAID, paid
    else:
        paid = None
    if shipped is not None and shipped <= as_of:
        status, updated = OrderStatus.SHIPPED, shipped
    else:
        shipped = None
    if delivered is not None and delivered <= as_of:
        status, updated = OrderStatus.DELIVERED, delivered
    else:
        delivered = None
    if cancelled is not None and cancelled <= as_of:
        status, updated = OrderStatus.CANCELLED, cancelled
    ship_by = (paid or created) + _SHIP_WITHIN
    fees = (net * ctx.fee_rate).quantize(CENT, ROUND_HALF_UP)
    return ctx.make_order(
        {
            "platform": shop.platform,
            "shop_id": shop.shop_id,
            "order_id": order_id,
            "site": shop.site,
            "status": status,
            "currency": shop.currency,
            "created_at": created,
            "updated_at": updated,
            "paid_at": paid,
            "shipped_at": shipped,
            "delivered_at": delivered,
            "ship_by": ship_by,
            "deliver_by": ship_by + _DELIVER_WITHIN,
            "gross_amount": net + shipping + tax,
            "tax": tax,
            "shipping_fee": shipping,
            "discount": discount,
            "platform_fees": fees if paid and status is not OrderStatus.CANCELLED else None,
            "buyer_country": site.country[:2],
            "fulfilment_channel": ctx.channels[int(rng.random() * len(ctx.channels))],
            # What shipping cost the seller is the ERP's to know (Mabang), not the marketplace's.
            "shipping_cost": None,
            "shipping_cost_currency": None,
        },
    )


def _draw_refund(
    rng: random.Random,
    ctx: _Shop,
    order: Order,
    lines: list[OrderItem],
    *,
    as_of: dt.datetime,
    taken: set[str],
) -> Refund | None:
    after = order.delivered_at or order.shipped_at
    assert after is not None
    created = after + rng.randrange(1440, 28800) * _MINUTE
    if created > as_of:
        return None
    if created > as_of - dt.timedelta(days=3):
        status = rng.choice((RefundStatus.REQUESTED, RefundStatus.PROCESSING))
    else:
        roll = rng.random()
        status = (
            RefundStatus.COMPLETED
            if roll < 0.85
            else RefundStatus.REJECTED
            if roll < 0.95
            else RefundStatus.CANCELLED
        )
    amount = order.gross_amount if rng.random() < 0.4 else min(rng.choice(lines).amount, order.gross_amount)
    if order.platform == "amazon":
        refund_id = f"{order.order_id}-R1"
    else:
        refund_id = new_id("refund", order.platform, rng, on=created.date())
        while refund_id in taken:
            refund_id = new_id("refund", order.platform, rng, on=created.date())
    taken.add(refund_id)
    return ctx.build(
        Refund,
        {
            "platform": order.platform,
            "shop_id": order.shop_id,
            "refund_id": refund_id,
            "order_id": order.order_id,
            "amount": amount,
            "currency": order.currency,
            "reason": rng.choice(_REFUND_REASONS),
            "created_at": created,
            "status": status,
        },
    )


def _after_refund(order: Order, refund: Refund) -> Order:
    if refund.status is not RefundStatus.COMPLETED:
        return order
    full = refund.amount == order.gross_amount
    status = OrderStatus.REFUNDED if full else OrderStatus.PARTIALLY_REFUNDED
    return order.model_copy(update={"status": status, "updated_at": max(order.updated_at, refund.created_at)})
