"""How the Mabang simulator shows a seller world: records in Mabang's wire format, and the truth.

Money: ``…Origin`` fields are in the order's currency, plain fields in CNY (``Origin x
currencyRate``), all text with four decimals. Costs are the ERP's, in CNY: the landed SKU
costs and ``shippingCost``, the freight a shipped order cost the seller (no ``…Origin`` twin). Times are
``yyyy-MM-dd HH:mm:ss`` in GMT+8. Codes (Mabang publishes no full enum; these are the
simulator's): ``orderStatus`` 1 unpaid, 2 paid, 3 shipped, 4 delivered, 5 voided;
``isReturned`` 0 none, 1 partly, 2 wholly refunded; return ``status`` 1 pending, 2 refunded,
3 resent (case open), 4 done without refund, 5 voided.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from sdk.records import (
    FxRate,
    InventorySnapshot,
    Order,
    OrderItem,
    OrderStatus,
    Refund,
    RefundStatus,
    Shipment,
    SkuCost,
    SkuDim,
)
from sdk.simulator import SellerWorld

from .client import GMT8

__all__ = ["CNY_RATES", "Q4", "MabangView", "text_time"]

Q4 = Decimal("0.0001")
CNY_RATES: dict[str, Decimal] = {
    "CNY": Decimal("1"),
    "USD": Decimal("7.1000"),
    "GBP": Decimal("9.0000"),
    "EUR": Decimal("7.7000"),
    "JPY": Decimal("0.0480"),
    "SGD": Decimal("5.3000"),
    "MYR": Decimal("1.5500"),
    "THB": Decimal("0.2000"),
    "PHP": Decimal("0.1250"),
    "VND": Decimal("0.0003"),
    "BRL": Decimal("1.3000"),
    "MXN": Decimal("0.3900"),
    "CAD": Decimal("5.2000"),
    "AUD": Decimal("4.6000"),
}
"""CNY per unit of each currency, as ``sys-get-currency-rate-list`` serves them."""

_CARRIERS = ("YunExpress", "4PX", "Yanwen", "CNE", "UPS")
_ORDER_STATUS = {
    OrderStatus.PENDING: "1",
    OrderStatus.PAID: "2",
    OrderStatus.SHIPPED: "3",
    OrderStatus.DELIVERED: "4",
    OrderStatus.CANCELLED: "5",
}
_RETURN_STATUS = {
    RefundStatus.REQUESTED: "1",
    RefundStatus.COMPLETED: "2",
    RefundStatus.PROCESSING: "3",
    RefundStatus.REJECTED: "4",
    RefundStatus.CANCELLED: "5",
}


def text_time(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S")


def _four(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(Q4)}"


def _digest(*parts: str) -> int:
    return int.from_bytes(hashlib.blake2b("\0".join(parts).encode(), digest_size=6).digest(), "big")


class MabangView:
    """A world's shops as one Mabang account sees them.

    ``shops`` maps each Mabang shop id to the world's (platform, shop_id).
    """

    def __init__(self, world: SellerWorld, shops: dict[str, tuple[str, str]]) -> None:
        self.world = world
        self.shops = shops
        self.stock_day = world.start + dt.timedelta(days=world.days - 1)
        costs: dict[str, SkuCost] = {}
        for cost in sorted(world.sku_costs, key=lambda c: c.valid_from):
            if cost.valid_from <= self.stock_day:
                costs[cost.sku] = cost
        self.costs = costs
        """Each SKU's cost in force on the last day, in the world's currency (USD)."""

    # -- money --------------------------------------------------------------------------------

    @staticmethod
    def cny(value: Decimal | None, currency: str) -> Decimal | None:
        return None if value is None else (value * CNY_RATES[currency]).quantize(Q4)

    def landed_cost(self, sku: str) -> Decimal:
        cost = self.costs[sku]
        return self.cny(cost.purchase_cost + cost.first_leg_cost, cost.currency) or Decimal(0)

    # -- wire records -------------------------------------------------------------------------

    def erp_order_id(self, order: Order) -> str:
        return str(10_000_000_000 + _digest(order.platform, order.shop_id, order.order_id) % 9_000_000_000)

    def line_id(self, order: Order, index: int) -> str:
        """Mabang numbers an order's lines itself; the marketplace's line ids are not kept."""
        return f"{self.erp_order_id(order)}-{index + 1}"

    def shipment(self, order: Order) -> tuple[str, str]:
        """(carrier, tracking number) of a shipped order."""
        seed = _digest("track", order.platform, order.order_id)
        return _CARRIERS[seed % len(_CARRIERS)], f"YT{seed % 10**14:014d}"

    def freight(self, order: Order) -> Decimal | None:
        """What shipping a shipped order cost the seller, in CNY (``shippingCost``); the ERP has
        no cost for an order not shipped yet."""
        if order.shipped_at is None:
            return None
        return Decimal(800 + _digest("freight", order.platform, order.order_id) % 4000) / 100

    def order(self, mabang_shop: str, order: Order, items: list[OrderItem]) -> dict[str, Any]:
        cur = order.currency
        item_total = sum((item.amount for item in items), Decimal(0))
        returned = {OrderStatus.REFUNDED: "2", OrderStatus.PARTIALLY_REFUNDED: "1"}.get(order.status, "0")
        if returned != "0":
            base = "4" if order.delivered_at else "3" if order.shipped_at else "2"
        else:
            base = _ORDER_STATUS[order.status]
        carrier, tracking = self.shipment(order) if order.shipped_at else (None, None)
        money = {
            "itemTotal": item_total,
            "orderFee": order.gross_amount,
            "taxFee": order.tax,
            "shippingFee": order.shipping_fee,
            "discountFee": order.discount,
            "platformFee": order.platform_fees,
        }
        record: dict[str, Any] = {
            "erpOrderId": self.erp_order_id(order),
            "platformOrderId": order.order_id,
            "salesRecordNumber": order.order_id,
            "shopId": mabang_shop,
            "shopName": self.world.shop(order.platform, order.shop_id).name,
            "platformId": order.platform.title(),
            "orderStatus": base,
            "isReturned": returned,
            "currencyId": cur,
            "currencyRate": f"{CNY_RATES[cur]}",
            "createDate": text_time(order.created_at),
            "paidTime": text_time(order.paid_at),
            "expressTime": text_time(order.shipped_at),
            "deliveryTime": text_time(order.delivered_at),
            "updateTime": text_time(order.updated_at),
            "latestShipTime": text_time(order.ship_by),
            "latestDeliveryTime": text_time(order.deliver_by),
            "countryCode": order.buyer_country,
            "fulfillmentChannel": order.fulfilment_channel,
            "trackNumber": tracking,
            "logisticsName": carrier,
            "orderCost": _four(sum((self.landed_cost(i.sku) * i.quantity for i in items), Decimal(0))),
            "shippingCost": _four(self.freight(order)),
        }
        for name, value in money.items():
            record[name] = _four(self.cny(value, cur))
            record[f"{name}Origin"] = _four(value)
        record["orderItem"] = [
            {
                "orderItemId": self.line_id(order, index),
                "stockSku": item.sku,
                "platformSku": item.sku,
                "itemId": item.platform_item_id,
                "quantity": str(item.quantity),
                "sellPrice": _four(self.cny(item.unit_price, cur)),
                "sellPriceOrigin": _four(item.unit_price),
                "costPrice": _four(self.landed_cost(item.sku)),
                "title": item.sku,
            }
            for index, item in enumerate(items)
        ]
        return record

    def return_order(self, mabang_shop: str, refund: Refund) -> dict[str, Any]:
        return {
            "returnId": refund.refund_id,
            "platformOrderId": refund.order_id,
            "shopId": mabang_shop,
            "status": _RETURN_STATUS[refund.status],
            "currencyId": refund.currency,
            "currencyRate": f"{CNY_RATES[refund.currency]}",
            "refundAmount": _four(self.cny(refund.amount, refund.currency)),
            "refundAmountOrigin": _four(refund.amount),
            "returnReason": refund.reason,
            "createDate": text_time(refund.created_at),
        }

    def sku(self, dim: SkuDim) -> dict[str, Any]:
        cost = self.costs[dim.sku]
        return {
            "stockSku": dim.sku,
            "nameEN": dim.name,
            "categoryName": dim.category,
            "status": "1" if dim.active else "2",
            "createDate": f"{dim.launched_on} 00:00:00" if dim.launched_on else None,
            "defaultCost": _four(self.cny(cost.purchase_cost, cost.currency)),
            "stockCost": _four(self.landed_cost(dim.sku)),
            "costUpdateTime": f"{cost.valid_from} 00:00:00",
        }

    def stock_rows(self) -> list[InventorySnapshot]:
        """The last day's stock of every warehouse: own, third-party and FBA (mirrored by the ERP)."""
        return [row for row in self.world.inventory() if row.date == self.stock_day]

    def stock(self, row: InventorySnapshot) -> dict[str, Any]:
        return {
            "stockSku": row.sku,
            "warehouseId": row.warehouse,
            "warehouseName": row.warehouse,
            "warehouseType": {"own": "1", "3pl": "2", "fba": "3"}[row.warehouse_type],
            "stockQuantity": str(row.on_hand),
            "availableStockQuantity": str(row.on_hand - row.reserved),
            "occupyQuantity": str(row.reserved),
            "shippingQuantity": str(row.inbound),
            "stockCost": _four(self.landed_cost(row.sku)),
        }

    def shop(self, mabang_shop: str) -> dict[str, Any]:
        platform, shop_id = self.shops[mabang_shop]
        spec = self.world.shop(platform, shop_id)
        return {
            "shopId": mabang_shop,
            "shopName": spec.name,
            "platformId": platform.title(),
            "siteCode": spec.site,
            "currencyId": spec.currency,
            "status": "1",
        }

    def rates(self) -> list[dict[str, Any]]:
        day = f"{self.stock_day} 00:00:00"
        return [
            {"currencyId": code, "currencyName": code, "rate": f"{rate}", "updateTime": day}
            for code, rate in sorted(CNY_RATES.items())
            if code != "CNY"
        ]

    # -- truth ----------------------------------------------------------------------------------

    def truth(self, snapshot_date: dt.date) -> dict[str, dict[tuple[Any, ...], Any]]:
        """The standard rows a perfect connector stores, by table and natural key.

        Orders, lines (numbered by Mabang) and returns are the world's for the mapped shops, a
        shipped order with the freight the ERP recorded (``shipping_cost``, CNY); shipments follow
        from shipped orders; SKU costs are each SKU's cost in force, in CNY,
        from the day it took effect; stock is the last day's, dated the day it is read (``snapshot_date``).
        """
        mapped = set(self.shops.values())
        rows: list[Any] = []
        for platform, shop_id in sorted(mapped):
            for order in self.world.orders(platform, shop_id):
                freight = self.freight(order)
                rows.append(
                    order
                    if freight is None
                    else order.model_copy(update={"shipping_cost": freight, "shipping_cost_currency": "CNY"})
                )
                items = self.world.items(platform, shop_id, order.order_id)
                rows.extend(
                    item.model_copy(update={"line_id": self.line_id(order, n)})
                    for n, item in enumerate(items)
                )
                if order.shipped_at:
                    carrier, tracking = self.shipment(order)
                    rows.append(
                        Shipment(
                            platform=platform,
                            shop_id=shop_id,
                            order_id=order.order_id,
                            shipment_id=tracking,
                            carrier=carrier,
                            tracking_number=tracking,
                            shipped_at=order.shipped_at,
                            delivered_at=order.delivered_at,
                            ship_by=order.ship_by,
                            promised_delivery_at=order.deliver_by,
                        )
                    )
            rows.extend(self.world.refunds(platform, shop_id))
        for dim in self.world.skus:
            rows.append(dim)
            cost = self.costs[dim.sku]
            purchase = self.cny(cost.purchase_cost, cost.currency)
            rows.append(
                SkuCost(
                    sku=dim.sku,
                    valid_from=cost.valid_from,
                    purchase_cost=purchase,
                    first_leg_cost=self.landed_cost(dim.sku) - (purchase or 0),
                    currency="CNY",
                )
            )
        for stock in self.stock_rows():
            rows.append(
                stock.model_copy(
                    update={
                        # The ERP does not say which hub shop an FBA warehouse serves.
                        "platform": None,
                        "shop_id": None,
                        "date": snapshot_date,
                        "unit_cost": self.landed_cost(stock.sku),
                        "currency": "CNY",
                    }
                )
            )
        for code, rate in CNY_RATES.items():
            if code != "CNY":
                rows.append(FxRate(date=self.stock_day, currency=code, base_currency="CNY", rate=rate))
        truth: dict[str, dict[tuple[Any, ...], Any]] = {}
        for row in rows:
            truth.setdefault(row.table, {})[tuple(getattr(row, k) for k in row.natural_key)] = row
        return truth
