"""An offline Amazon: LWA, Selling Partner API (orders v0 and v2026-01-01, finances, FBA) and Ads.

``AmazonSimulator(world)`` serves the ``SellerWorld``'s shops whose platform is ``amazon``.
Each such shop is one marketplace (from its site: US ``ATVPDKIKX0DER``, UK ``A1F83G8C2ARO7P``,
...) of its own seller account (``A`` + 13 characters derived from the shop id), with one Ads
profile. One LWA app (client id and secret) serves every seller, so every seller spends the
same rate budgets, keyed (LWA client id, operation). ``credentials()`` hands out::

    {"lwa_client_id", "lwa_client_secret",
     "sellers": [{"seller_id", "refresh_token", "region": "NA"|"EU"|"FE",
                  "marketplaces": {marketplace_id: shop_id}, "ads_profile_id": int}]}

Base paths (``base_urls()``): ``lwa`` ``/lwa`` (``POST /lwa/auth/o2/token``), ``sp_api``
``/sp`` and ``ads`` ``/ads``; a connector appends Amazon's own paths to them.

Endpoints (Amazon's wire formats; times ``YYYY-MM-DDTHH:MM:SSZ``; Orders money
``{"CurrencyCode", "Amount": "12.34"}``, Finances money ``{"CurrencyCode", "CurrencyAmount": -12.34}``):

- ``POST /lwa/auth/o2/token``: form refresh grant; 400 ``invalid_grant`` for a wrong client or
  a revoked/unknown refresh token. Access tokens (``Atza|...``) live 3600 simulated seconds.
- SP-API (``x-amz-access-token``; 403 ``Unauthorized`` when missing, expired or revoked; 429
  ``QuotaExceeded`` without ``Retry-After``; 200/400/404 carry ``x-amzn-RateLimit-Limit`` and
  ``x-amzn-RequestId``): ``getOrders`` ``GET /sp/orders/v0/orders``, ``getOrderItems``
  ``GET /sp/orders/v0/orders/{orderId}/orderItems``, ``listFinancialEvents``
  ``GET /sp/finances/v0/financialEvents`` (refunds only, as ``RefundEventList``),
  ``getInventorySummaries`` ``GET /sp/fba/inventory/v1/summaries`` (pages of 50; a
  ``nextToken`` expires 30 simulated seconds after it was issued).
- Ads (``Authorization: Bearer``, ``Amazon-Advertising-API-ClientId``, and
  ``Amazon-Advertising-API-Scope`` on profile calls; 401 ``UNAUTHORIZED``; 429 with
  ``Retry-After``): ``listProfiles`` ``GET /ads/v2/profiles``, ``createReport``
  ``POST /ads/reporting/reports`` (``spCampaigns``, DAILY, GZIP_JSON, at most 31 days; an
  identical request for the same profile while the first report is not downloaded yet is
  HTTP 425 naming it), ``getReport`` ``GET /ads/reporting/reports/{reportId}`` (PENDING for
  ``report_pending_polls`` polls, then COMPLETED with ``url``), and ``downloadReport``
  ``GET /ads/download/{reportId}.json.gz`` (no auth; gzip of a JSON array of rows).
- Orders API v2026-01-01 (same auth, error bodies, 429 and headers as the other SP-API
  operations): ``searchOrders`` ``GET /sp/orders/2026-01-01/orders`` and ``getOrder``
  ``GET /sp/orders/2026-01-01/orders/{orderId}`` (``{"order": Order}``; 404 ``NotFound``).
  camelCase, no ``payload`` wrapper; money ``{"amount": "12.34", "currencyCode": "USD"}``
  (always two decimals, JPY too). See "Orders API v2026-01-01" below.
- ``getOrders`` with ``CreatedAfter=TEST_CASE_...`` and ``getOrderItems`` of order
  ``TEST_CASE_...`` answer with the static sandbox cases of Amazon's ``ordersV0.json``, and
  ``searchOrders``/``getOrder`` naming a ``TEST_CASE_...`` those of ``orders_2026-01-01.json``,
  read from ``KPIHUB_SPECS_DIR`` (400 saying the specs are absent when the file is missing).

Simulator conventions a connector meets: ``getOrders`` lists orders by ``LastUpdateDate``
(``LastUpdatedAfter``) or ``PurchaseDate`` (``CreatedAfter``), both ends inclusive to the
second, in (time, AmazonOrderId) order; the ``NextToken`` fixes the window and the position,
so paging never skips an order, and an order that changes mid-listing (its LastUpdateDate moves
past the window's end) is seen by the next window. Without
``LastUpdatedBefore``/``CreatedBefore`` the window ends now (a given bound must be at least two
minutes old, as Amazon demands). Finances ``PostedBefore`` defaults to now - 2 min and is
exclusive; windows over 180 days answer an empty list. "Now" is ``world_now()``: the wall
clock, never before the world's ``as_of``. Everything else time-related (token lifetimes, rate
buckets, next-token expiry, report URLs) runs on the simulated clock, ``clock() * time_scale``.

Orders API v2026-01-01
----------------------
``searchOrders`` (0.0056 requests/s, burst 20) lists like ``getOrders`` (same order, windows,
inclusive ends, paging that never skips) with the model's camelCase parameters: exactly one of
``createdAfter`` and ``lastUpdatedAfter`` (else 400); ``createdBefore`` only with
``createdAfter``, ``lastUpdatedBefore`` only with ``lastUpdatedAfter``, not before the After and
at least two minutes old; ``marketplaceIds`` (comma-separated or repeated; default every
marketplace of the seller; another seller's is 400); filters ``fulfillmentStatuses`` and
``fulfilledBy``; ``maxResultsPerPage`` 1-100 (default 100); ``includedData`` (the model's
datasets, comma-separated; an unknown one is 400); ``paginationToken`` = the previous
``pagination.nextToken``. As the model says, a follow-up repeats every other parameter
except ``maxResultsPerPage`` and ``includedData`` (else 400), and a token expires after 24
simulated hours. Answer: ``{"orders": [Order], "pagination": {"nextToken"} (absent on the last
page), "lastUpdatedBefore" | "createdBefore": the window's end}``. An ``Order`` always carries
its items; ``[X]`` marks what only ``includedData`` X adds::

    {"orderId", "createdTime", "lastUpdatedTime", "programs": ["PRIME"] (FBA orders only),
     "salesChannel": {"channelName": "AMAZON", "marketplaceId", "marketplaceName"},
     [RECIPIENT] "recipient": {"deliveryAddress": {"countryCode"}},
     [PROCEEDS] "proceeds": {"grandTotal": Money, "breakdowns": [{"type", "subtotal": Money}]},
     [FULFILLMENT] "fulfillment": {"fulfillmentStatus": PENDING|UNSHIPPED|SHIPPED|CANCELLED,
         "fulfilledBy": AMAZON|MERCHANT, "fulfillmentServiceLevel": "STANDARD",
         "shipByWindow": {"earliestDateTime", "latestDateTime"}, "deliverByWindow": {...}},
     "orderItems": [{"orderItemId", "quantityOrdered",
         "product": {"asin", "title", "sellerSku", "condition": {"conditionType", "conditionSubtype"},
                     "price": {"unitPrice": Money}},
         [PROCEEDS] "proceeds": {"proceedsTotal": Money, "breakdowns": [{"type", "subtotal": Money,
                     "detailedBreakdowns" (TAX, DISCOUNT): [{"subtype": "ITEM", "value": Money}]}]},
         [PROMOTION] "promotion": {"breakdowns": [{"promotionId"}]} (discounted items),
         [FULFILLMENT] "fulfillment": {"quantityFulfilled", "quantityUnfulfilled"},
         [TAX] "tax": {"taxCollections": [{"model": "MARKETPLACE_FACILITATOR",
                                          "responsibleParty"}]} (NA and EU marketplaces)}]}

Breakdown types: ``ITEM`` always (an item's line total, = unitPrice x quantityOrdered),
``SHIPPING``, ``TAX`` and ``DISCOUNT`` only when not zero; ``DISCOUNT`` is negative (proceeds
are what the seller receives). An item's ``proceedsTotal`` is the sum of its breakdowns; each
order breakdown is the sum of that type over the items, and ``grandTotal`` the sum of the order's
breakdowns (the order's gross). The other datasets (BUYER, EXPENSE, CANCELLATION, PACKAGES,
PAYMENT, FULFILLMENT_ORDERS) are accepted and add nothing: the world has no such data. While
PENDING there is no ``proceeds``, ``product.price``, ``promotion`` or ``tax``: the v2026 model
says nothing on Pending orders, so the simulator keeps v0's documented rule (no pricing, taxes,
shipping charges or promotions while Pending).

The truth contract
------------------
``truth(ad_window=14, orders_api="v0")`` returns the rows a perfect connector stores, by table
and natural key; the connector's default mapping must reproduce exactly these. ``orders_api``
(``"v0"`` or ``"2026-01-01"``) names the Orders API the connector reads; both convey the same
value for every ``orders`` and ``order_items`` field, so the rows are the same for either (the
mappings follow). Every row has ``platform`` ``"amazon"`` and the world shop's ``shop_id`` (the
value the seller's ``marketplaces`` map gives for the record's marketplace). Times are UTC,
whole seconds.

``orders`` from v0 (one per ``getOrders`` order, with its ``getOrderItems``):
  order_id = AmazonOrderId; site = the shop's site code (``US``, ``UK``, ``DE``, ``JP``, ...:
  the ``site`` key of ``MARKETPLACES`` for the MarketplaceId); status = OrderStatus mapped
  Pending->pending, Unshipped->paid, Shipped->shipped, Canceled->cancelled; currency = the
  shop's currency (= OrderTotal.CurrencyCode; pending orders carry no money, so take it from
  the marketplace); created_at = PurchaseDate; updated_at = LastUpdateDate; paid_at =
  shipped_at = delivered_at = None; ship_by = LatestShipDate; deliver_by = LatestDeliveryDate;
  gross_amount = OrderTotal.Amount; tax = sum of ItemTax; shipping_fee = sum of ShippingPrice;
  discount = sum of PromotionDiscount (all four 0 while Pending, when Amazon sends no money);
  platform_fees = None; buyer_country = ShippingAddress.CountryCode (``GB`` for the UK);
  fulfilment_channel = FulfillmentChannel (``AFN``/``MFN``).
``order_items`` from v0 (one per OrderItem): order_id = AmazonOrderId; line_id = OrderItemId;
  sku = SellerSKU; platform_item_id = ASIN; quantity = QuantityOrdered; amount =
  ItemPrice.Amount (the line total); unit_price = amount / quantity (exact); both 0 while the
  order is Pending; currency = the shop's currency.
``orders`` from v2026-01-01 (one per ``searchOrders`` order, read with ``includedData``
  ``PROCEEDS,FULFILLMENT,RECIPIENT``; the sums below are over ``proceeds.breakdowns`` entries of
  that type, a type absent counting 0):
  order_id = orderId; site = the site of salesChannel.marketplaceId; status =
  fulfillment.fulfillmentStatus mapped PENDING->pending, UNSHIPPED->paid, SHIPPED->shipped,
  CANCELLED->cancelled; currency = the shop's currency (= proceeds.grandTotal.currencyCode;
  from the marketplace while PENDING); created_at = createdTime; updated_at = lastUpdatedTime;
  paid_at = shipped_at = delivered_at = None; ship_by = fulfillment.shipByWindow.latestDateTime
  and deliver_by = fulfillment.deliverByWindow.latestDateTime (None without the window); gross_amount =
  proceeds.grandTotal.amount; tax = sum of TAX subtotals; shipping_fee = sum of SHIPPING
  subtotals; discount = -(sum of DISCOUNT subtotals), so positive (the order's breakdowns or the
  sum over its items' give the same); all four 0 while PENDING (no ``proceeds``);
  platform_fees = None; buyer_country = recipient.deliveryAddress.countryCode (``GB`` for the
  UK); fulfilment_channel = fulfillment.fulfilledBy mapped AMAZON->AFN, MERCHANT->MFN.
``order_items`` from v2026-01-01 (one per entry of the order's ``orderItems``): order_id =
  orderId; line_id = orderItemId; sku = product.sellerSku; platform_item_id = product.asin;
  quantity = quantityOrdered; unit_price = product.price.unitPrice.amount; amount = the item's
  ITEM subtotal (= unit_price x quantity); both 0 while PENDING; currency = the shop's currency.
``refunds`` (one per ShipmentEvent of ``RefundEventList``; only completed refunds are posted):
  refund_id = ShipmentItemAdjustmentList[0].OrderAdjustmentItemId; order_id = AmazonOrderId;
  amount = -(sum of the Principal ChargeAmount.CurrencyAmount), positive; currency =
  ChargeAmount.CurrencyCode; reason = None; created_at = PostedDate; status = completed. The
  event's MarketplaceName (e.g. ``Amazon.co.uk``) tells the shop.
``ad_performance`` (one per ``spCampaigns`` report row; Sponsored Products campaigns only):
  date; campaign_id = str(campaignId); campaign_name = campaignName; ad_type =
  ``"sponsored_products"``; spend = cost; attributed_sales = sales{W}d; attributed_orders =
  purchases{W}d; attributed_units = unitsSoldClicks{W}d; clicks; impressions; currency = the
  profile's currencyCode; attribution_window_days = W, the ``ad_window`` argument (7 or 14).
``inventory_snapshots`` (one per FBA inventory summary, from the world's latest FBA snapshot of
  the shop): date = the UTC date of lastUpdatedTime (the simulator's now, so: the day the
  listing was read); sku = sellerSku; warehouse = ``"FBA-<shop_id>"`` (unique per seller and
  marketplace: two sellers can share a marketplace); warehouse_type = ``"fba"``; on_hand =
  fulfillableQuantity; inbound = inboundWorkingQuantity + inboundShippedQuantity +
  inboundReceivingQuantity; reserved = reservedQuantity.totalReservedQuantity; unit_cost =
  currency = None.
"""

