"""An offline TikTok Shop: the auth host and the Partner API 202309 orders and returns searches.

``TikTokSimulator(world)`` serves the ``SellerWorld``'s shops whose platform is ``tiktok``,
grouped into sellers of ``shops_per_seller`` shops (one authorisation each; a shop's region
comes from its site: US, GB, MY, TH). One app (``app_key``/``app_secret``) serves every seller.
``credentials()`` hands out::

    {"app_key", "app_secret",
     "sellers": [{"open_id", "seller_name", "refresh_token",
                  "shops": [{"cipher", "shop_id", "region", "name"}]}]}

and ``auth_code(open_id)`` issues a fresh authorisation code (single use, 30 minutes).

Base paths (``base_urls()``): ``auth`` ``/auth`` (TikTok's ``auth.tiktok-shops.com``) and
``api`` at the root (``open-api.tiktokglobalshop.com``), so API paths are TikTok's own.

The wire (platform-apis.md §4): every answer is ``{"code", "message", "request_id", "data"}``,
``code`` 0 on success. Every API request must carry ``app_key``, ``timestamp`` (Unix seconds,
at most 5 minutes behind or 30 seconds ahead of the wall clock) and ``sign`` in its query,
verified with ``plugins.tiktok.signing.signed_message`` (the connector's own builder) over the
path, the query and the body bytes as received; and the access token in
``x-tts-access-token``. Refusals:

- missing ``app_key``/``timestamp``/``sign``, a stale timestamp, a bad page size, window, body
  or page token: HTTP 400, code ``36009004`` (``Invalid request: ...`` saying which);
- an unknown app key or a wrong ``sign``: HTTP 401, code ``106001`` (TikTok cannot tell a wrong
  secret from a tampered request);
- a missing, unknown or revoked access token: HTTP 401, ``105001``; an expired one ``105002``;
- a shop-scoped path without ``shop_cipher`` or with one not granted to the token's seller:
  HTTP 400 ``106013``; ``shop_cipher`` on an ``/authorization/`` path: ``36009004``;
- an exhausted rate budget (``rate_limit`` per (app, shop cipher) and endpoint): HTTP 429,
  ``36009002``, with ``Retry-After``; injected server errors: HTTP 500/503, ``36009003``.

Routes:

- ``GET /auth/api/v2/token/get`` (``app_key``, ``app_secret``, ``auth_code``,
  ``grant_type=authorized_code``) and ``GET /auth/api/v2/token/refresh`` (``refresh_token``,
  ``grant_type=refresh_token``; the official Node SDK's ``authorized_code`` is accepted too).
  ``data``: ``access_token``, ``access_token_expire_in`` (Unix time of expiry: 7 days),
  ``refresh_token`` (unchanged by a refresh, as TikTok's), ``refresh_token_expire_in``,
  ``open_id``, ``seller_name``, ``seller_base_region``, ``user_type`` 0, ``granted_scopes``.
  A refused code or token is code ``105001`` (``36004004`` for a bad grant type). Never faulted.
- ``GET /authorization/202309/shops``: ``data.shops[]`` ``{id, name, region, seller_type, cipher, code}``.
- ``POST /order/202309/orders/search``: query ``page_size`` (required, 1-100), ``page_token``,
  ``sort_field`` (``create_time`` default | ``update_time``), ``sort_order`` (``DESC`` default |
  ``ASC``), ``shop_cipher``; JSON body filters ``create_time_ge/lt``, ``update_time_ge/lt``
  (``ge`` inclusive, ``lt`` exclusive; ``ge`` must be below ``lt``) and ``order_status``.
  ``data``: ``orders[]``, ``next_page_token`` ("" on the last page), ``total_count``.
- ``POST /return_refund/202309/returns/search``: the same, ``page_size`` 10-50 (default 10),
  ``sort_order`` default ``ASC``, body filters ``create_time_*``, ``update_time_*``,
  ``order_ids``, ``return_ids``; ``data``: ``return_orders[]``, ``next_page_token``, ``total_count``.

A page token fixes the query (shop, body, sort) and the position (the last record's sort
value and id), so paging never skips or repeats a record; a token replayed with another query
is refused. ``tamper_payment(order_id, **fields)`` overwrites amounts of one order on the wire
(e.g. to break a documented identity).

The truth contract (``truth()``), per world shop, platform ``tiktok``; times UTC whole seconds:

``orders``: order_id = id; site = the shop's site; status = TikTok status mapped UNPAID/ON_HOLD
  -> pending, AWAITING_SHIPMENT/PARTIALLY_SHIPPING/AWAITING_COLLECTION -> paid, IN_TRANSIT ->
  shipped, DELIVERED/COMPLETED -> delivered, CANCELLED -> cancelled (a refunded order stays
  COMPLETED, or IN_TRANSIT if never delivered: refunds are their own table); currency =
  payment.currency; created_at/updated_at/paid_at = create_time/update_time/paid_time;
  shipped_at = collection_time; delivered_at = delivery_time; ship_by = shipping_due_time;
  deliver_by = delivery_due_time; gross_amount = payment.total_amount; tax = payment.tax;
  shipping_fee = payment.shipping_fee; discount = seller_discount + platform_discount;
  platform_fees = None (TikTok's commission is in finance statements); buyer_country =
  recipient_address.region_code; fulfilment_channel = FBT for FULFILLMENT_BY_TIKTOK, else SELLER.
``order_items``: one per line item (TikTok lists one per unit): line_id = id; sku = seller_sku;
  platform_item_id = product_id; quantity = 1; unit_price = amount = sale_price; currency.
``shipments``: one per package of a shipped order: shipment_id = packages[].id; carrier =
  shipping_provider; tracking_number; shipped_at, delivered_at, ship_by, promised_delivery_at =
  collection_time, delivery_time, shipping_due_time, delivery_due_time.
``refunds``: one per return: refund_id = return_id; order_id; amount = refund_amount.refund_total;
  currency = refund_amount.currency; reason = return_reason_text; created_at = create_time;
  status = RETURN_OR_REFUND_REQUEST_PENDING -> requested, AWAITING_BUYER_SHIP -> processing,
  RETURN_OR_REFUND_REQUEST_COMPLETE -> completed, REFUND_OR_RETURN_REQUEST_REJECT -> rejected,
  RETURN_OR_REFUND_REQUEST_CANCEL -> cancelled.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sdk.http.ratelimit import RateLimit
from sdk.simulator import (
    Endpoint,
    FaultPlan,
    Reject,
    SellerWorld,
    Simulator,
    TokenAuthority,
    TokenRefused,
    TokenRejection,
    Truth,
    route,
    verify_query_signature,
)

from ._sim_wire import TikTokSeller, TikTokShopView, tiktok_truth, ts, wire_order, wire_return
from .signing import signed_message

__all__ = ["ACCESS_TTL", "DEFAULT_RATE_LIMIT", "TikTokSimulator"]

ACCESS_TTL = 7 * 86400.0
REFRESH_TTL = 365 * 86400.0
DEFAULT_RATE_LIMIT = RateLimit(20, 20)
"""Requests per simulated second and burst, per (app, shop cipher) and endpoint."""

_TIMESTAMP_BEHIND, _TIMESTAMP_AHEAD = 300, 30


class TikTokSimulator(Simulator):
    """TikTok Shop's auth host and Partner API over a ``SellerWorld``; see the module docstring."""

    name: ClassVar[str] = "tiktok"
    base_paths: ClassVar[dict[str, str]] = {"api": "", "auth": "/auth"}

    def __init__(
        self,
        world: SellerWorld,
        *,
        faults: FaultPlan | None = None,
        time_scale: float = 1.0,
        rate_limit: RateLimit = DEFAULT_RATE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        shops_per_seller: int = 4,
    ) -> None:
        self.rate_limit = rate_limit
        self.wall_clock = wall_clock
        tokens = TokenAuthority(
            clock=wall_clock, access_ttl=ACCESS_TTL, refresh_ttl=REFRESH_TTL, code_ttl=1800
        )
        super().__init__(world=world, faults=faults, tokens=tokens, clock=clock, time_scale=time_scale)
        self.tiktok_world = world
        digest = hashlib.blake2b(f"tiktok-app:{world.seed}".encode(), digest_size=24).hexdigest()
        self.app_key, self.app_secret = "6a" + digest[:11], digest[11:43]
        tokens.register_client(self.app_key, self.app_secret)
        self.shops = [TikTokShopView.of(spec) for spec in world.shops if spec.platform == "tiktok"]
        if not self.shops:
            raise ValueError("the world has no tiktok shops to serve")
        self.sellers: dict[str, TikTokSeller] = {}
        for start in range(0, len(self.shops), shops_per_seller):
            group = self.shops[start : start + shops_per_seller]
            open_id = "-" + base64.urlsafe_b64encode(group[0].shop_id.encode()).decode().rstrip("=")
            refresh = tokens.grant(self.app_key, open_id).refresh_token
            seller = TikTokSeller(open_id, f"Seller {len(self.sellers) + 1}", group[0].region, refresh)
            seller.shops = {shop.cipher: shop for shop in group}
            self.sellers[open_id] = seller
        self.tampered: dict[str, dict[str, str]] = {}

    def credentials(self) -> dict[str, Any]:
        return {
            "app_key": self.app_key,
            "app_secret": self.app_secret,
            "sellers": [
                {
                    "open_id": seller.open_id,
                    "seller_name": seller.name,
                    "refresh_token": seller.refresh_token,
                    "shops": [
                        {"cipher": s.cipher, "shop_id": s.shop_id, "region": s.region, "name": s.spec.name}
                        for s in seller.shops.values()
                    ],
                }
                for seller in self.sellers.values()
            ],
        }

    def auth_code(self, open_id: str) -> str:
        """A seller authorises the app again: a fresh single-use code for ``token/get``."""
        return self.tokens.issue_code(self.app_key, open_id)

    def tamper_payment(self, order_id: str, **fields: str) -> None:
        """Serve ``order_id`` with these ``payment`` fields overwritten (a record that breaks identities)."""
        self.tampered.setdefault(order_id, {}).update(fields)

    def truth(self) -> Truth:
        """What a perfect connector stores now; the contract is in the module docstring."""
        return tiktok_truth(self.tiktok_world, self.shops, excluded=set(self.tampered))

    # -- dialect hooks ------------------------------------------------------------------------

    def _declared(self) -> dict[str, Endpoint]:
        found = super()._declared()
        for attr, endpoint in found.items():
            if endpoint.faults:  # API routes: the configured limit; the auth host has none
                found[attr] = Endpoint(
                    endpoint.name, endpoint.path, endpoint.methods, self.rate_limit, endpoint.faults
                )
        return found

    def access_token(self, request: Request) -> str | None:
        return request.headers.get("x-tts-access-token") or None

    def caller_key(self, request: Request) -> str:
        query = request.query_params
        return f"{query.get('app_key', '-')}/{query.get('shop_cipher', '-')}"

    def rate_limited_response(self, retry_after: float | None) -> Response:
        response = _answer(None, 36009002, "Too many requests, please retry later.", 429)
        if retry_after is not None:
            response.headers["Retry-After"] = str(max(1, round(retry_after + 0.4999)))
        return response

    def server_error_response(self, status_code: int) -> Response:
        return _answer(None, 36009003, "Internal error, please retry later.", status_code)

    def unauthorized_response(self, reason: TokenRejection) -> Response:
        if reason is TokenRejection.EXPIRED:
            return _answer(None, 105002, "Expired credentials: the access token is expired.", 401)
        return _answer(None, 105001, f"Invalid credentials: the access token is {reason}.", 401)

    # -- auth host ----------------------------------------------------------------------------

    @route("/auth/api/v2/token/get", name="tokenGet", faults=False)
    async def token_get(self, request: Request) -> Response:
        query = request.query_params
        if query.get("grant_type") != "authorized_code":
            return _answer(None, 36004004, "Invalid grant_type: use authorized_code.", 200)
        if not self.tokens.check_client(query.get("app_key", ""), query.get("app_secret", "")):
            return _answer(None, 106001, "Invalid credentials: app_key or app_secret is wrong.", 200)
        try:
            grant = self.tokens.exchange_code(query.get("auth_code", ""), client_id=self.app_key)
        except TokenRefused as refused:
            return _answer(None, 105001, f"Invalid auth_code: {refused.reason}.", 200)
        return self._token_answer(grant.principal.subject, grant.access_token, grant.refresh_token)

    @route("/auth/api/v2/token/refresh", name="tokenRefresh", faults=False)
    async def token_refresh(self, request: Request) -> Response:
        query = request.query_params
        if query.get("grant_type") not in ("refresh_token", "authorized_code"):
            return _answer(None, 36004004, "Invalid grant_type: use refresh_token.", 200)
        if not self.tokens.check_client(query.get("app_key", ""), query.get("app_secret", "")):
            return _answer(None, 106001, "Invalid credentials: app_key or app_secret is wrong.", 200)
        try:
            grant = self.tokens.refresh(query.get("refresh_token", ""), client_id=self.app_key)
        except TokenRefused as refused:
            return _answer(None, 105001, f"Invalid refresh_token: {refused.reason}.", 200)
        return self._token_answer(grant.principal.subject, grant.access_token, grant.refresh_token)

    def _token_answer(self, open_id: str, access_token: str, refresh_token: str) -> Response:
        seller = self.sellers[open_id]
        now = self.wall_clock()
        data = {
            "access_token": access_token,
            "access_token_expire_in": int(now + ACCESS_TTL),
            "refresh_token": refresh_token,
            "refresh_token_expire_in": int(now + REFRESH_TTL),
            "open_id": open_id,
            "seller_name": seller.name,
            "seller_base_region": seller.region,
            "user_type": 0,
            "granted_scopes": [
                "seller.order.info",
                "seller.return_refund.basic",
                "seller.authorization.info",
            ],
        }
        return _answer(data, 0, "success")

    # -- API ----------------------------------------------------------------------------------

    async def signature_ok(self, request: Request) -> bool:
        """Whether ``sign`` is what the app's secret gives over this path, query and body."""
        return await verify_query_signature(
            request, secret=self.app_secret, message=signed_message(self.app_secret)
        )

    async def _authorise(
        self, request: Request, *, shop_scoped: bool
    ) -> tuple[TikTokSeller, TikTokShopView | None]:
        query = request.query_params
        for name in ("app_key", "timestamp", "sign"):
            if not query.get(name):
                raise Reject(_invalid(f"{name} is missing"))
        if query["app_key"] != self.app_key:
            raise Reject(_answer(None, 106001, "Invalid credentials: unknown app_key.", 401))
        stamp = query["timestamp"]
        now = self.wall_clock()
        if not stamp.isdigit() or not now - _TIMESTAMP_BEHIND <= int(stamp) <= now + _TIMESTAMP_AHEAD:
            raise Reject(_invalid("timestamp is expired or in the future"))
        if not await self.signature_ok(request):
            raise Reject(_answer(None, 106001, "Invalid credentials: the sign is invalid.", 401))
        principal = self.principal_of(request)
        seller = self.sellers.get(principal.subject)
        if seller is None:
            raise Reject(self.unauthorized_response(TokenRejection.UNKNOWN))
        cipher = query.get("shop_cipher")
        if not shop_scoped:
            if cipher is not None:
                raise Reject(_invalid("shop_cipher is not allowed on this path"))
            return seller, None
        shop = seller.shops.get(cipher or "")
        if shop is None:
            raise Reject(_answer(None, 106013, "shop_cipher is missing or not granted to this seller.", 400))
        return seller, shop

    @route("/authorization/202309/shops", name="getAuthorizedShops")
    async def authorized_shops(self, request: Request) -> Response:
        seller, _ = await self._authorise(request, shop_scoped=False)
        shops = [
            {
                "id": shop.shop_id,
                "name": shop.spec.name or shop.shop_id,
                "region": shop.region,
                "seller_type": "LOCAL" if shop.region == "US" else "CROSS_BORDER",
                "cipher": shop.cipher,
                "code": shop.region + shop.shop_id[-6:],
            }
            for shop in seller.shops.values()
        ]
        return _answer({"shops": shops}, 0, "Success")

    @route("/order/202309/orders/search", methods=["POST"], name="searchOrders")
    async def search_orders(self, request: Request) -> Response:
        _, shop = await self._authorise(request, shop_scoped=True)
        assert shop is not None
        world = self.tiktok_world
        body = await _json_body(request)
        statuses = body.get("order_status")

        def records() -> Iterable[tuple[dict[str, int], str, Any]]:
            for order in world.orders("tiktok", shop.shop_id):
                times = {"create_time": ts(order.created_at), "update_time": ts(order.updated_at)}
                yield times, order.order_id, order

        def render(order: Any) -> dict[str, Any]:
            wire = wire_order(order, world.items("tiktok", shop.shop_id, order.order_id), shop)
            if order.order_id in self.tampered:
                wire["payment"] = {**wire["payment"], **self.tampered[order.order_id]}
            return wire

        def keep(order: Any) -> bool:
            return statuses is None or render(order)["status"] == statuses

        return _search(request, shop, body, records(), render, keep, "orders", (1, 100), 20, "DESC")

    @route("/return_refund/202309/returns/search", methods=["POST"], name="searchReturns")
    async def search_returns(self, request: Request) -> Response:
        _, shop = await self._authorise(request, shop_scoped=True)
        assert shop is not None
        world = self.tiktok_world
        body = await _json_body(request)
        order_ids, return_ids = body.get("order_ids"), body.get("return_ids")

        def records() -> Iterable[tuple[dict[str, int], str, Any]]:
            for refund in world.refunds("tiktok", shop.shop_id):
                stamp = ts(refund.created_at)
                yield {"create_time": stamp, "update_time": stamp}, refund.refund_id, refund

        def render(refund: Any) -> dict[str, Any]:
            return wire_return(refund, world.order("tiktok", shop.shop_id, refund.order_id))

        def keep(refund: Any) -> bool:
            return (order_ids is None or refund.order_id in order_ids) and (
                return_ids is None or refund.refund_id in return_ids
            )

        return _search(request, shop, body, records(), render, keep, "return_orders", (10, 50), 10, "ASC")


