"""Orders API v2026-01-01 routes of the Amazon simulator: ``searchOrders`` and ``getOrder``.

The wire format follows Amazon's model ``orders_2026-01-01.json`` (read by the sandbox only,
never copied); ``plugins.amazon.simulator`` documents it and the truth mapping.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import islice
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sdk.records import Order, OrderItem
from sdk.simulator import route

from ._sim_core import DEFAULT_LIMITS, Invalid, page_size
from ._sim_sandbox import ORDERS_2026_MODEL
from ._sim_sp import SpApiRoutes, window_of
from ._sim_wire import (
    CENT,
    WIRE_STATUS,
    ZERO,
    AmazonShop,
    SellerAccount,
    decode_token,
    encode_token,
    iso,
    line_shares,
    stable_alnum,
)

__all__ = [
    "FULFILLED_BY",
    "FULFILLMENT_STATUS",
    "INCLUDED_DATA",
    "ORDERS_2026_PATH",
    "PAGINATION_TOKEN_TTL",
    "Orders2026Routes",
    "money_2026",
]

ORDERS_2026_PATH = "/sp/orders/2026-01-01/orders"
PAGINATION_TOKEN_TTL = 24 * 3600.0
"""Simulated seconds a ``searchOrders`` ``nextToken`` stays valid (Amazon: 24 hours)."""
_WINDOW = ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore")
_MODEL_PATH = "/orders/2026-01-01/orders"

INCLUDED_DATA = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)
"""The model's ``includedData`` datasets; all are accepted, some add nothing (the world lacks them)."""

FULFILLMENT_STATUS: dict[str, str] = {
    "Pending": "PENDING",
    "Unshipped": "UNSHIPPED",
    "Shipped": "SHIPPED",
    "Canceled": "CANCELLED",
}
"""v0's ``OrderStatus`` as v2026's ``fulfillment.fulfillmentStatus``."""

_ALL_STATUSES = frozenset(
    {
        "PENDING_AVAILABILITY",
        "PENDING",
        "UNSHIPPED",
        "PARTIALLY_SHIPPED",
        "SHIPPED",
        "CANCELLED",
        "UNFULFILLABLE",
    }
)

FULFILLED_BY: dict[str, str] = {"AFN": "AMAZON", "MFN": "MERCHANT"}
"""The world's fulfilment channel as v2026's ``fulfillment.fulfilledBy`` (absent for none)."""

_TAX_COLLECTOR = {"NA": "Amazon Services, Inc.", "EU": "Amazon Services Europe S.a.r.L."}
"""Who collects tax as marketplace facilitator, by region (none named for FE)."""


def money_2026(amount: Decimal, currency: str) -> dict[str, str]:
    """v2026 ``Money``: ``{"amount": "12.34", "currencyCode": "USD"}``, always two decimals."""
    return {"amount": f"{amount.quantize(CENT):f}", "currencyCode": currency}


def _listed(query: Any, name: str) -> list[str]:
    """An array parameter: comma-separated and/or repeated, in order, without empties."""
    return [part for value in query.getlist(name) for part in value.split(",") if part]


def _enum(query: Any, name: str, allowed: frozenset[str] | set[str]) -> list[str]:
    values = _listed(query, name)
    wrong = [value for value in values if value not in allowed]
    if wrong:
        raise Invalid(f"Invalid {name} value(s): {', '.join(wrong)}; allowed: {', '.join(sorted(allowed))}.")
    return values