from __future__ import annotations

from sdk.simulator import Truth

from ._sim_ads import URL_TTL, AdsRoutes
from ._sim_core import DEFAULT_LIMITS
from ._sim_orders2026 import PAGINATION_TOKEN_TTL, Orders2026Routes
from ._sim_sp import INVENTORY_PAGE, NEXT_TOKEN_TTL
from ._sim_truth import ORDERS_APIS, STANDARD_STATUS, amazon_truth
from ._sim_wire import MARKETPLACES, WIRE_STATUS, AmazonShop, Marketplace, SellerAccount

__all__ = [
    "DEFAULT_LIMITS",
    "INVENTORY_PAGE",
    "MARKETPLACES",
    "NEXT_TOKEN_TTL",
    "ORDERS_APIS",
    "PAGINATION_TOKEN_TTL",
    "STANDARD_STATUS",
    "URL_TTL",
    "WIRE_STATUS",
    "AmazonShop",
    "AmazonSimulator",
    "Marketplace",
    "SellerAccount",
]


class AmazonSimulator(Orders2026Routes, AdsRoutes):
    """Amazon's LWA, SP-API and Ads API over a ``SellerWorld``; see the module docstring.

    ``AmazonSimulator(world, *, faults=None, time_scale=1.0, limits=None, clock=time.monotonic,
    report_pending_polls=2)``. ``limits`` overrides ``DEFAULT_LIMITS`` by operation name
    (``getOrders``, ``getOrderItems``, ``searchOrders``, ``getOrder``, ``listFinancialEvents``,
    ``getInventorySummaries``, ``listProfiles``, ``createReport``, ``getReport``). Attributes
    beyond ``Simulator``'s: ``client_id``/``client_secret`` (the LWA app), ``shops``
    (``AmazonShop`` per world shop), ``sellers`` (``SellerAccount`` by seller id), ``reports``
    (Ads reports by id) and ``reports_created``.
    """

    def truth(self, *, ad_window: int = 14, orders_api: str = "v0") -> Truth:
        """What a perfect connector stores now; the contract is in the module docstring."""
        return amazon_truth(
            self.amazon_world,
            self.shops,
            ad_window=ad_window,
            as_of=self.world_now(),
            orders_api=orders_api,
        )
