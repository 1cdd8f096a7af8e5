"""A seeded seller world: shops, SKUs, orders, refunds, ads and stock, with its ground truth.

Simulators serve a world in their platform's wire format; connector tests compare what the
hub stored with ``world.truth()``, the standard rows a perfect connector would produce. The
world is a pure function of its seed and arguments: the same call gives the same records.

Every record is an ``sdk.records`` model instance. Times are UTC; money is ``Decimal`` with
two places in the shop's currency. The money rules, which tests recompute independently:

- a line's ``amount = unit_price x quantity``;
- ``discount`` (on about one order in five) is 5, 10, 15 or 20 % of the lines' total, rounded;
- ``tax = round((sum of line amounts - discount) x the site's tax rate, 2)``;
- ``shipping_fee`` is the site's flat fee unless the discounted total reaches the site's
  free-shipping threshold;
- ``gross_amount = sum of line amounts - discount + shipping_fee + tax``;
- ``platform_fees`` is the platform's commission on the discounted total, once paid;
- a refund returns ``gross_amount`` or one line's ``amount`` (at most the gross); once
  completed the order is ``refunded`` if the whole gross came back, else ``partially_refunded``.

The world is observed at ``as_of``, midnight UTC after its last day: events planned for later
(payment, shipping, delivery, cancellation, refunds) have not happened yet, and an order's
``updated_at`` is its last event that has. ``update_orders`` moves orders on after that.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import TypeVar

from sdk.records import (
    AdPerformance,
    InventorySnapshot,
    Order,
    OrderItem,
    OrderStatus,
    Refund,
    ShopDim,
    SkuCost,
    SkuDim,
    StandardRecord,
)

from ._generate import Builder, Drawn, draw_ads, draw_inventory, draw_listings, draw_shops, draw_skus, stream
from ._orders import draw_orders, fee_rate
from .sites import Listing, ShopSpec, Warehouse, money

__all__ = ["SellerWorld", "Truth"]

Truth = dict[str, dict[tuple[object, ...], StandardRecord]]
"""Standard rows by table name, then by natural key (the values of the record's ``natural_key``)."""

_T = TypeVar("_T")


@contextmanager
def _collector_paused() -> Iterator[None]:
    # Drawing allocates ~10^5 long-lived records; cyclic GC passes over them add half again
    # to the time and find nothing to free.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_DEFAULT_PLATFORMS = ("amazon", "shopee", "tiktok")
_TRUTH_TABLES = (ShopDim, SkuDim, SkuCost, Order, OrderItem, Refund, AdPerformance, InventorySnapshot)


class SellerWorld:
    """One seller's business over ``days`` days from ``start``; build it with ``generate``."""

    def __init__(self, drawn: Drawn, *, seed: int, start: dt.date, days: int) -> None:
        self.seed = seed
        self.start = start
        self.days = days
        self.as_of = dt.datetime.combine(start + dt.timedelta(days=days), dt.time(), dt.UTC)
        self.shops: list[ShopSpec] = drawn.shops
        self.skus: list[SkuDim] = [spec.sku for spec in drawn.skus]
        self.sku_costs: list[SkuCost] = drawn.sku_costs
        self.warehouses: list[Warehouse] = drawn.warehouses
        self._drawn = drawn
        self._shops = {(shop.platform, shop.shop_id): shop for shop in drawn.shops}
        self._updates = stream(seed, "updates")

    @classmethod
    def generate(
        cls,
        seed: int,
        *,
        shops: Sequence[ShopSpec] | int,
        days: int,
        start: dt.date,
        skus: int = 50,
        orders_per_day: float = 20.0,
        cancel_rate: float = 0.03,
        refund_rate: float = 0.05,
        platforms: Sequence[str] = _DEFAULT_PLATFORMS,
        validate: bool = False,
    ) -> SellerWorld:
        """Draw a world from ``seed``.

        ``shops`` is either the shops themselves or how many to spread over ``platforms`` and
        their sites (about 70 % mature, the rest launched shortly before or during the range,
        each taking about ``orders_per_day`` orders a day once established). ``cancel_rate`` of
        orders are cancelled, before or after payment; ``refund_rate`` of shipped orders get a
        refund request. Records are built from values already of their models' types without
        running pydantic validation, which would take most of the time of a large world;
        ``validate=True`` validates each one as it is made (the records are the same).
        """
        if days < 1 or skus < 1:
            raise ValueError(f"a world needs days >= 1 and skus >= 1, not days={days}, skus={skus}")
        for name, rate in (("cancel_rate", cancel_rate), ("refund_rate", refund_rate)):
            if not 0 <= rate <= 1:
                raise ValueError(f"{name} must be between 0 and 1, not {rate}")
        if isinstance(shops, int):
            specs = draw_shops(
                seed, shops, start=start, days=days, orders_per_day=orders_per_day, platforms=platforms
            )
        else:
            specs = list(shops)
        keys = [(shop.platform, shop.shop_id) for shop in specs]
        if not specs or len(set(keys)) != len(keys):
            raise ValueError("a world needs at least one shop, each (platform, shop_id) once")
        with _collector_paused():
            return cls._draw(
                seed,
                specs,
                start=start,
                days=days,
                skus=skus,
                cancel_rate=cancel_rate,
                refund_rate=refund_rate,
                validate=validate,
            )

    @classmethod
    def _draw(
        cls,
        seed: int,
        specs: list[ShopSpec],
        *,
        start: dt.date,
        days: int,
        skus: int,
        cancel_rate: float,
        refund_rate: float,
        validate: bool,
    ) -> SellerWorld:
        sku_specs, sku_costs = draw_skus(seed, skus, start=start, days=days)
        listings = {(shop.platform, shop.shop_id): draw_listings(seed, shop, sku_specs) for shop in specs}
        drawn = Drawn(shops=specs, skus=sku_specs, sku_costs=sku_costs, listings=listings)
        world = cls(drawn, seed=seed, start=start, days=days)
        build = Builder(validate=validate)
        for shop in specs:
            draw_orders(
                seed,
                shop,
                drawn,
                build,
                start=start,
                days=days,
                as_of=world.as_of,
                cancel_rate=cancel_rate,
                refund_rate=refund_rate,
            )
            draw_ads(seed, shop, drawn, build, start=start, days=days)
        draw_inventory(seed, drawn, build, start=start, days=days)
        return world

    def __repr__(self) -> str:
        orders = sum(len(orders) for orders in self._drawn.orders.values())
        return (
            f"SellerWorld(seed={self.seed}, start={self.start}, days={self.days}, "
            f"shops={len(self.shops)}, skus={len(self.skus)}, orders={orders})"
        )

    def shop(self, platform: str, shop_id: str) -> ShopSpec:
        return self._shops[(platform, shop_id)]

    def shop_dims(self) -> list[ShopDim]:
        return [
            ShopDim(
                platform=shop.platform,
                shop_id=shop.shop_id,
                site=shop.site,
                shop_name=shop.name,
                timezone=shop.timezone,
                currency=shop.currency,
                launched_on=shop.launched_on,
            )
            for shop in self.shops
        ]

    def listings(self, platform: str, shop_id: str) -> list[Listing]:
        return list(self._drawn.listings[(platform, shop_id)])

    def orders(self, platform: str | None = None, shop_id: str | None = None) -> list[Order]:
        """Orders in creation order within each shop, for one shop or all of them."""
        return list(
            chain.from_iterable(
                shop.values() for shop in self._of_shops(self._drawn.orders, platform, shop_id)
            )
        )

    def order(self, platform: str, shop_id: str, order_id: str) -> Order:
        return self._drawn.orders[(platform, shop_id)][order_id]

    def items(self, platform: str, shop_id: str, order_id: str) -> list[OrderItem]:
        """The lines of one order."""
        return list(self._drawn.items[(platform, shop_id, order_id)])

    def order_items(self, platform: str | None = None, shop_id: str | None = None) -> list[OrderItem]:
        return [
            item
            for order in self.orders(platform, shop_id)
            for item in self._drawn.items[(order.platform, order.shop_id, order.order_id)]
        ]

    def refunds(self, platform: str | None = None, shop_id: str | None = None) -> list[Refund]:
        return list(chain.from_iterable(self._of_shops(self._drawn.refunds, platform, shop_id)))

    def ad_performance(
        self, platform: str | None = None, shop_id: str | None = None, *, window: int = 14
    ) -> list[AdPerformance]:
        """Daily campaign rows attributed over ``window`` days (7 or 14)."""
        if window not in self._drawn.ads:
            raise ValueError(f"attribution window must be one of {sorted(self._drawn.ads)}, not {window}")
        return [
            row
            for row in self._drawn.ads[window]
            if (platform is None or row.platform == platform) and (shop_id is None or row.shop_id == shop_id)
        ]

    def inventory(self, warehouse: str | None = None) -> list[InventorySnapshot]:
        return [row for row in self._drawn.inventory if warehouse is None or row.warehouse == warehouse]

    def truth(self, *, ad_window: int = 14) -> Truth:
        """The standard rows a perfect connector would store, by table and natural key.

        Covers shops, skus, sku_costs, orders, order_items, refunds, ad_performance (attributed
        over ``ad_window`` days) and inventory_snapshots, as the world stands now.
        """
        records: Iterable[StandardRecord] = chain(
            self.shop_dims(),
            self.skus,
            self.sku_costs,
            self.orders(),
            self.order_items(),
            self.refunds(),
            self.ad_performance(window=ad_window),
            self._drawn.inventory,
        )
        tables: Truth = {cls.table: {} for cls in _TRUTH_TABLES}
        for record in records:
            tables[record.table][tuple(getattr(record, name) for name in record.natural_key)] = record
        return tables

    def update_orders(self, fraction: float, at: dt.datetime) -> list[Order]:
        """Move a ``fraction`` of the orders still open at ``at`` one step on, as of ``at``.

        Open orders are pending, paid or shipped ones last updated before ``at``. A pending
        order gets paid (or, one time in ten, cancelled), a paid one shipped (or cancelled), a
        shipped one delivered; ``updated_at`` becomes ``at``. Which orders move follows from the
        seed and the sequence of calls. Returns the orders as they are now.
        """
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
        if at.tzinfo is None:
            raise ValueError("at has no timezone; pass an aware datetime")
        at = at.astimezone(dt.UTC)
        movable = [
            order
            for order in self.orders()
            if order.status in (OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.SHIPPED)
            and order.updated_at < at
        ]
        changed = []
        for order in self._updates.sample(movable, round(len(movable) * fraction)):
            moved = self._advance(order, at)
            self._drawn.orders[(order.platform, order.shop_id)][order.order_id] = moved
            changed.append(moved)
        return changed

    def _advance(self, order: Order, at: dt.datetime) -> Order:
        cancel = order.status is not OrderStatus.SHIPPED and self._updates.random() < 0.1
        if cancel:
            return order.model_copy(
                update={"status": OrderStatus.CANCELLED, "updated_at": at, "platform_fees": None}
            )
        if order.status is OrderStatus.PENDING:
            net = order.gross_amount - order.shipping_fee - order.tax
            fees = money(net * fee_rate(order.platform))
            return order.model_copy(
                update={"status": OrderStatus.PAID, "paid_at": at, "updated_at": at, "platform_fees": fees}
            )
        if order.status is OrderStatus.PAID:
            return order.model_copy(
                update={"status": OrderStatus.SHIPPED, "shipped_at": at, "updated_at": at}
            )
        return order.model_copy(
            update={"status": OrderStatus.DELIVERED, "delivered_at": at, "updated_at": at}
        )

    @staticmethod
    def _of_shops(
        by_shop: Mapping[tuple[str, str], _T], platform: str | None, shop_id: str | None
    ) -> Iterator[_T]:
        for (shop_platform, shop_shop_id), value in by_shop.items():
            if (platform is None or shop_platform == platform) and (
                shop_id is None or shop_shop_id == shop_id
            ):
                yield value
