"""The TikTok Shop wire format of a ``SellerWorld``, and the truth a perfect connector stores.

One function renders each world record as TikTok sends it, and the truth is computed from the
world records directly (not from the wire), following the contract in
``plugins.tiktok.simulator``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sdk.records import Order, OrderItem, OrderStatus, Refund, RefundStatus, Shipment, StandardRecord
from sdk.simulator import SellerWorld, ShopSpec, Truth, site_of

__all__ = [
    "ORDER_STATUS",
    "RETURN_STATUS",
    "STANDARD_ORDER_STATUS",
    "STANDARD_RETURN_STATUS",
    "TikTokSeller",
    "TikTokShopView",
    "tiktok_truth",
    "ts",
    "wire_order",
    "wire_return",
]

ZERO = Decimal("0.00")
_CARRIERS = {"US": ("USPS", "UPS", "FedEx"), "UK": ("Royal Mail", "Evri"), "MY": ("J&T Express", "Ninja Van")}
_DEFAULT_CARRIERS = ("J&T Express", "Flash Express", "Kerry Express")


def ts(moment: dt.datetime) -> int:
    """Unix seconds, as TikTok sends every time."""
    return int(moment.timestamp())


def _utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _digits(*parts: object, n: int = 18) -> str:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest()
    return str(int.from_bytes(digest, "big") % 10**n).rjust(n, "0")


@dataclass(frozen=True)
class TikTokShopView:
    """A world shop as TikTok knows it: its cipher and region code."""

    spec: ShopSpec
    cipher: str
    region: str

    @property
    def shop_id(self) -> str:
        return self.spec.shop_id

    @classmethod
    def of(cls, spec: ShopSpec) -> TikTokShopView:
        region = site_of("tiktok", spec.site).country[:2]
        prefix = "TTP_" if region == "US" else "ROW_"
        digest = hashlib.blake2b(spec.shop_id.encode(), digest_size=10).digest()
        return cls(spec, prefix + base64.b32encode(digest).decode().rstrip("="), region)


@dataclass
class TikTokSeller:
    """A seller that authorised the app: its open id, name, region and shops by cipher."""

    open_id: str
    name: str
    region: str
    refresh_token: str
    shops: dict[str, TikTokShopView] = field(default_factory=dict)


ORDER_STATUS: dict[OrderStatus, str] = {
    OrderStatus.PENDING: "UNPAID",
    OrderStatus.PAID: "AWAITING_SHIPMENT",
    OrderStatus.SHIPPED: "IN_TRANSIT",
    OrderStatus.DELIVERED: "DELIVERED",
    OrderStatus.CANCELLED: "CANCELLED",
}
"""World status to TikTok's; a refunded order keeps its fulfilment status (see ``order_status``)."""

STANDARD_ORDER_STATUS: dict[str, OrderStatus] = {
    "UNPAID": OrderStatus.PENDING,
    "ON_HOLD": OrderStatus.PENDING,
    "AWAITING_SHIPMENT": OrderStatus.PAID,
    "PARTIALLY_SHIPPING": OrderStatus.PAID,
    "AWAITING_COLLECTION": OrderStatus.PAID,
    "IN_TRANSIT": OrderStatus.SHIPPED,
    "DELIVERED": OrderStatus.DELIVERED,
    "COMPLETED": OrderStatus.DELIVERED,
    "CANCELLED": OrderStatus.CANCELLED,
}
"""TikTok's order status as the standard one: what the default mapping does."""

RETURN_STATUS: dict[RefundStatus, str] = {
    RefundStatus.REQUESTED: "RETURN_OR_REFUND_REQUEST_PENDING",
    RefundStatus.PROCESSING: "AWAITING_BUYER_SHIP",
    RefundStatus.COMPLETED: "RETURN_OR_REFUND_REQUEST_COMPLETE",
    RefundStatus.REJECTED: "REFUND_OR_RETURN_REQUEST_REJECT",
    RefundStatus.CANCELLED: "RETURN_OR_REFUND_REQUEST_CANCEL",
}
STANDARD_RETURN_STATUS: dict[str, RefundStatus] = {wire: std for std, wire in RETURN_STATUS.items()}


def order_status(order: Order) -> str:
    """TikTok's order status: a refund leaves the order COMPLETED (delivered) or IN_TRANSIT."""
    if order.status in (OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED):
        return "COMPLETED" if order.delivered_at is not None else "IN_TRANSIT"
    return ORDER_STATUS[order.status]


