"""SP-API routes of the Amazon simulator: orders, order items, refunds (finances), FBA inventory."""

from __future__ import annotations

import datetime as dt
import secrets
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from heapq import merge
from itertools import islice
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sdk.records import Order, Refund, RefundStatus
from sdk.simulator import route

from ._sim_core import DEFAULT_LIMITS, AmazonCore, Invalid, page_size, time_param
from ._sim_sandbox import ORDERS_V0_MODEL, SpecsAbsent, sandbox_answer
from ._sim_wire import (
    WIRE_STATUS,
    AmazonShop,
    InventoryToken,
    OrderView,
    SellerAccount,
    decode_token,
    encode_token,
    fba_snapshot,
    inbound_split,
    iso,
    line_shares,
    money,
    parse_time,
    seconds,
    stable_alnum,
)

__all__ = ["INVENTORY_PAGE", "LAG", "NEXT_TOKEN_TTL", "V0_WINDOW", "Key", "SpApiRoutes", "window_of"]

INVENTORY_PAGE = 50
NEXT_TOKEN_TTL = 30.0
"""Simulated seconds an FBA inventory ``nextToken`` stays valid."""
LAG = dt.timedelta(minutes=2)
"""How old a given ``...Before`` bound must be at least: Amazon's two minutes."""
V0_WINDOW = ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore")
"""getOrders' window parameters: (created after, created before, updated after, updated before)."""
Key = tuple[dt.datetime, str]
"""A listing position: (time to the second, id)."""
_FINANCES_SPAN = dt.timedelta(days=180)


