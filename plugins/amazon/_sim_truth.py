"""The standard rows a perfect Amazon connector stores from ``AmazonSimulator`` (its ``truth()``).

The contract, field by field, is in the docstring of ``plugins.amazon.simulator``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sdk.records import (
    AdPerformance,
    InventorySnapshot,
    Order,
    OrderItem,
    OrderStatus,
    Refund,
    RefundStatus,
    StandardRecord,
)
from sdk.simulator import SellerWorld, Truth

from ._sim_wire import WIRE_STATUS, ZERO, AmazonShop, fba_snapshot, seconds

__all__ = ["AD_PRODUCT", "ORDERS_APIS", "STANDARD_STATUS", "amazon_truth", "sp_campaign_rows"]

STANDARD_STATUS: dict[str, OrderStatus] = {
    "Pending": OrderStatus.PENDING,
    "Unshipped": OrderStatus.PAID,
    "Shipped": OrderStatus.SHIPPED,
    "Canceled": OrderStatus.CANCELLED,
}
"""Amazon's ``OrderStatus`` as the standard status: what a connector's mapping does."""

ORDERS_APIS = ("v0", "2026-01-01")
"""The Orders APIs a connector may read orders from; ``truth(orders_api=...)`` names one."""

AD_PRODUCT = "SPONSORED_PRODUCTS"
"""The world's ad type an ``spCampaigns`` report covers."""

_TABLES = (Order, OrderItem, Refund, AdPerformance, InventorySnapshot)


def sp_campaign_rows(world: SellerWorld, shop: AmazonShop, window: int) -> list[AdPerformance]:
    """The world's Sponsored Products rows of ``shop`` attributed over ``window`` days."""
    return [
        row
        for row in world.ad_performance("amazon", shop.shop_id, window=window)
        if row.ad_type == AD_PRODUCT
    ]


def amazon_truth(
    world: SellerWorld,
    shops: Sequence[AmazonShop],
    *,
    ad_window: int,
    as_of: dt.datetime,
    orders_api: str = "v0",
) -> Truth:
    """Rows by table and natural key; ``as_of`` is the simulator's now (the inventory's date).

    ``orders_api`` is the Orders API the connector reads (``v0`` or ``2026-01-01``). Both carry
    the same values for every ``orders`` and ``order_items`` field (the v2026 wire keeps v0's
    rule that a Pending order has no money), so the rows do not depend on it; it is checked.
    """
    if ad_window not in (7, 14):
        raise ValueError(f"ad_window must be 7 or 14, not {ad_window}")
    if orders_api not in ORDERS_APIS:
        raise ValueError(f"orders_api must be one of {', '.join(ORDERS_APIS)}, not {orders_api!r}")
    tables: Truth = {cls.table: {} for cls in _TABLES}
    for shop in shops:
        for record in _shop_rows(world, shop, ad_window, as_of):
            key = tuple(getattr(record, name) for name in record.natural_key)
            tables[record.table][key] = record
    return tables


def _shop_rows(
    world: SellerWorld, shop: AmazonShop, ad_window: int, as_of: dt.datetime
) -> Iterable[StandardRecord]:
    for order in world.orders("amazon", shop.shop_id):
        status = STANDARD_STATUS[WIRE_STATUS[order.status]]
        priced = status is not OrderStatus.PENDING
        yield Order(
            platform="amazon",
            shop_id=shop.shop_id,
            order_id=order.order_id,
            site=shop.marketplace.site,
            status=status,
            currency=order.currency,
            created_at=seconds(order.created_at),
            updated_at=seconds(order.updated_at),
            ship_by=seconds(order.ship_by) if order.ship_by else None,
            deliver_by=seconds(order.deliver_by) if order.deliver_by else None,
            gross_amount=order.gross_amount if priced else ZERO,
            tax=order.tax if priced else ZERO,
            shipping_fee=order.shipping_fee if priced else ZERO,
            discount=order.discount if priced else ZERO,
            buyer_country=order.buyer_country,
            fulfilment_channel=order.fulfilment_channel,
        )
        for line in world.items("amazon", shop.shop_id, order.order_id):
            yield OrderItem(
                platform="amazon",
                shop_id=shop.shop_id,
                order_id=order.order_id,
                line_id=line.line_id,
                sku=line.sku,
                platform_item_id=line.platform_item_id,
                quantity=line.quantity,
                unit_price=line.unit_price if priced else ZERO,
                amount=line.amount if priced else ZERO,
                currency=line.currency,
            )
    for refund in world.refunds("amazon", shop.shop_id):
        if refund.status is RefundStatus.COMPLETED:
            yield Refund(
                platform="amazon",
                shop_id=shop.shop_id,
                refund_id=refund.refund_id,
                order_id=refund.order_id,
                amount=refund.amount,
                currency=refund.currency,
                reason=None,
                created_at=seconds(refund.created_at),
                status=RefundStatus.COMPLETED,
            )
    for row in sp_campaign_rows(world, shop, ad_window):
        yield AdPerformance(
            platform="amazon",
            shop_id=shop.shop_id,
            date=row.date,
            campaign_id=row.campaign_id,
            campaign_name=row.campaign_name,
            ad_type="sponsored_products",
            spend=row.spend,
            attributed_sales=row.attributed_sales,
            attributed_orders=row.attributed_orders,
            attributed_units=row.attributed_units,
            clicks=row.clicks,
            impressions=row.impressions,
            currency=row.currency,
            attribution_window_days=ad_window,
        )
    for stock in fba_snapshot(world, shop):
        yield InventorySnapshot(
            date=as_of.astimezone(dt.UTC).date(),
            sku=stock.sku,
            warehouse=shop.warehouse,
            warehouse_type="fba",
            platform="amazon",
            shop_id=shop.shop_id,
            on_hand=stock.on_hand,
            inbound=stock.inbound,
            reserved=stock.reserved,
            unit_cost=None,
            currency=None,
        )