def unit_lines(lines: list[OrderItem]) -> list[tuple[str, OrderItem]]:
    """TikTok lists one line item per unit: (line item id, world line) for every unit."""
    return [(str(int(line.line_id) * 10 + unit), line) for line in lines for unit in range(line.quantity)]


def package(order: Order, shop: TikTokShopView) -> dict[str, str] | None:
    """The order's package (id, carrier, tracking number) once it has shipped."""
    if order.shipped_at is None:
        return None
    carriers = _CARRIERS.get(shop.spec.site, _DEFAULT_CARRIERS)
    number = _digits("package", order.order_id)
    return {
        "id": "11" + number[:16],
        "carrier": carriers[int(number[-2:]) % len(carriers)],
        "tracking": "TT" + _digits("tracking", order.order_id, n=14),
    }


def payment(order: Order, lines: list[OrderItem], shop: TikTokShopView) -> dict[str, str]:
    original = sum((line.amount for line in lines), ZERO)
    sub_total = original - order.discount
    original_shipping = order.shipping_fee
    shipping_discount = ZERO
    if order.shipping_fee == ZERO:  # free shipping: the platform covers the site's fee
        original_shipping = shipping_discount = site_of("tiktok", shop.spec.site).shipping_fee
    return {
        "currency": order.currency,
        "original_total_product_price": _money(original),
        "seller_discount": _money(order.discount),
        "platform_discount": _money(ZERO),
        "sub_total": _money(sub_total),
        "original_shipping_fee": _money(original_shipping),
        "shipping_fee_seller_discount": _money(ZERO),
        "shipping_fee_platform_discount": _money(shipping_discount),
        "shipping_fee": _money(order.shipping_fee),
        "tax": _money(order.tax),
        "retail_delivery_fee": _money(ZERO),
        "total_amount": _money(order.gross_amount),
    }


def wire_order(order: Order, lines: list[OrderItem], shop: TikTokShopView) -> dict[str, Any]:
    """``orders[]`` of ``POST /order/202309/orders/search`` for one world order."""
    status = order_status(order)
    wire: dict[str, Any] = {
        "id": order.order_id,
        "status": status,
        "create_time": ts(order.created_at),
        "update_time": ts(order.updated_at),
        "user_id": "7" + _digits("buyer", order.order_id),
        "buyer_email": f"v{_digits('mail', order.order_id, n=10)}@scs.tiktokw.us",
        "payment": payment(order, lines, shop),
        "recipient_address": {"region_code": order.buyer_country},
        "fulfillment_type": (
            "FULFILLMENT_BY_TIKTOK" if order.fulfilment_channel == "FBT" else "FULFILLMENT_BY_SELLER"
        ),
        "shipping_type": "TIKTOK",
        "is_cod": False,
        "is_sample_order": False,
        "order_type": "NORMAL",
        "shipping_due_time": ts(order.ship_by) if order.ship_by else None,
        "delivery_due_time": ts(order.deliver_by) if order.deliver_by else None,
        "line_items": [
            {
                "id": line_id,
                "sku_id": (line.platform_item_id or "") + "0",
                "seller_sku": line.sku,
                "product_id": line.platform_item_id,
                "product_name": f"Item {line.sku}",
                "sale_price": _money(line.unit_price),
                "original_price": _money(line.unit_price),
                "seller_discount": "0.00",
                "platform_discount": "0.00",
                "currency": line.currency,
                "display_status": status,
                "is_gift": False,
                "cancel_reason": "Buyer cancelled" if status == "CANCELLED" else "",
            }
            for line_id, line in unit_lines(lines)
        ],
    }
    if order.paid_at is not None:
        wire["paid_time"] = ts(order.paid_at)
    if order.status is OrderStatus.CANCELLED:
        wire["cancel_time"] = ts(order.updated_at)
    if order.shipped_at is not None:
        wire["collection_time"] = ts(order.shipped_at)
    if order.delivered_at is not None:
        wire["delivery_time"] = ts(order.delivered_at)
    if (parcel := package(order, shop)) is not None:
        wire["packages"] = [{"id": parcel["id"]}]
        wire["tracking_number"] = parcel["tracking"]
        wire["shipping_provider"] = parcel["carrier"]
        wire["shipping_provider_id"] = _digits("carrier", parcel["carrier"], n=19)
    return {k: v for k, v in wire.items() if v is not None}


def return_update_time(refund: Refund) -> dt.datetime:
    """When TikTok last changed the return: the world's returns do not move after creation."""
    return refund.created_at