class SpApiRoutes(AmazonCore):
    """``getOrders``, ``getOrderItems``, ``listFinancialEvents`` and ``getInventorySummaries``."""

    def _sandbox(
        self, endpoint: str, path: str, given: dict[str, list[str]], model: str = ORDERS_V0_MODEL
    ) -> Response:
        try:
            case = sandbox_answer(path, "get", given, model)
        except SpecsAbsent as absent:
            return self._sp_error(endpoint, f"Sandbox test cases are unavailable: {absent}")
        if case is None:
            return self._sp_error(endpoint, "No static sandbox case of the API model matches this request.")
        return self._sp_raw(case.response, case.status, endpoint)

    # -- getOrders ----------------------------------------------------------------------------

    @route("/sp/orders/v0/orders", name="getOrders", rate_limit=DEFAULT_LIMITS["getOrders"])
    async def get_orders(self, request: Request) -> Response:
        seller = self._seller(request)
        query = request.query_params
        if any(value.startswith("TEST_CASE_") for value in query.values()):
            given = {key: value.split(",") for key, value in query.items()}
            return self._sandbox("getOrders", "/orders/v0/orders", given)
        try:
            listing = self._orders_listing(seller, query)
        except Invalid as invalid:
            return self._sp_error("getOrders", str(invalid))
        return self._sp_raw({"payload": listing}, 200, "getOrders")

    def _orders_listing(self, seller: SellerAccount, query: Any) -> dict[str, Any]:
        marketplaces = [m for m in (query.get("MarketplaceIds") or "").split(",") if m]
        if not marketplaces:
            raise Invalid("MarketplaceIds is required.")
        foreign = [m for m in marketplaces if m not in seller.shops]
        if foreign:
            raise Invalid(f"Invalid MarketplaceIds for this seller: {', '.join(foreign)}.")
        size = page_size(query.get("MaxResultsPerPage"), 100)
        token = query.get("NextToken")
        if token:
            state = decode_token(token)
            if not state or state.get("seller") != seller.seller_id or state.get("mode") not in ("c", "u"):
                raise Invalid("Invalid NextToken.")
            mode, marketplaces = state["mode"], state["markets"]
            after, before, cursor = window_of(state)
        else:
            mode, after, before = self._orders_window(query)
            cursor = None
        if not set(marketplaces) <= set(seller.shops):
            raise Invalid("Invalid NextToken.")
        found = list(islice(self._orders_in(seller, marketplaces, mode, after, before, cursor), size + 1))
        payload: dict[str, Any] = {"Orders": [self._order_json(seller, order) for _, order in found[:size]]}
        if len(found) > size:
            last_key = found[size - 1][0]
            state = {
                "seller": seller.seller_id,
                "mode": mode,
                "markets": marketplaces,
                "after": iso(after),
                "before": iso(before),
                "key": [iso(last_key[0]), last_key[1]],
            }
            payload["NextToken"] = encode_token(state)
        payload["CreatedBefore" if mode == "c" else "LastUpdatedBefore"] = iso(before)
        return payload

    def _orders_window(
        self, query: Any, names: tuple[str, str, str, str] = V0_WINDOW
    ) -> tuple[str, dt.datetime, dt.datetime]:
        """(mode ``c``/``u``, after, before) of a listing; ``names`` as ``V0_WINDOW`` orders them."""
        created_after, created_before, updated_after, updated_before = names
        created, updated = query.get(created_after), query.get(updated_after)
        if (created is None) == (updated is None):
            raise Invalid(f"Exactly one of {created_after} and {updated_after} must be specified.")
        mode = "c" if created is not None else "u"
        after_name, bound_name, other = (
            (created_after, created_before, updated_before)
            if mode == "c"
            else (updated_after, updated_before, created_before)
        )
        if query.get(other) is not None:
            raise Invalid(f"{other} cannot be used with {after_name}.")
        after = time_param(query, after_name)
        now = self.world_seconds()
        before = now
        if query.get(bound_name) is not None:
            before = time_param(query, bound_name)
            if before > now - LAG:
                raise Invalid(
                    f"{bound_name} must be no later than two minutes before the time of the request."
                )
            if before < after:
                raise Invalid(f"{bound_name} must not be before the After date.")
        return mode, seconds(after), seconds(before)

    def _orders_in(
        self,
        seller: SellerAccount,
        marketplaces: list[str],
        mode: str,
        after: dt.datetime,
        before: dt.datetime,
        cursor: Key | None,
    ) -> Iterator[tuple[Key, Order]]:
        ranges = []
        for marketplace_id in marketplaces:
            view = self._view(seller.shops[marketplace_id], mode)
            low = bisect_left(view.keys, (after, ""))
            if cursor is not None:
                low = max(low, bisect_right(view.keys, cursor))
            high = bisect_left(view.keys, (before + dt.timedelta(seconds=1), ""))
            ranges.append(zip(view.keys[low:high], view.orders[low:high], strict=True))
        return merge(*ranges, key=lambda pair: pair[0])

    def _view(self, shop: AmazonShop, mode: str) -> OrderView:
        orders = self.amazon_world.orders("amazon", shop.shop_id)
        identity = [id(order) for order in orders]
        cached = self._views.get((shop.shop_id, mode))
        if cached is not None and cached.identity == identity:
            return cached
        field = "created_at" if mode == "c" else "updated_at"
        keyed = sorted(((seconds(getattr(o, field)), o.order_id), o) for o in orders)
        view = OrderView(identity, [key for key, _ in keyed], [order for _, order in keyed])
        self._views[(shop.shop_id, mode)] = view
        return view

    def _order_json(self, seller: SellerAccount, order: Order) -> dict[str, Any]:
        shop = next(s for s in seller.shops.values() if s.shop_id == order.shop_id)
        status = WIRE_STATUS[order.status]
        quantity = sum(
            line.quantity for line in self.amazon_world.items("amazon", order.shop_id, order.order_id)
        )
        shipped = quantity if status == "Shipped" else 0
        unshipped = quantity if status == "Unshipped" else 0
        body: dict[str, Any] = {
            "AmazonOrderId": order.order_id,
            "PurchaseDate": iso(order.created_at),
            "LastUpdateDate": iso(order.updated_at),
            "OrderStatus": status,
            "FulfillmentChannel": order.fulfilment_channel,
            "SalesChannel": shop.marketplace.sales_channel,
            "OrderType": "StandardOrder",
            "NumberOfItemsShipped": shipped,
            "NumberOfItemsUnshipped": unshipped,
            "MarketplaceId": shop.marketplace.marketplace_id,
            "EarliestShipDate": iso(order.created_at),
            "IsBusinessOrder": False,
            "IsPrime": order.fulfilment_channel == "AFN",
            "ShippingAddress": {"CountryCode": order.buyer_country},
        }
        if order.ship_by is not None:
            body["LatestShipDate"] = iso(order.ship_by)
        if order.deliver_by is not None:
            body["LatestDeliveryDate"] = iso(order.deliver_by)
        if status != "Pending":
            body["OrderTotal"] = money(order.gross_amount, order.currency)
        return body

    # -- getOrderItems ------------------------------------------------------------------------

    @route(
        "/sp/orders/v0/orders/{order_id}/orderItems",
        name="getOrderItems",
        rate_limit=DEFAULT_LIMITS["getOrderItems"],
    )
    async def get_order_items(self, request: Request) -> Response:
        seller = self._seller(request)
        order_id = request.path_params["order_id"]
        if order_id.startswith("TEST_CASE_"):
            given = {key: value.split(",") for key, value in request.query_params.items()}
            given["orderId"] = [order_id]
            return self._sandbox("getOrderItems", "/orders/v0/orders/{orderId}/orderItems", given)
        order = self._find_order(seller, order_id)
        if order is None:
            return self._sp_error("getOrderItems", f"Order {order_id} was not found.", 404, "NotFound")
        lines = self.amazon_world.items("amazon", order.shop_id, order.order_id)
        names = {sku.sku: sku.name for sku in self.amazon_world.skus}
        tax, shipping, discount = line_shares(order, lines)
        shares = {"ItemTax": tax, "ShippingPrice": shipping, "PromotionDiscount": discount}
        status = WIRE_STATUS[order.status]
        items = []
        for n, line in enumerate(lines):
            item: dict[str, Any] = {
                "ASIN": line.platform_item_id,
                "SellerSKU": line.sku,
                "OrderItemId": line.line_id,
                "Title": names.get(line.sku) or line.sku,
                "QuantityOrdered": line.quantity,
                "QuantityShipped": line.quantity if status == "Shipped" else 0,
                "ConditionId": "New",
            }
            if status != "Pending":
                item["ItemPrice"] = money(line.amount, line.currency)
                for name, parts in shares.items():
                    item[name] = money(parts[n], line.currency)
            items.append(item)
        payload = {"AmazonOrderId": order.order_id, "OrderItems": items}
        return self._sp_raw({"payload": payload}, 200, "getOrderItems")

    def _find_order(self, seller: SellerAccount, order_id: str) -> Order | None:
        for shop in seller.shops.values():
            try:
                return self.amazon_world.order("amazon", shop.shop_id, order_id)
            except KeyError:
                continue
        return None

    # -- listFinancialEvents ------------------------------------------------------------------

    @route(
        "/sp/finances/v0/financialEvents",
        name="listFinancialEvents",
        rate_limit=DEFAULT_LIMITS["listFinancialEvents"],
    )
    async def list_financial_events(self, request: Request) -> Response:
        seller = self._seller(request)
        try:
            payload = self._refund_events(seller, request.query_params)
        except Invalid as invalid:
            return self._sp_error("listFinancialEvents", str(invalid))
        return self._sp_raw({"payload": payload}, 200, "listFinancialEvents")

    def _refund_events(self, seller: SellerAccount, query: Any) -> dict[str, Any]:
        size = page_size(query.get("MaxResultsPerPage"), 100)
        token = query.get("NextToken")
        cursor: Key | None = None
        if token:
            state = decode_token(token)
            if not state or state.get("seller") != seller.seller_id:
                raise Invalid("Invalid NextToken.")
            after, before, cursor = window_of(state)
        else:
            if query.get("PostedAfter") is None:
                raise Invalid("PostedAfter is required.")
            limit = self.world_seconds() - LAG
            after = time_param(query, "PostedAfter")
            before = time_param(query, "PostedBefore") if query.get("PostedBefore") else limit
            if after > limit:
                raise Invalid("PostedAfter must be more than two minutes before the time of the request.")
            if before > limit:
                raise Invalid("PostedBefore must be more than two minutes before the time of the request.")
            if before <= after:
                raise Invalid("PostedBefore must be later than PostedAfter.")
            if before - after > _FINANCES_SPAN:
                return {"FinancialEvents": {"RefundEventList": []}}
        events = sorted(
            (seconds(refund.created_at), refund.refund_id, shop, refund)
            for shop in seller.shops.values()
            for refund in self.amazon_world.refunds("amazon", shop.shop_id)
            if refund.status is RefundStatus.COMPLETED and after <= seconds(refund.created_at) < before
        )
        if cursor is not None:
            events = [event for event in events if (event[0], event[1]) > cursor]
        page = [self._refund_json(shop, refund) for _, _, shop, refund in events[:size]]
        payload: dict[str, Any] = {"FinancialEvents": {"RefundEventList": page}}
        if len(events) > size:
            last = events[size - 1]
            state = {
                "seller": seller.seller_id,
                "after": iso(after),
                "before": iso(before),
                "key": [iso(last[0]), last[1]],
            }
            payload["NextToken"] = encode_token(state)
        return payload

    def _refund_json(self, shop: AmazonShop, refund: Refund) -> dict[str, Any]:
        lines = self.amazon_world.items("amazon", shop.shop_id, refund.order_id)
        line = next((line for line in lines if line.amount == refund.amount), lines[0])
        charge = {"CurrencyCode": refund.currency, "CurrencyAmount": -refund.amount}
        adjustment = {
            "SellerSKU": line.sku,
            "OrderAdjustmentItemId": refund.refund_id,
            "QuantityShipped": 1,
            "ItemChargeAdjustmentList": [{"ChargeType": "Principal", "ChargeAmount": charge}],
        }
        return {
            "AmazonOrderId": refund.order_id,
            "MarketplaceName": shop.marketplace.sales_channel,
            "PostedDate": iso(refund.created_at),
            "ShipmentItemAdjustmentList": [adjustment],
        }

    # -- getInventorySummaries ----------------------------------------------------------------

    @route(
        "/sp/fba/inventory/v1/summaries",
        name="getInventorySummaries",
        rate_limit=DEFAULT_LIMITS["getInventorySummaries"],
    )
    async def get_inventory_summaries(self, request: Request) -> Response:
        endpoint = "getInventorySummaries"
        seller = self._seller(request)
        query = request.query_params
        if query.get("granularityType") != "Marketplace":
            return self._sp_error(endpoint, "granularityType must be Marketplace.")
        marketplace_id = query.get("granularityId") or ""
        if marketplace_id not in seller.shops:
            return self._sp_error(endpoint, f"Invalid granularityId {marketplace_id!r} for this seller.")
        if (query.get("marketplaceIds") or "").split(",") != [marketplace_id]:
            return self._sp_error(endpoint, "marketplaceIds must be the granularityId's marketplace.")
        offset = 0
        token = query.get("nextToken")
        if token:
            issued = self._inventory_tokens.get(token)
            if issued is None or (issued.seller_id, issued.marketplace_id) != (
                seller.seller_id,
                marketplace_id,
            ):
                return self._sp_error(endpoint, "The nextToken is invalid")
            if self.now() - issued.issued > NEXT_TOKEN_TTL:
                return self._sp_error(endpoint, "The nextToken has expired")
            offset = issued.offset
        shop = seller.shops[marketplace_id]
        stock = fba_snapshot(self.amazon_world, shop)
        details = (query.get("details") or "").lower() == "true"
        updated = iso(self.world_now())
        names = {sku.sku: sku.name for sku in self.amazon_world.skus}
        asins = {
            listing.sku: listing.item_id for listing in self.amazon_world.listings("amazon", shop.shop_id)
        }
        summaries = []
        for row in stock[offset : offset + INVENTORY_PAGE]:
            working, shipped, receiving = inbound_split(row.inbound)
            summary: dict[str, Any] = {
                "asin": asins.get(row.sku, ""),
                "fnSku": "X00" + stable_alnum(f"{shop.shop_id}:{row.sku}", 7),
                "sellerSku": row.sku,
                "condition": "NewItem",
                "lastUpdatedTime": updated,
                "productName": names.get(row.sku) or row.sku,
                "totalQuantity": row.on_hand + row.inbound + row.reserved,
            }
            if details:
                summary["inventoryDetails"] = {
                    "fulfillableQuantity": row.on_hand,
                    "inboundWorkingQuantity": working,
                    "inboundShippedQuantity": shipped,
                    "inboundReceivingQuantity": receiving,
                    "reservedQuantity": {
                        "totalReservedQuantity": row.reserved,
                        "pendingCustomerOrderQuantity": row.reserved,
                        "pendingTransshipmentQuantity": 0,
                        "fcProcessingQuantity": 0,
                    },
                    "researchingQuantity": {
                        "totalResearchingQuantity": 0,
                        "researchingQuantityBreakdown": [],
                    },
                    "unfulfillableQuantity": {"totalUnfulfillableQuantity": 0},
                }
            summaries.append(summary)
        pagination: dict[str, str] = {}
        if offset + INVENTORY_PAGE < len(stock):
            self._forget_tokens()
            new_token = secrets.token_urlsafe(24)
            self._inventory_tokens[new_token] = InventoryToken(
                seller.seller_id, marketplace_id, offset + INVENTORY_PAGE, self.now()
            )
            pagination["nextToken"] = new_token
        body = {
            "payload": {
                "granularity": {"granularityType": "Marketplace", "granularityId": marketplace_id},
                "inventorySummaries": summaries,
            },
            "pagination": pagination,
        }
        return self._sp_raw(body, 200, endpoint)

    def _forget_tokens(self) -> None:
        """Drop tokens long expired (issued in order, so the oldest come first)."""
        stale = self.now() - 10 * NEXT_TOKEN_TTL
        for token, issued in list(self._inventory_tokens.items()):
            if issued.issued >= stale:
                break
            del self._inventory_tokens[token]


def window_of(state: dict[str, Any]) -> tuple[dt.datetime, dt.datetime, Key]:
    """The window and position a listing's NextToken carries."""
    try:
        key = state["key"]
        return parse_time(state["after"]), parse_time(state["before"]), (parse_time(key[0]), str(key[1]))
    except (KeyError, IndexError, TypeError, ValueError):
        raise Invalid("Invalid NextToken.") from None
