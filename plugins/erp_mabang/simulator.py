"""An offline Mabang ERP gateway serving a ``SellerWorld``.

``MabangSimulator(world)`` is one Mabang account (app key ``200000`` unless given) whose shops
are the world's shops, numbered ``100001``, ``100002``, ... (``shops``: Mabang id -> (platform,
shop_id)). ``credentials()`` hands out ``{"app_key", "app_secret", "shops": {id: [platform,
shop_id, site]}}``.

The gateway answers ``POST /api/v2`` and ``POST /api/v1`` (both need body ``version`` "2")
with ``{"code", "message", "data"}``; failures are HTTP 200 with another ``code``:

- ``Authorization`` must be hex HMAC-SHA256 of the exact body bytes with the app secret, else
  ``401`` (so a body re-serialised after signing is refused); an unknown ``appkey`` is
  ``1001``, a ``timestamp`` more than 10 minutes off is ``1002``; a body that is not JSON, a
  missing field, an unknown API, a bad window, ``maxRows`` outside 1-1000 or a cursor from
  another query is ``400``; an unknown ``version`` is ``404``.
- A rate limit on the gateway (``LIMIT``: 20/s, burst 20, on the simulated clock: ``time_scale``
  10 allows 200/s) answers ``429`` in the body.
- Listings page by cursor: ``data`` = ``{"data": [...], "hasNext", "nextCursor", "total"}``;
  a cursor is bound to its query. Windows are ``<field>Start`` inclusive to ``<field>End``
  exclusive, ``yyyy-MM-dd HH:mm:ss`` GMT+8, at most 31 days.
- APIs: ``order-get-order-list-new`` (``shopId``, ``updateTime`` window), ``order-get-return-
  order-list-v2`` (``shopId``, ``createDate`` window), ``stock-do-search-sku-list-new``,
  ``stock-get-stock-quantity``, ``sys-get-shop-list`` and ``sys-get-currency-rate-list``
  (single pages). Record formats and codes: ``_sim_render``.

Faults (a ``FaultPlan``) play as in every simulator; ``repeat_page`` is not meaningful on a
single gateway URL shared by every API and should not be planned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sdk.http import RateLimit
from sdk.simulator import FaultPlan, SellerWorld, Simulator, route

from ._sim_render import MabangView
from .client import GMT8

__all__ = ["LIMIT", "MabangSimulator"]

_MAX_WINDOW = dt.timedelta(days=31)
LIMIT = RateLimit(20, 20)


class _Business(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MabangSimulator(Simulator):
    name: ClassVar[str] = "mabang"
    base_paths: ClassVar[dict[str, str]] = {"v2": "/api/v2", "v1": "/api/v1"}

    def __init__(
        self,
        world: SellerWorld,
        *,
        app_key: str = "200000",
        app_secret: str = "sim-mabang-secret",  # noqa: S107 - a simulator's made-up secret
        faults: FaultPlan | None = None,
        clock: Callable[[], float] = time.monotonic,
        time_scale: float = 1.0,
    ) -> None:
        super().__init__(world=world, faults=faults, clock=clock, time_scale=time_scale)
        self.app_key = app_key
        self.app_secret = app_secret
        self.shops = {str(100001 + n): (shop.platform, shop.shop_id) for n, shop in enumerate(world.shops)}
        self.view = MabangView(world, self.shops)
        self._apis: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "order-get-order-list-new": self._orders,
            "order-get-return-order-list-v2": self._returns,
            "stock-do-search-sku-list-new": self._skus,
            "stock-get-stock-quantity": self._stock,
            "sys-get-shop-list": lambda data: {"data": [self.view.shop(s) for s in self.shops]},
            "sys-get-currency-rate-list": lambda data: {"data": self.view.rates()},
        }
        self._sorted: dict[tuple[str, ...], list[Any]] = {}

    @classmethod
    def demo(cls, seed: int) -> MabangSimulator:
        """Three shops (Amazon, Shopee, Shopify) with 30 days up to today, for ``kpihub simulate``."""
        start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)
        world = SellerWorld.generate(
            seed, shops=3, days=30, start=start, platforms=("amazon", "shopee", "shopify"), skus=100
        )
        return cls(world)

    def credentials(self) -> dict[str, Any]:
        shops = {
            mabang_id: [platform, shop_id, self.world_shop(mabang_id).site]
            for mabang_id, (platform, shop_id) in self.shops.items()
        }
        return {"app_key": self.app_key, "app_secret": self.app_secret, "shops": shops}

    def world_shop(self, mabang_id: str) -> Any:
        assert self.world is not None
        return self.world.shop(*self.shops[mabang_id])

    def truth(self, snapshot_date: dt.date | None = None) -> dict[str, dict[tuple[Any, ...], Any]]:
        """See ``MabangView.truth``; stock is dated today (GMT+8) unless ``snapshot_date`` says."""
        return self.view.truth(snapshot_date or dt.datetime.now(GMT8).date())

    # -- dialect --------------------------------------------------------------------------------

    def caller_key(self, request: Request) -> str:
        # The app key travels inside the signed body; one account per simulator.
        return self.app_key

    def rate_limited_response(self, retry_after: float | None) -> Response:
        return _answer("429", "请求过于频繁 (too many requests)")

    # -- the gateway ----------------------------------------------------------------------------

    @route("/api/v2", methods=["POST"], name="gateway_v2", rate_limit=LIMIT)
    async def gateway_v2(self, request: Request) -> Response:
        return await self._gateway(request)

    @route("/api/v1", methods=["POST"], name="gateway_v1", rate_limit=LIMIT)
    async def gateway_v1(self, request: Request) -> Response:
        return await self._gateway(request)

    async def _gateway(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = self._checked(raw, request.headers.get("authorization", ""))
            handler = self._apis.get(body["api"])
            if handler is None:
                raise _Business("400", f"unknown api {body['api']!r}")
            return _answer("200", "success", handler(body["data"]))
        except _Business as refused:
            return _answer(refused.code, refused.message)

    def _checked(self, raw: bytes, signature: str) -> dict[str, Any]:
        try:
            body = json.loads(raw)
        except ValueError:
            raise _Business("400", "the body is not JSON") from None
        if not isinstance(body, dict):
            raise _Business("400", "the body must be a JSON object")
        missing = [key for key in ("api", "appkey", "data", "timestamp", "version") if key not in body]
        if missing:
            raise _Business("400", f"missing {', '.join(missing)}")
        if body["appkey"] != self.app_key:
            raise _Business("1001", "unknown appkey")
        expected = hmac.new(self.app_secret.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise _Business("401", "sign error: Authorization is not the HMAC-SHA256 of the body")
        try:
            stamp = int(body["timestamp"])
        except (TypeError, ValueError):
            raise _Business("400", "timestamp must be Unix seconds") from None
        if abs(time.time() - stamp) > 600:
            raise _Business("1002", "timestamp expired (more than 10 minutes off)")
        if str(body["version"]) != "2":
            raise _Business("404", f"api {body['api']!r} does not exist in version {body['version']!r}")
        if not isinstance(body["data"], dict):
            raise _Business("400", "data must be an object")
        return body

    # -- APIs -----------------------------------------------------------------------------------

    def _orders(self, data: dict[str, Any]) -> dict[str, Any]:
        assert self.world is not None
        shop = self._shop(data)
        start, end = _window(data, "updateTime")
        platform, shop_id = self.shops[shop]
        # Sorted on every call: update_records faults move orders on under the listing.
        orders = sorted(self.world.orders(platform, shop_id), key=lambda o: (o.updated_at, o.order_id))
        found = [o for o in orders if start <= o.updated_at < end]
        return self._page(data, found, lambda o: self.view.order(shop, o, self.world_items(o)))

    def world_items(self, order: Any) -> list[Any]:
        assert self.world is not None
        return self.world.items(order.platform, order.shop_id, order.order_id)

    def _returns(self, data: dict[str, Any]) -> dict[str, Any]:
        assert self.world is not None
        shop = self._shop(data)
        start, end = _window(data, "createDate")
        refunds = sorted(self.world.refunds(*self.shops[shop]), key=lambda r: (r.created_at, r.refund_id))
        found = [r for r in refunds if start <= r.created_at < end]
        return self._page(data, found, lambda r: self.view.return_order(shop, r))

    def _skus(self, data: dict[str, Any]) -> dict[str, Any]:
        assert self.world is not None
        return self._page(data, self.world.skus, self.view.sku)

    def _stock(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("stock",) not in self._sorted:
            self._sorted[("stock",)] = sorted(self.view.stock_rows(), key=lambda r: (r.sku, r.warehouse))
        return self._page(data, self._sorted[("stock",)], self.view.stock)

    def _shop(self, data: dict[str, Any]) -> str:
        shop = str(data.get("shopId", ""))
        if shop not in self.shops:
            raise _Business("400", f"unknown shopId {shop!r}")
        return shop

    def _page(
        self, data: dict[str, Any], rows: Sequence[Any], render: Callable[[Any], Any]
    ) -> dict[str, Any]:
        try:
            size = int(data.get("maxRows", 100))
        except (TypeError, ValueError):
            raise _Business("400", "maxRows must be a number") from None
        if not 1 <= size <= 1000:
            raise _Business("400", "maxRows must be between 1 and 1000")
        query = json.dumps({k: v for k, v in sorted(data.items()) if k not in ("cursor", "maxRows")})
        binding = hashlib.sha256(query.encode()).hexdigest()[:12]
        cursor = str(data.get("cursor") or "")
        offset = 0
        if cursor:
            position, _, bound = cursor.partition(".")
            if bound != binding or not position.isdigit():
                raise _Business("400", "invalid cursor for this query")
            offset = int(position)
        chunk = rows[offset : offset + size]
        more = offset + size < len(rows)
        return {
            "data": [render(row) for row in chunk],
            "hasNext": more,
            "nextCursor": f"{offset + size}.{binding}" if more else "",
            "total": str(len(rows)),
        }


def _answer(code: str, message: str, data: Any = None) -> Response:
    body: dict[str, Any] = {"code": int(code) if code == "200" else code, "message": message}
    if data is not None:
        body["data"] = data
    return JSONResponse(body, status_code=200)


def _window(data: dict[str, Any], field: str) -> tuple[dt.datetime, dt.datetime]:
    try:
        start = dt.datetime.strptime(str(data[f"{field}Start"]), "%Y-%m-%d %H:%M:%S").replace(tzinfo=GMT8)
        end = dt.datetime.strptime(str(data[f"{field}End"]), "%Y-%m-%d %H:%M:%S").replace(tzinfo=GMT8)
    except (KeyError, ValueError):
        raise _Business("400", f"{field}Start and {field}End must be 'yyyy-MM-dd HH:mm:ss'") from None
    if not start < end or end - start > _MAX_WINDOW:
        raise _Business("400", f"the {field} window must be positive and at most 31 days")
    return start, end