def _answer(data: Any, code: int, message: str, status: int = 200) -> Response:
    body = {"code": code, "message": message, "request_id": secrets.token_hex(16).upper(), "data": data or {}}
    return JSONResponse(body, status_code=status)


def _invalid(what: str) -> Response:
    return _answer(None, 36009004, f"Invalid request: {what}.", 400)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise Reject(_invalid("the body is not valid JSON")) from None
    if not isinstance(body, dict):
        raise Reject(_invalid("the body must be a JSON object"))
    return body


def _window(body: dict[str, Any], field: str) -> tuple[int | None, int | None]:
    bounds = []
    for suffix in ("ge", "lt"):
        value = body.get(f"{field}_{suffix}")
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise Reject(_invalid(f"{field}_{suffix} must be a Unix timestamp in seconds"))
        bounds.append(value)
    low, high = bounds
    if low is not None and high is not None and low >= high:
        raise Reject(_invalid(f"{field}_ge must be earlier than {field}_lt"))
    return low, high


def _search(
    request: Request,
    shop: TikTokShopView,
    body: dict[str, Any],
    records: Iterable[tuple[dict[str, int], str, Any]],
    render: Callable[[Any], dict[str, Any]],
    keep: Callable[[Any], bool],
    items_key: str,
    sizes: tuple[int, int],
    default_size: int,
    default_order: str,
) -> Response:
    """One page of a search listing, keyset-paged over (sort field, id)."""
    query = request.query_params
    size_text = query.get("page_size", str(default_size) if items_key != "orders" else "")
    if not size_text.isdigit() or not sizes[0] <= int(size_text) <= sizes[1]:
        raise Reject(_invalid(f"page_size must be between {sizes[0]} and {sizes[1]}"))
    size = int(size_text)
    sort_field = query.get("sort_field", "create_time")
    sort_order = query.get("sort_order", default_order)
    if sort_field not in ("create_time", "update_time") or sort_order not in ("ASC", "DESC"):
        raise Reject(_invalid("sort_field must be create_time or update_time, sort_order ASC or DESC"))
    windows = {field: _window(body, field) for field in ("create_time", "update_time")}
    fingerprint = hashlib.sha256(
        json.dumps([shop.cipher, body, sort_field, sort_order], sort_keys=True).encode()
    ).hexdigest()[:16]
    after: list[Any] | None = None
    if token := query.get("page_token"):
        try:
            state = json.loads(base64.urlsafe_b64decode(token.encode() + b"=="))
            assert state["q"] == fingerprint
            after = list(state["k"])
        except (ValueError, KeyError, TypeError, AssertionError):
            raise Reject(_invalid("page_token does not belong to this query")) from None
    matched = []
    for times, record_id, record in records:
        if all(
            (low is None or times[field] >= low) and (high is None or times[field] < high)
            for field, (low, high) in windows.items()
        ) and keep(record):
            matched.append(([times[sort_field], record_id], record))
    matched.sort(key=lambda pair: pair[0], reverse=sort_order == "DESC")
    remaining = matched
    if after is not None:
        ascending = sort_order == "ASC"
        remaining = [pair for pair in matched if (pair[0] > after if ascending else pair[0] < after)]
    page = remaining[:size]
    next_token = ""
    if len(remaining) > size:
        state = {"q": fingerprint, "k": page[-1][0]}
        next_token = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
    data = {
        items_key: [render(record) for _, record in page],
        "next_page_token": next_token,
        "total_count": len(matched),
    }
    return _answer(data, 0, "Success")