def _breakdown(kind: str, amount: Decimal, currency: str, detailed: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": kind, "subtotal": money_2026(amount, currency)}
    if detailed and kind in ("TAX", "DISCOUNT"):
        entry["detailedBreakdowns"] = [{"subtype": "ITEM", "value": money_2026(amount, currency)}]
    return entry


def _proceeds(
    item: Decimal, shipping: Decimal, tax: Decimal, discount: Decimal, currency: str, *, detailed: bool
) -> list[dict[str, Any]]:
    """Proceeds breakdowns: ITEM always, SHIPPING/TAX/DISCOUNT when not zero (DISCOUNT negative)."""
    entries = [_breakdown("ITEM", item, currency, detailed)]
    for kind, amount in (("SHIPPING", shipping), ("TAX", tax), ("DISCOUNT", -discount)):
        if amount != ZERO:
            entries.append(_breakdown(kind, amount, currency, detailed))
    return entries


class Orders2026Routes(SpApiRoutes):
    """``searchOrders`` and ``getOrder`` of the Orders API v2026-01-01 over the v0 listing machinery."""

    # -- searchOrders -------------------------------------------------------------------------

    @route(ORDERS_2026_PATH, name="searchOrders", rate_limit=DEFAULT_LIMITS["searchOrders"])
    async def search_orders(self, request: Request) -> Response:
        seller = self._seller(request)
        query = request.query_params
        if any(value.startswith("TEST_CASE_") for value in query.values()):
            given = {key: _listed(query, key) for key in query}
            return self._sandbox("searchOrders", _MODEL_PATH, given, ORDERS_2026_MODEL)
        try:
            body = self._search(seller, query)
        except Invalid as invalid:
            return self._sp_error("searchOrders", str(invalid))
        return self._sp_raw(body, 200, "searchOrders")

    def _search(self, seller: SellerAccount, query: Any) -> dict[str, Any]:
        included = frozenset(_enum(query, "includedData", INCLUDED_DATA))
        statuses = sorted(set(_enum(query, "fulfillmentStatuses", _ALL_STATUSES)))
        fulfilled_by = sorted(set(_enum(query, "fulfilledBy", set(FULFILLED_BY.values()))))
        size = page_size(query.get("maxResultsPerPage"), 100, "maxResultsPerPage")
        asked = _listed(query, "marketplaceIds")
        if len(asked) > 50:
            raise Invalid("marketplaceIds takes at most 50 marketplace ids.")
        foreign = [m for m in asked if m not in seller.shops]
        if foreign:
            raise Invalid(f"Invalid marketplaceIds for this seller: {', '.join(foreign)}.")
        marketplaces = sorted(set(asked)) if asked else sorted(seller.shops)
        mode, after, before = self._orders_window(query, _WINDOW)
        bound = _WINDOW[1] if mode == "c" else _WINDOW[3]
        request = {
            "mode": mode,
            "after": iso(after),
            "before": iso(before) if query.get(bound) is not None else None,
            "markets": sorted(set(asked)),
            "statuses": statuses,
            "by": fulfilled_by,
        }
        cursor = None
        token = query.get("paginationToken")
        if token:
            state = decode_token(token)
            if not state or state.get("api") != "2026-01-01" or state.get("seller") != seller.seller_id:
                raise Invalid("Invalid paginationToken.")
            issued = state.get("issued")
            if not isinstance(issued, int | float) or self.now() - issued > PAGINATION_TOKEN_TTL:
                raise Invalid("The paginationToken has expired.")
            if state.get("request") != request:
                raise Invalid(
                    "The paginationToken belongs to a request with other parameters: give the same "
                    "parameters as that request, except maxResultsPerPage and includedData."
                )
            after, before, cursor = window_of(state)

        def wanted(order: Order) -> bool:
            status = FULFILLMENT_STATUS[WIRE_STATUS[order.status]]
            by = FULFILLED_BY.get(order.fulfilment_channel or "")
            return (not statuses or status in statuses) and (not fulfilled_by or by in fulfilled_by)

        listing = self._orders_in(seller, marketplaces, mode, after, before, cursor)
        found = list(islice(((key, o) for key, o in listing if wanted(o)), size + 1))
        body: dict[str, Any] = {"orders": [self._order_2026(seller, o, included) for _, o in found[:size]]}
        if len(found) > size:
            last = found[size - 1][0]
            state = {
                "api": "2026-01-01",
                "seller": seller.seller_id,
                "request": request,
                "after": iso(after),
                "before": iso(before),
                "key": [iso(last[0]), last[1]],
                "issued": self.now(),
            }
            body["pagination"] = {"nextToken": encode_token(state)}
        body["createdBefore" if mode == "c" else "lastUpdatedBefore"] = iso(before)
        return body

    # -- getOrder -----------------------------------------------------------------------------

    @route(ORDERS_2026_PATH + "/{order_id}", name="getOrder", rate_limit=DEFAULT_LIMITS["getOrder"])
    async def get_order_2026(self, request: Request) -> Response:
        seller = self._seller(request)
        order_id = request.path_params["order_id"]
        query = request.query_params
        if order_id.startswith("TEST_CASE_"):
            given = {key: _listed(query, key) for key in query}
            given["orderId"] = [order_id]
            return self._sandbox("getOrder", _MODEL_PATH + "/{orderId}", given, ORDERS_2026_MODEL)
        try:
            included = frozenset(_enum(query, "includedData", INCLUDED_DATA))
        except Invalid as invalid:
            return self._sp_error("getOrder", str(invalid))
        order = self._find_order(seller, order_id)
        if order is None:
            return self._sp_error("getOrder", f"Order {order_id} was not found.", 404, "NotFound")
        return self._sp_raw({"order": self._order_2026(seller, order, included)}, 200, "getOrder")

    # -- the Order --------------------------------------------------------------------------------

    def _order_2026(self, seller: SellerAccount, order: Order, included: frozenset[str]) -> dict[str, Any]:
        shop = next(s for s in seller.shops.values() if s.shop_id == order.shop_id)
        status = FULFILLMENT_STATUS[WIRE_STATUS[order.status]]
        priced = status != "PENDING"
        lines = self.amazon_world.items("amazon", order.shop_id, order.order_id)
        body: dict[str, Any] = {
            "orderId": order.order_id,
            "createdTime": iso(order.created_at),
            "lastUpdatedTime": iso(order.updated_at),
        }
        if order.fulfilment_channel == "AFN":
            body["programs"] = ["PRIME"]
        body["salesChannel"] = {
            "channelName": "AMAZON",
            "marketplaceId": shop.marketplace.marketplace_id,
            "marketplaceName": shop.marketplace.sales_channel,
        }
        if "RECIPIENT" in included:
            body["recipient"] = {"deliveryAddress": {"countryCode": order.buyer_country}}
        if "PROCEEDS" in included and priced:
            body["proceeds"] = {
                "grandTotal": money_2026(order.gross_amount, order.currency),
                "breakdowns": _proceeds(
                    sum((line.amount for line in lines), ZERO),
                    order.shipping_fee,
                    order.tax,
                    order.discount,
                    order.currency,
                    detailed=False,
                ),
            }
        if "FULFILLMENT" in included:
            body["fulfillment"] = self._fulfillment(order, status)
        body["orderItems"] = self._items_2026(shop, order, lines, status, included)
        return body

    def _fulfillment(self, order: Order, status: str) -> dict[str, Any]:
        fulfillment: dict[str, Any] = {"fulfillmentStatus": status}
        fulfilled_by = FULFILLED_BY.get(order.fulfilment_channel or "")
        if fulfilled_by is not None:
            fulfillment["fulfilledBy"] = fulfilled_by
        fulfillment["fulfillmentServiceLevel"] = "STANDARD"
        if order.ship_by is not None:
            fulfillment["shipByWindow"] = {
                "earliestDateTime": iso(order.created_at),
                "latestDateTime": iso(order.ship_by),
            }
        if order.deliver_by is not None:
            earliest: dt.datetime = order.ship_by or order.created_at
            fulfillment["deliverByWindow"] = {
                "earliestDateTime": iso(earliest),
                "latestDateTime": iso(order.deliver_by),
            }
        return fulfillment

    def _items_2026(
        self,
        shop: AmazonShop,
        order: Order,
        lines: list[OrderItem],
        status: str,
        included: frozenset[str],
    ) -> list[dict[str, Any]]:
        priced = status != "PENDING"
        names = {sku.sku: sku.name for sku in self.amazon_world.skus}
        taxes, shipping, discounts = line_shares(order, lines)
        collector = _TAX_COLLECTOR.get(shop.marketplace.region)
        items = []
        for n, line in enumerate(lines):
            product: dict[str, Any] = {}
            if line.platform_item_id is not None:
                product["asin"] = line.platform_item_id
            product["title"] = names.get(line.sku) or line.sku
            product["sellerSku"] = line.sku
            product["condition"] = {"conditionType": "NEW", "conditionSubtype": "NEW"}
            if priced:
                product["price"] = {"unitPrice": money_2026(line.unit_price, line.currency)}
            item: dict[str, Any] = {
                "orderItemId": line.line_id,
                "quantityOrdered": line.quantity,
                "product": product,
            }
            if "PROCEEDS" in included and priced:
                parts = (line.amount, shipping[n], taxes[n], discounts[n])
                item["proceeds"] = {
                    "proceedsTotal": money_2026(parts[0] + parts[1] + parts[2] - parts[3], line.currency),
                    "breakdowns": _proceeds(*parts, line.currency, detailed=True),
                }
            if "PROMOTION" in included and priced and discounts[n] != ZERO:
                promotion = "PROMO-" + stable_alnum(f"amazon-promotion:{order.order_id}", 10)
                item["promotion"] = {"breakdowns": [{"promotionId": promotion}]}
            if "FULFILLMENT" in included:
                item["fulfillment"] = {
                    "quantityFulfilled": line.quantity if status == "SHIPPED" else 0,
                    "quantityUnfulfilled": line.quantity if status in ("PENDING", "UNSHIPPED") else 0,
                }
            if "TAX" in included and priced and collector is not None:
                item["tax"] = {
                    "taxCollections": [{"model": "MARKETPLACE_FACILITATOR", "responsibleParty": collector}]
                }
            items.append(item)
        return items