def wire_return(refund: Refund, order: Order) -> dict[str, Any]:
    """``return_orders[]`` of ``POST /return_refund/202309/returns/search`` for one world refund."""
    amount = _money(refund.amount)
    return {
        "return_id": refund.refund_id,
        "order_id": refund.order_id,
        "return_status": RETURN_STATUS[refund.status],
        "return_type": "REFUND" if refund.amount == order.gross_amount else "RETURN_AND_REFUND",
        "role": "BUYER",
        "create_time": ts(refund.created_at),
        "update_time": ts(return_update_time(refund)),
        "return_reason": f"ecom_order_return_reason_{refund.reason}",
        "return_reason_text": refund.reason,
        "refund_amount": {
            "currency": refund.currency,
            "refund_total": amount,
            "refund_subtotal": amount,
            "refund_shipping_fee": "0.00",
            "refund_tax": "0.00",
            "buyer_service_fee": "0.00",
            "retail_delivery_fee": "0.00",
        },
        "return_line_items": [],
    }


def tiktok_truth(
    world: SellerWorld, shops: list[TikTokShopView], *, excluded: Collection[str] = frozenset()
) -> Truth:
    """The standard rows a perfect connector stores, by table and natural key.

    ``excluded`` names orders whose raw records a connector must quarantine (their amounts
    were tampered with): they and their lines and package have no rows.
    """
    tables: Truth = {"orders": {}, "order_items": {}, "shipments": {}, "refunds": {}}
    for shop in shops:
        for record in _shop_rows(world, shop, excluded):
            tables[record.table][tuple(getattr(record, n) for n in record.natural_key)] = record
    return tables


def _shop_rows(world: SellerWorld, shop: TikTokShopView, excluded: Collection[str]) -> list[StandardRecord]:
    rows: list[StandardRecord] = []
    base = {"platform": "tiktok", "shop_id": shop.shop_id}
    for order in world.orders("tiktok", shop.shop_id):
        if order.order_id in excluded:
            continue
        status = STANDARD_ORDER_STATUS[order_status(order)]
        rows.append(
            Order(
                **base,
                order_id=order.order_id,
                site=shop.spec.site,
                status=status,
                currency=order.currency,
                created_at=_utc(ts(order.created_at)),
                updated_at=_utc(ts(order.updated_at)),
                paid_at=_utc(ts(order.paid_at)) if order.paid_at else None,
                shipped_at=_utc(ts(order.shipped_at)) if order.shipped_at else None,
                delivered_at=_utc(ts(order.delivered_at)) if order.delivered_at else None,
                ship_by=_utc(ts(order.ship_by)) if order.ship_by else None,
                deliver_by=_utc(ts(order.deliver_by)) if order.deliver_by else None,
                gross_amount=order.gross_amount,
                tax=order.tax,
                shipping_fee=order.shipping_fee,
                discount=order.discount,
                platform_fees=None,
                buyer_country=order.buyer_country,
                fulfilment_channel=order.fulfilment_channel,
            )
        )
        for line_id, line in unit_lines(world.items("tiktok", shop.shop_id, order.order_id)):
            rows.append(
                OrderItem(
                    **base,
                    order_id=order.order_id,
                    line_id=line_id,
                    sku=line.sku,
                    platform_item_id=line.platform_item_id,
                    quantity=1,
                    unit_price=line.unit_price,
                    amount=line.unit_price,
                    currency=line.currency,
                )
            )
        if (parcel := package(order, shop)) is not None:
            rows.append(
                Shipment(
                    **base,
                    order_id=order.order_id,
                    shipment_id=parcel["id"],
                    carrier=parcel["carrier"],
                    tracking_number=parcel["tracking"],
                    shipped_at=_utc(ts(order.shipped_at)) if order.shipped_at else None,
                    delivered_at=_utc(ts(order.delivered_at)) if order.delivered_at else None,
                    ship_by=_utc(ts(order.ship_by)) if order.ship_by else None,
                    promised_delivery_at=_utc(ts(order.deliver_by)) if order.deliver_by else None,
                )
            )
    for refund in world.refunds("tiktok", shop.shop_id):
        rows.append(
            Refund(
                **base,
                refund_id=refund.refund_id,
                order_id=refund.order_id,
                amount=refund.amount,
                currency=refund.currency,
                reason=refund.reason,
                created_at=_utc(ts(refund.created_at)),
                status=refund.status,
            )
        )
    return rows
