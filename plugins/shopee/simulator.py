"""An offline Shopee Open Platform v2: signed calls, single-use refresh tokens, windows, faults.

``ShopeeSimulator(world)`` serves the ``SellerWorld``'s shops whose platform is ``shopee``, all
authorised to one partner app. ``credentials()`` hands out::

    {"partner_id": int, "partner_key": str,
     "shops": {shop_id: region}, "refresh_tokens": {shop_id: refresh_token}}

Every call carries the common query parameters and Shopee's signature (``plugins.shopee.signing``,
the same builder the connector signs with): ``partner_id``, ``timestamp`` (within 300 s of the
wall clock), ``sign``; shop calls add ``access_token`` and ``shop_id``. Answers are Shopee's
envelope ``{"error", "message", "request_id", "response"}``; an error has a non-empty
``error``. HTTP statuses of errors: 403 for ``error_sign``, ``error_auth``,
``invalid_acceess_token`` (sic), ``invalid_partner_id`` and ``error_limit``; 400 for
``error_param`` and window errors; 429 for ``error_rate_limit``; 500/503 for ``error_server``.
With ``errors_in_200=True`` every error comes with HTTP 200, as Shopee's gateway often answers.

Endpoints (paths as Shopee's):

- ``POST /api/v2/auth/access_token/get`` (public signature; JSON body ``{refresh_token,
  partner_id, shop_id}``): a new access token (``expire_in`` 14400 s of the simulated clock)
  and a NEW refresh token; the one sent is spent (single use). A spent, unknown or other
  shop's refresh token: ``error_auth`` "Invalid refresh_token.". Never faulted.
- ``GET /api/v2/order/get_order_list``: ``time_range_field`` (create_time|update_time),
  ``time_from``/``time_to`` (Unix s, both ends inclusive, at most 15 days, else
  ``order.order_list_invalid_time``), ``page_size`` 1..100, ``cursor``,
  ``response_optional_fields=order_status``; orders in (time, order_sn) order, the cursor
  naming the last one served, so paging never skips an order.
- ``GET /api/v2/order/get_order_detail``: ``order_sn_list`` (1..50, comma-joined),
  ``response_optional_fields`` (only those asked are served; see ``_sim_wire.order_detail``).
- ``GET /api/v2/payment/get_escrow_detail``: ``order_sn`` of a paid, not cancelled order
  (else ``order_not_found``).
- ``GET /api/v2/returns/get_return_list``: ``page_no`` (from 0), ``page_size`` 1..100,
  ``create_time_from/to`` and/or ``update_time_from/to`` (each at most 15 days); ``more``.
- ``GET /api/v2/returns/get_return_detail``: ``return_sn``.
- ``GET /api/v2/ads/get_all_cpc_ads_daily_performance``: ``start_date``/``end_date``
  (DD-MM-YYYY, start before end, at most a month, not in the future, not older than 6 months):
  the shop's CPC totals per day.
- ``GET /api/v2/shop/get_shop_info``.

Limits: ``rate_limit`` (per partner app and API, requests per simulated second) answers
``error_rate_limit`` when spent; ``daily_limit`` calls per partner app per day (UTC+8) answers
``error_limit`` after.

The truth contract (``truth()``; every row ``platform`` "shopee", the world shop's id):

``orders``: order_id = order_sn; site = region; status = order_status mapped UNPAID->pending,
  READY_TO_SHIP->paid, SHIPPED->shipped, COMPLETED->delivered, CANCELLED->cancelled (a refunded
  world order is served COMPLETED if delivered, else SHIPPED); currency; created_at, updated_at,
  paid_at (pay_time), shipped_at (pickup_done_time), ship_by (ship_by_date), whole seconds UTC;
  delivered_at = deliver_by = None; gross_amount = total_amount; for orders with escrow (paid,
  not cancelled) tax = cross_border_tax, shipping_fee = buyer_paid_shipping_fee, discount =
  seller_discount and platform_fees = commission_fee + service_fee + seller_transaction_fee
  (the world's fees), else 0, 0, 0 and None; buyer_country = recipient_address.region;
  fulfilment_channel "SELLER".
``order_items`` (one per item_list entry): line_id = "<order_item_id>-<model_id>" (model 0);
  sku = model_sku or item_sku; platform_item_id = str(item_id); quantity; unit_price =
  model_discounted_price; amount = unit_price x quantity; currency of the order.
``shipments`` (one per package of a shipped order): shipment_id = package_number; carrier;
  shipped_at = pickup_done_time; ship_by = ship_by_date.
``refunds`` (one per return): refund_id = return_sn; order_id = order_sn; amount =
  refund_amount; currency; reason = Shopee's reason code; created_at = create_time; status
  REQUESTED->requested, PROCESSING->processing, REFUND_PAID->completed, CLOSED->rejected,
  CANCELLED->cancelled.
``ad_performance`` (one per shop and day with CPC ads): campaign_id "all_cpc_ads",
  campaign_name "All CPC ads", ad_type "cpc", spend = expense, attributed_sales = broad_gmv,
  attributed_orders = broad_order, attributed_units = broad_item_sold, clicks, impressions =
  impression, currency of the shop, attribution_window_days 7 (the world's 7-day figures).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sdk.http import RateBudgets, RateLimit
from sdk.records import Order
from sdk.simulator import (
    FaultPlan,
    Reject,
    SellerWorld,
    Simulator,
    TokenAuthority,
    TokenRefused,
    Truth,
    route,
    verify_query_signature,
)

from ._sim_wire import (
    ads_rows,
    epoch,
    escrow_of,
    has_escrow,
    order_detail,
    return_detail,
    return_updated,
    shopee_truth,
    wire_status,
)
from .errors import QUOTA_RESET_TZ
from .signing import SIGNATURE_WINDOW_SECONDS, signed_message

__all__ = ["DEFAULT_RATE_LIMIT", "ShopeeSimulator"]

DEFAULT_RATE_LIMIT = RateLimit(10, 10)
"""Shopee publishes no numbers; a plausible per-app, per-API limit (requests per second, burst)."""
_WINDOW = 15 * 86400
_STATUS = {
    "error_sign": 403,
    "error_auth": 403,
    "invalid_acceess_token": 403,
    "invalid_partner_id": 403,
    "error_limit": 403,
    "error_rate_limit": 429,
    "error_server": 500,
    "order_not_found": 404,
    "error_not_found": 404,
}


class ShopeeSimulator(Simulator):
    """Shopee Open Platform v2 over a ``SellerWorld``; see the module docstring."""

    name: ClassVar[str] = "shopee"
    base_paths: ClassVar[dict[str, str]] = {"api": ""}

    def __init__(
        self,
        world: SellerWorld,
        *,
        faults: FaultPlan | None = None,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
        daily_limit: int | None = None,
        errors_in_200: bool = False,
    ) -> None:
        tokens = TokenAuthority(
            clock=lambda: clock() * time_scale,
            access_ttl=14400.0,
            refresh_ttl=30 * 86400.0,
            single_use_refresh=True,
        )
        super().__init__(world=world, faults=faults, tokens=tokens, clock=clock, time_scale=time_scale)
        self.shopee_world = world
        self.wall_clock = wall_clock
        self.rate_limit = rate_limit
        self.daily_limit = daily_limit
        self.errors_in_200 = errors_in_200
        self.partner_id = 2_000_000 + world.seed % 1_000_000
        self.partner_key = hashlib.blake2b(
            f"shopee-partner:{world.seed}".encode(), digest_size=32
        ).hexdigest()
        tokens.register_client(str(self.partner_id), self.partner_key)
        self.shops = {shop.shop_id: shop for shop in world.shops if shop.platform == "shopee"}
        if not self.shops:
            raise ValueError("the world has no shopee shops to serve")
        self.refresh_tokens = {
            shop_id: tokens.grant(str(self.partner_id), shop_id).refresh_token for shop_id in self.shops
        }
        self.calls_today: Counter[str] = Counter()
        """Calls per day (UTC+8, ISO date) against ``daily_limit``."""
        self._quota_budgets = RateBudgets(clock=self.now)

    def credentials(self) -> dict[str, Any]:
        return {
            "partner_id": self.partner_id,
            "partner_key": self.partner_key,
            "shops": {shop_id: shop.site for shop_id, shop in self.shops.items()},
            "refresh_tokens": dict(self.refresh_tokens),
        }

    def truth(self) -> Truth:
        """What a perfect connector stores now; the contract is in the module docstring."""
        return shopee_truth(self.shopee_world)

    # -- dialect hooks -----------------------------------------------------------------------

    def access_token(self, request: Request) -> str | None:
        return request.query_params.get("access_token") or None

    def caller_key(self, request: Request) -> str:
        query = request.query_params
        return f"{query.get('partner_id', '?')}/{query.get('shop_id', '-')}"

    def error(self, code: str, message: str, status: int | None = None) -> Response:
        """Shopee's error envelope; HTTP 200 when ``errors_in_200``."""
        body = {"error": code, "message": message, "request_id": uuid.uuid4().hex}
        return JSONResponse(body, status_code=200 if self.errors_in_200 else status or _STATUS.get(code, 400))

    def rate_limited_response(self, retry_after: float | None) -> Response:
        return self.error("error_rate_limit", "Too many requests. You have reached the rate limit.")

    def server_error_response(self, status_code: int) -> Response:
        return self.error("error_server", "Something wrong. Please try later.", status_code)

    # -- the checks every call passes ------------------------------------------------------------

    async def _common(self, request: Request, api: str, *, shop: bool = True) -> str | None:
        """Partner, timestamp, signature, quota, rate and (shop calls) token; the shop id."""
        query = request.query_params
        if not query.get("partner_id"):
            raise Reject(self.error("error_param", "There is no partner_id in query."))
        if query.get("partner_id") != str(self.partner_id):
            raise Reject(self.error("invalid_partner_id", "Invalid partner_id."))
        if not query.get("sign"):
            raise Reject(self.error("error_param", "There is no sign in query."))
        try:
            stamp = int(query.get("timestamp", ""))
        except ValueError:
            raise Reject(self.error("error_param", "Invalid timestamp.")) from None
        if abs(self.wall_clock() - stamp) > SIGNATURE_WINDOW_SECONDS:
            raise Reject(self.error("error_param", "Invalid timestamp."))
        if not await verify_query_signature(request, secret=self.partner_key, message=signed_message):
            raise Reject(self.error("error_sign", "Wrong sign."))
        day = dt.datetime.fromtimestamp(self.wall_clock(), QUOTA_RESET_TZ).date().isoformat()
        self.calls_today[day] += 1
        if self.daily_limit is not None and self.calls_today[day] > self.daily_limit:
            raise Reject(self.error("error_limit", "The number of API calls has reached the daily limit."))
        if self.rate_limit is not None:
            bucket = self._quota_budgets.bucket(str(self.partner_id), api, self.rate_limit)
            if bucket.try_take() > 0:
                self.stats[api].throttled += 1
                raise Reject(self.rate_limited_response(None))
        if not shop:
            return None
        shop_id = query.get("shop_id", "")
        if not query.get("access_token"):
            raise Reject(self.error("error_param", "There is no access_token in query."))
        principal = self.tokens.validate(query["access_token"])
        if principal is None:
            raise Reject(self.error("invalid_acceess_token", "Invalid access_token."))
        if principal.subject != shop_id or shop_id not in self.shops:
            raise Reject(self.error("error_auth", "Invalid access_token or shop_id."))
        return shop_id

    def ok(self, response: Any) -> Response:
        return JSONResponse(
            {"error": "", "message": "", "request_id": uuid.uuid4().hex, "response": response}
        )

    # -- auth ----------------------------------------------------------------------------------

    @route("/api/v2/auth/access_token/get", methods=("POST",), name="auth.access_token.get", faults=False)
    async def refresh_access_token(self, request: Request) -> Response:
        await self._common(request, "auth.access_token.get", shop=False)
        try:
            body = json.loads(await request.body())
            refresh, shop_id = str(body["refresh_token"]), str(body["shop_id"])
        except (ValueError, KeyError, TypeError):
            return self.error(
                "error_param", "Wrong parameters, detail: refresh_token and shop_id are required."
            )
        try:
            grant = self.tokens.refresh(refresh, client_id=str(self.partner_id))
        except TokenRefused:
            return self.error("error_auth", "Invalid refresh_token.")
        if grant.principal.subject != shop_id:
            return self.error("error_auth", "Invalid refresh_token.")
        return JSONResponse(
            {
                "error": "",
                "message": "",
                "request_id": uuid.uuid4().hex,
                "partner_id": self.partner_id,
                "shop_id": int(shop_id),
                "access_token": grant.access_token,
                "refresh_token": grant.refresh_token,
                "expire_in": grant.expires_in,
            }
        )

    # -- shop ----------------------------------------------------------------------------------

    @route("/api/v2/shop/get_shop_info", name="shop.get_shop_info")
    async def get_shop_info(self, request: Request) -> Response:
        shop_id = await self._common(request, "shop.get_shop_info")
        assert shop_id is not None
        shop = self.shops[shop_id]
        body = {
            "error": "",
            "message": "",
            "request_id": uuid.uuid4().hex,
            "shop_name": shop.name or shop_id,
            "region": shop.site,
            "status": "NORMAL",
            "is_cb": False,
        }
        return JSONResponse(body)

    # -- orders --------------------------------------------------------------------------------

    @route("/api/v2/order/get_order_list", name="order.get_order_list")
    async def get_order_list(self, request: Request) -> Response:
        shop_id = await self._common(request, "order.get_order_list")
        assert shop_id is not None
        query = request.query_params
        field = query.get("time_range_field")
        if field not in ("create_time", "update_time"):
            return self.error("error_param", "Wrong parameters, detail: time_range_field.")
        low, high = _int(query.get("time_from")), _int(query.get("time_to"))
        if low is None or high is None or not low < high or high - low > _WINDOW:
            return self.error(
                "order.order_list_invalid_time",
                "Start time must be earlier than end time and diff in 15days.",
            )
        size = _int(query.get("page_size"))
        if size is None or not 1 <= size <= 100:
            return self.error("error_param", "Wrong parameters, detail: page_size should be in [1, 100].")
        after = _cursor(query.get("cursor", ""))
        if after is None:
            return self.error("error_param", "Wrong parameters, detail: invalid cursor.")

        def moment(order: Order) -> int:
            return epoch(order.created_at if field == "create_time" else order.updated_at)

        keys = sorted(
            (moment(o), o.order_id, o)
            for o in self.shopee_world.orders("shopee", shop_id)
            if low <= moment(o) <= high
        )
        keys = [k for k in keys if (k[0], k[1]) > after]
        page, more = keys[:size], len(keys) > size
        with_status = "order_status" in (query.get("response_optional_fields") or "").split(",")
        listed = [
            {"order_sn": o.order_id, **({"order_status": wire_status(o)} if with_status else {})}
            for _, _, o in page
        ]
        next_cursor = f"{page[-1][0]}_{page[-1][1]}" if more and page else ""
        return self.ok({"more": more, "next_cursor": next_cursor, "order_list": listed})

    @route("/api/v2/order/get_order_detail", name="order.get_order_detail")
    async def get_order_detail(self, request: Request) -> Response:
        shop_id = await self._common(request, "order.get_order_detail")
        assert shop_id is not None
        numbers = [n for n in (request.query_params.get("order_sn_list") or "").split(",") if n]
        if not 1 <= len(numbers) <= 50:
            return self.error("error_param", "Wrong parameters, detail: order_sn_list should be in [1, 50].")
        fields = {f.strip() for f in (request.query_params.get("response_optional_fields") or "").split(",")}
        found = []
        for number in numbers:
            try:
                order = self.shopee_world.order("shopee", shop_id, number)
            except KeyError:
                continue
            found.append(order_detail(self.shopee_world, order, fields))
        return self.ok({"order_list": found})

    @route("/api/v2/payment/get_escrow_detail", name="payment.get_escrow_detail")
    async def get_escrow_detail(self, request: Request) -> Response:
        shop_id = await self._common(request, "payment.get_escrow_detail")
        assert shop_id is not None
        number = request.query_params.get("order_sn") or ""
        if not number:
            return self.error(
                "error_param", "Missing order_sn. Please include a valid order_sn to get escrow details."
            )
        try:
            order = self.shopee_world.order("shopee", shop_id, number)
        except KeyError:
            order = None
        if order is None or not has_escrow(order):
            return self.error("order_not_found", "Order SN provided is invalid or does not belong to you.")
        return self.ok(escrow_of(self.shopee_world, order))

    # -- returns -------------------------------------------------------------------------------

    @route("/api/v2/returns/get_return_list", name="returns.get_return_list")
    async def get_return_list(self, request: Request) -> Response:
        shop_id = await self._common(request, "returns.get_return_list")
        assert shop_id is not None
        query = request.query_params
        page, size = _int(query.get("page_no")), _int(query.get("page_size"))
        if page is None or page < 0 or size is None or not 1 <= size <= 100:
            return self.error(
                "error_param", "Wrong parameters, detail: page_no >= 0 and page_size in [1, 100]."
            )
        ranges = {}
        for field in ("create_time", "update_time"):
            low, high = _int(query.get(f"{field}_from")), _int(query.get(f"{field}_to"))
            if (low is None) != (high is None):
                return self.error("error_param", f"Wrong parameters, detail: give both {field}_from and _to.")
            if low is not None and high is not None:
                if not low <= high or high - low > _WINDOW:
                    return self.error("error_param", f"Wrong parameters, detail: {field} range over 15 days.")
                ranges[field] = (low, high)
        as_of = self.shopee_world.as_of
        rows = []
        for refund in self.shopee_world.refunds("shopee", shop_id):
            times = {
                "create_time": epoch(refund.created_at),
                "update_time": epoch(return_updated(refund, as_of)),
            }
            if all(low <= times[f] <= high for f, (low, high) in ranges.items()):
                rows.append((times["update_time"], refund.refund_id, refund))
        rows.sort(key=lambda row: (row[0], row[1]))
        chunk = rows[page * size : (page + 1) * size]
        more = len(rows) > (page + 1) * size
        return self.ok({"more": more, "return": [return_detail(self.shopee_world, r) for _, _, r in chunk]})

    @route("/api/v2/returns/get_return_detail", name="returns.get_return_detail")
    async def get_return_detail(self, request: Request) -> Response:
        shop_id = await self._common(request, "returns.get_return_detail")
        assert shop_id is not None
        number = request.query_params.get("return_sn") or ""
        for refund in self.shopee_world.refunds("shopee", shop_id):
            if refund.refund_id == number:
                return self.ok(return_detail(self.shopee_world, refund))
        return self.error("error_not_found", "The information you queried is not found.")

    # -- ads -----------------------------------------------------------------------------------

    @route("/api/v2/ads/get_all_cpc_ads_daily_performance", name="ads.get_all_cpc_ads_daily_performance")
    async def get_all_cpc_ads_daily_performance(self, request: Request) -> Response:
        shop_id = await self._common(request, "ads.get_all_cpc_ads_daily_performance")
        assert shop_id is not None
        try:
            first = dt.datetime.strptime(request.query_params.get("start_date", ""), "%d-%m-%Y").date()
            last = dt.datetime.strptime(request.query_params.get("end_date", ""), "%d-%m-%Y").date()
        except ValueError:
            return self.error("error_param", "Wrong parameters, detail: dates are DD-MM-YYYY.")
        today = dt.datetime.fromtimestamp(self.wall_clock(), QUOTA_RESET_TZ).date()
        problem = None
        if first == last:
            problem = ("error_same_start_end_dates", "Start date can't be equal to end date.")
        elif first > last:
            problem = ("error_start_later_than_end", "The start date can't be later than the end date.")
        elif (last - first).days > 31:
            problem = ("error_date_range_too_long", "Date range can't be longer than 1 month.")
        elif last > today:
            problem = (
                "error_date_in_future",
                "The date must be today or earlier than today up to 6 months ago.",
            )
        elif first < today - dt.timedelta(days=183):
            problem = ("error_date_too_old", "The date can't be earlier than 6 months ago.")
        if problem is not None:
            return self.error(f"ads.performance.{problem[0]}", problem[1], 400)
        rows = ads_rows(self.shopee_world, shop_id)
        days = [rows[day] for day in sorted(rows) if first <= day <= last]
        return JSONResponse({"request_id": uuid.uuid4().hex, "response": days})


def _int(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _cursor(text: str) -> tuple[int, str] | None:
    """The (time, order_sn) a cursor names; (0, "") for the first page; None if unreadable."""
    if not text:
        return 0, ""
    stamp, _, number = text.partition("_")
    try:
        return int(stamp), number
    except ValueError:
        return None
