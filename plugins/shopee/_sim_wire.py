"""How ``ShopeeSimulator`` puts a ``SellerWorld`` on Shopee's wire, and the rows it stands for.

One module holds both directions of the contract (documented in ``plugins.shopee.simulator``):
the wire records served for each world record, and ``shopee_truth``, the standard rows a
perfect connector stores from them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sdk.records import (
    AdPerformance,
    Order,
    OrderItem,
    OrderStatus,
    Refund,
    RefundStatus,
    Shipment,
    StandardRecord,
)
from sdk.simulator import SellerWorld, Truth, money

__all__ = [
    "ADS_WINDOW",
    "CARRIER",
    "RETURN_REASON",
    "RETURN_STATUS",
    "ads_rows",
    "epoch",
    "escrow_of",
    "has_escrow",
    "order_detail",
    "return_detail",
    "return_updated",
    "shopee_truth",
    "wire_status",
]

ADS_WINDOW = 7
"""Shopee attributes CPC ads over 7 days: the world's 7-day figures are served."""
CARRIER = "SPX Express"
ZERO = Decimal("0.00")
COMMISSION = Decimal("0.05")
SERVICE = Decimal("0.02")

RETURN_STATUS = {
    RefundStatus.REQUESTED: "REQUESTED",
    RefundStatus.PROCESSING: "PROCESSING",
    RefundStatus.COMPLETED: "REFUND_PAID",
    RefundStatus.REJECTED: "CLOSED",
    RefundStatus.CANCELLED: "CANCELLED",
}
"""The world's refund status as a Shopee ReturnStatus."""
_STANDARD_RETURN = {
    "REQUESTED": RefundStatus.REQUESTED,
    "PROCESSING": RefundStatus.PROCESSING,
    "REFUND_PAID": RefundStatus.COMPLETED,
    "CLOSED": RefundStatus.REJECTED,
    "CANCELLED": RefundStatus.CANCELLED,
}
RETURN_REASON = {
    "damaged": "PHYSICAL_DMG",
    "not_as_described": "DIFF_DESC",
    "wrong_item": "WRONG_ITEM",
    "no_longer_needed": "CHANGE_MIND",
    "late_delivery": "NOT_RECEIPT",
}
"""The world's refund reason as a Shopee ReturnReason."""
_STANDARD_ORDER = {
    "UNPAID": OrderStatus.PENDING,
    "READY_TO_SHIP": OrderStatus.PAID,
    "SHIPPED": OrderStatus.SHIPPED,
    "COMPLETED": OrderStatus.DELIVERED,
    "CANCELLED": OrderStatus.CANCELLED,
}


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _seconds(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def number(amount: Decimal) -> int | float:
    """An amount as Shopee sends it: a JSON number (whole in VND-like currencies)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def wire_status(order: Order) -> str:
    """Shopee's order_status of a world order; a refunded order keeps its shipping status."""
    match order.status:
        case OrderStatus.PENDING:
            return "UNPAID"
        case OrderStatus.PAID:
            return "READY_TO_SHIP"
        case OrderStatus.SHIPPED:
            return "SHIPPED"
        case OrderStatus.DELIVERED:
            return "COMPLETED"
        case OrderStatus.CANCELLED:
            return "CANCELLED"
    return "COMPLETED" if order.delivered_at is not None else "SHIPPED"


def has_escrow(order: Order) -> bool:
    """Whether payment.get_escrow_detail answers for the order: paid and not cancelled."""
    return wire_status(order) not in ("UNPAID", "CANCELLED")


def package_number(order: Order) -> str:
    digest = hashlib.blake2b(order.order_id.encode(), digest_size=6).hexdigest().upper()
    return f"OFG{int(digest, 16) % 10**15:015d}"


def order_detail(world: SellerWorld, order: Order, fields: set[str]) -> dict[str, Any]:
    """get_order_detail's entry for ``order`` with the optional ``fields`` asked for."""
    lines = world.items(order.platform, order.shop_id, order.order_id)
    out: dict[str, Any] = {
        "order_sn": order.order_id,
        "region": order.site,
        "currency": order.currency,
        "cod": False,
        "order_status": wire_status(order),
        "message_to_seller": "",
        "create_time": epoch(order.created_at),
        "update_time": epoch(order.updated_at),
        "days_to_ship": 3,
        "ship_by_date": epoch(order.ship_by) if order.ship_by else 0,
    }
    shipped = order.shipped_at is not None
    optional: dict[str, Any] = {
        "buyer_user_id": int(hashlib.blake2b(order.order_id.encode(), digest_size=4).hexdigest(), 16),
        "recipient_address": {"region": order.buyer_country, "name": "******", "full_address": "******"},
        "item_list": [_item(line) for line in lines],
        "buyer_cancel_reason": "",
        "cancel_by": "system" if order.status is OrderStatus.CANCELLED else "",
        "cancel_reason": "Unpaid" if order.status is OrderStatus.CANCELLED and order.paid_at is None else "",
        "fulfillment_flag": "fulfilled_by_local_seller",
        "shipping_carrier": CARRIER,
        "payment_method": "Online Payment",
        "total_amount": number(order.gross_amount),
        "package_list": [_package(order, lines)] if shipped else [],
    }
    if order.paid_at is not None:
        optional["pay_time"] = epoch(order.paid_at)
    if order.shipped_at is not None:
        optional["pickup_done_time"] = epoch(order.shipped_at)
    out.update({name: value for name, value in optional.items() if name in fields})
    return out


def _item(line: OrderItem) -> dict[str, Any]:
    return {
        "item_id": int(line.platform_item_id or 0),
        "item_name": line.sku,
        "item_sku": line.sku,
        "model_id": 0,
        "model_name": "",
        "model_sku": "",
        "model_quantity_purchased": line.quantity,
        "model_original_price": number(line.unit_price),
        "model_discounted_price": number(line.unit_price),
        "order_item_id": int(line.platform_item_id or 0),
        "promotion_type": "",
        "wholesale": False,
    }


def _package(order: Order, lines: list[OrderItem]) -> dict[str, Any]:
    return {
        "package_number": package_number(order),
        "logistics_status": "LOGISTICS_DELIVERY_DONE" if order.delivered_at else "LOGISTICS_PICKUP_DONE",
        "shipping_carrier": CARRIER,
        "item_list": [
            {
                "item_id": int(line.platform_item_id or 0),
                "model_id": 0,
                "model_quantity": line.quantity,
                "order_item_id": int(line.platform_item_id or 0),
            }
            for line in lines
        ],
    }


def fee_parts(order: Order) -> tuple[Decimal, Decimal, Decimal]:
    """The order's platform fees as Shopee's commission, service and transaction fees."""
    lines_net = order.gross_amount - order.shipping_fee - order.tax
    commission, service = money(lines_net * COMMISSION), money(lines_net * SERVICE)
    return commission, service, (order.platform_fees or ZERO) - commission - service


def escrow_of(world: SellerWorld, order: Order) -> dict[str, Any]:
    """payment.get_escrow_detail's ``response`` for a paid order."""
    lines = world.items(order.platform, order.shop_id, order.order_id)
    subtotal = sum((line.amount for line in lines), ZERO)
    commission, service, transaction = fee_parts(order)
    fees = commission + service + transaction
    income = {
        "escrow_amount": number(order.gross_amount - fees),
        "buyer_total_amount": number(order.gross_amount),
        "order_original_price": number(subtotal),
        "order_discounted_price": number(subtotal - order.discount),
        "order_selling_price": number(subtotal),
        "seller_discount": number(order.discount),
        "shopee_discount": 0,
        "voucher_from_seller": 0,
        "voucher_from_shopee": 0,
        "coins": 0,
        "buyer_paid_shipping_fee": number(order.shipping_fee),
        "cross_border_tax": number(order.tax),
        "commission_fee": number(commission),
        "service_fee": number(service),
        "seller_transaction_fee": number(transaction),
        "escrow_tax": 0,
        "items": [
            {
                "item_id": int(line.platform_item_id or 0),
                "item_sku": line.sku,
                "model_id": 0,
                "quantity_purchased": line.quantity,
                "original_price": number(line.amount),
                "discounted_price": number(line.amount),
            }
            for line in lines
        ],
    }
    return {
        "order_sn": order.order_id,
        "buyer_user_name": "******",
        "return_order_sn_list": [],
        "order_income": income,
    }


def return_updated(refund: Refund, as_of: dt.datetime) -> dt.datetime:
    """When a return last changed: open ones when requested, closed ones two days later."""
    if refund.status in (RefundStatus.REQUESTED, RefundStatus.PROCESSING):
        return refund.created_at
    return min(as_of, refund.created_at + dt.timedelta(days=2))


def return_detail(world: SellerWorld, refund: Refund) -> dict[str, Any]:
    """get_return_list's entry and get_return_detail's ``response`` for a refund."""
    return {
        "return_sn": refund.refund_id,
        "order_sn": refund.order_id,
        "status": RETURN_STATUS[refund.status],
        "reason": RETURN_REASON.get(refund.reason or "", "OTHER"),
        "text_reason": (refund.reason or "").replace("_", " "),
        "refund_amount": number(refund.amount),
        "amount_before_discount": number(refund.amount),
        "currency": refund.currency,
        "create_time": epoch(refund.created_at),
        "update_time": epoch(return_updated(refund, world.as_of)),
        "due_date": epoch(refund.created_at + dt.timedelta(days=3)),
        "needs_logistics": True,
        "return_refund_type": "RRAOC",
        "user": {"username": "******", "email": "******", "portrait": ""},
        "item": [],
    }


def ads_rows(world: SellerWorld, shop_id: str) -> dict[dt.date, dict[str, Any]]:
    """The shop's CPC totals per day, as get_all_cpc_ads_daily_performance's entries."""
    by_day: dict[dt.date, list[AdPerformance]] = defaultdict(list)
    for row in world.ad_performance("shopee", shop_id, window=ADS_WINDOW):
        by_day[row.date].append(row)
    out = {}
    for day, rows in sorted(by_day.items()):
        impressions = sum(r.impressions for r in rows)
        clicks = sum(r.clicks for r in rows)
        spend = sum((r.spend for r in rows), ZERO)
        sales = sum((r.attributed_sales for r in rows), ZERO)
        orders = sum(r.attributed_orders for r in rows)
        units = sum(r.attributed_units for r in rows)
        out[day] = {
            "date": day.strftime("%d-%m-%Y"),
            "impression": impressions,
            "clicks": clicks,
            "ctr": round(clicks / impressions * 100, 2) if impressions else 0,
            "direct_order": orders,
            "broad_order": orders,
            "direct_conversions": round(orders / clicks * 100, 2) if clicks else 0,
            "broad_conversions": round(orders / clicks * 100, 2) if clicks else 0,
            "direct_item_sold": units,
            "broad_item_sold": units,
            "direct_gmv": number(sales),
            "broad_gmv": number(sales),
            "expense": number(spend),
            "cost_per_conversion": round(float(spend) / orders, 2) if orders else 0,
            "direct_roas": round(float(sales) / float(spend), 2) if spend else 0,
            "broad_roas": round(float(sales) / float(spend), 2) if spend else 0,
        }
    return out


def shopee_truth(world: SellerWorld) -> Truth:
    """The standard rows a perfect connector stores now, by table and natural key."""
    tables: Truth = {"orders": {}, "order_items": {}, "shipments": {}, "refunds": {}, "ad_performance": {}}
    for record in _rows(world):
        key = tuple(getattr(record, name) for name in record.natural_key)
        tables[record.table][key] = record
    return tables


def _rows(world: SellerWorld) -> Iterable[StandardRecord]:
    for shop in world.shops:
        if shop.platform != "shopee":
            continue
        for order in world.orders("shopee", shop.shop_id):
            yield from _order_rows(world, order)
        for refund in world.refunds("shopee", shop.shop_id):
            yield Refund(
                platform="shopee",
                shop_id=shop.shop_id,
                refund_id=refund.refund_id,
                order_id=refund.order_id,
                amount=refund.amount,
                currency=refund.currency,
                reason=RETURN_REASON.get(refund.reason or "", "OTHER"),
                created_at=_seconds(refund.created_at),
                status=_STANDARD_RETURN[RETURN_STATUS[refund.status]],
            )
        for day, row in ads_rows(world, shop.shop_id).items():
            yield AdPerformance(
                platform="shopee",
                shop_id=shop.shop_id,
                date=day,
                campaign_id="all_cpc_ads",
                campaign_name="All CPC ads",
                ad_type="cpc",
                spend=money(Decimal(str(row["expense"]))),
                attributed_sales=money(Decimal(str(row["broad_gmv"]))),
                attributed_orders=row["broad_order"],
                attributed_units=row["broad_item_sold"],
                clicks=row["clicks"],
                impressions=row["impression"],
                currency=shop.currency,
                attribution_window_days=ADS_WINDOW,
            )


def _order_rows(world: SellerWorld, order: Order) -> Iterable[StandardRecord]:
    escrow = has_escrow(order)
    yield Order(
        platform="shopee",
        shop_id=order.shop_id,
        order_id=order.order_id,
        site=order.site,
        status=_STANDARD_ORDER[wire_status(order)],
        currency=order.currency,
        created_at=_seconds(order.created_at),
        updated_at=_seconds(order.updated_at),
        paid_at=_seconds(order.paid_at) if order.paid_at else None,
        shipped_at=_seconds(order.shipped_at) if order.shipped_at else None,
        ship_by=_seconds(order.ship_by) if order.ship_by else None,
        gross_amount=order.gross_amount,
        tax=order.tax if escrow else ZERO,
        shipping_fee=order.shipping_fee if escrow else ZERO,
        discount=order.discount if escrow else ZERO,
        platform_fees=sum(fee_parts(order), ZERO) if escrow else None,
        buyer_country=order.buyer_country,
        fulfilment_channel="SELLER",
    )
    for line in world.items("shopee", order.shop_id, order.order_id):
        yield OrderItem(
            platform="shopee",
            shop_id=order.shop_id,
            order_id=order.order_id,
            line_id=f"{line.platform_item_id}-0",
            sku=line.sku,
            platform_item_id=line.platform_item_id,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            currency=line.currency,
        )
    if order.shipped_at is not None:
        yield Shipment(
            platform="shopee",
            shop_id=order.shop_id,
            order_id=order.order_id,
            shipment_id=package_number(order),
            carrier=CARRIER,
            shipped_at=_seconds(order.shipped_at),
            ship_by=_seconds(order.ship_by) if order.ship_by else None,
        )
