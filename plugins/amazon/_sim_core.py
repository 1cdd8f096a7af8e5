"""The core of ``AmazonSimulator``: state, sellers, rate limits, the dialect of errors, LWA.

Routes live in ``_sim_sp`` (SP-API) and ``_sim_ads`` (Amazon Ads) as mixins of ``AmazonCore``;
``plugins.amazon.simulator`` puts them together and documents the whole.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import parse_qs

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
    route,
)

from ._sim_reports import Report
from ._sim_wire import AmazonShop, InventoryToken, OrderView, SellerAccount, dumps, parse_time, seconds

__all__ = ["DEFAULT_LIMITS", "AmazonCore", "Invalid", "page_size", "time_param"]

DEFAULT_LIMITS: dict[str, RateLimit] = {
    "getOrders": RateLimit(0.0167, 20),
    "getOrderItems": RateLimit(0.5, 30),
    "searchOrders": RateLimit(0.0056, 20),
    "getOrder": RateLimit(0.5, 30),
    "listFinancialEvents": RateLimit(0.5, 30),
    "getInventorySummaries": RateLimit(2, 2),
    "listProfiles": RateLimit(10, 10),
    "createReport": RateLimit(10, 10),
    "getReport": RateLimit(10, 10),
}
"""Rate (requests per simulated second) and burst per operation; SP-API ones are Amazon's defaults."""

_DENIED = "Access to requested resource is denied."
_TOKEN_DETAILS = {
    TokenRejection.MISSING: "Access token is missing in the request header.",
    TokenRejection.EXPIRED: "The access token you provided has expired.",
}
_dialect: contextvars.ContextVar[str] = contextvars.ContextVar("amazon_simulator_dialect", default="sp")


class Invalid(Exception):
    """A request parameter SP-API refuses with 400 InvalidInput."""


class AmazonCore(Simulator):
    """The simulator's state, dialect hooks, LWA and shared helpers; routes come in mixins."""

    name: ClassVar[str] = "amazon"
    base_paths: ClassVar[dict[str, str]] = {"lwa": "/lwa", "sp_api": "/sp", "ads": "/ads"}

    def __init__(
        self,
        world: SellerWorld,
        *,
        faults: FaultPlan | None = None,
        time_scale: float = 1.0,
        limits: dict[str, RateLimit] | None = None,
        clock: Callable[[], float] = time.monotonic,
        report_pending_polls: int = 2,
    ) -> None:
        unknown = sorted(set(limits or {}) - set(DEFAULT_LIMITS))
        if unknown:
            raise ValueError(f"no rate-limited operation named {unknown}; known: {sorted(DEFAULT_LIMITS)}")
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        tokens = TokenAuthority(
            clock=lambda: clock() * time_scale,
            access_ttl=3600.0,
            access_prefix="Atza|",
            refresh_prefix="Atzr|",
        )
        super().__init__(world=world, faults=faults, tokens=tokens, clock=clock, time_scale=time_scale)
        self.amazon_world = world
        self.report_pending_polls = report_pending_polls
        digest = hashlib.blake2b(f"amazon-lwa:{world.seed}".encode(), digest_size=32).hexdigest()
        self.client_id = "amzn1.application-oa2-client." + digest[:32]
        self.client_secret = "amzn1.oa2-cs.v1." + digest
        tokens.register_client(self.client_id, self.client_secret)
        self.shops = [AmazonShop.of(spec) for spec in world.shops if spec.platform == "amazon"]
        if not self.shops:
            raise ValueError("the world has no amazon shops to serve")
        self.sellers: dict[str, SellerAccount] = {}
        for shop in self.shops:
            seller = self.sellers.get(shop.seller_id)
            if seller is None:
                refresh = tokens.grant(self.client_id, shop.seller_id).refresh_token
                seller = self.sellers[shop.seller_id] = SellerAccount(
                    shop.seller_id, shop.marketplace.region, refresh
                )
            seller.shops[shop.marketplace.marketplace_id] = shop
        self._profiles = {shop.profile_id: shop for shop in self.shops}
        self._views: dict[tuple[str, str], OrderView] = {}
        self._inventory_tokens: dict[str, InventoryToken] = {}
        self.reports: dict[str, Report] = {}
        self.reports_created = 0
        """Ads reports created (a 425 for a duplicate request creates none)."""

    def credentials(self) -> dict[str, Any]:
        return {
            "lwa_client_id": self.client_id,
            "lwa_client_secret": self.client_secret,
            "sellers": [
                {
                    "seller_id": seller.seller_id,
                    "refresh_token": seller.refresh_token,
                    "region": seller.region,
                    "marketplaces": {mid: shop.shop_id for mid, shop in seller.shops.items()},
                    "ads_profile_id": next(iter(seller.shops.values())).profile_id,
                }
                for seller in self.sellers.values()
            ],
        }

    def seller_of(self, shop_id: str) -> SellerAccount:
        for seller in self.sellers.values():
            if any(shop.shop_id == shop_id for shop in seller.shops.values()):
                return seller
        raise KeyError(f"no amazon shop {shop_id!r} in this world")

    # -- dialect hooks ------------------------------------------------------------------------

    def _declared(self) -> dict[str, Endpoint]:
        # Per-instance limits: the routes declare Amazon's defaults, ``limits=`` overrides them.
        return {
            attr: replace(endpoint, rate_limit=self.limits.get(endpoint.name, endpoint.rate_limit))
            for attr, endpoint in super()._declared().items()
        }

    def _is_ads(self, request: Request) -> bool:
        return request.url.path.startswith(self.base_paths["ads"] + "/")

    def access_token(self, request: Request) -> str | None:
        if self._is_ads(request):
            return super().access_token(request)
        return request.headers.get("x-amz-access-token") or None

    def caller_key(self, request: Request) -> str:
        """The LWA app: all sellers of one app share its budgets, as Amazon's usage plans do.

        Also notes whether the request speaks SP-API or Ads, for the error hooks that follow.
        """
        _dialect.set("ads" if self._is_ads(request) else "sp")
        if request.url.path.startswith(self.base_paths["ads"] + "/download/"):
            # A report file is its own caller: a repeated "page" is the same file, never another.
            return f"download:{request.url.path}"
        token = self.access_token(request)
        principal = self.tokens.owner(token) if token else None
        return principal.client_id if principal else "anonymous"

    def rate_limited_response(self, retry_after: float | None) -> Response:
        if _dialect.get() == "ads":
            headers = {} if retry_after is None else {"Retry-After": str(max(1, math.ceil(retry_after)))}
            return JSONResponse({"code": "429", "details": "Too Many Requests"}, 429, headers=headers)
        error = {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}
        return self._sp_raw({"errors": [{**error, "details": ""}]}, 429)

    def server_error_response(self, status_code: int) -> Response:
        if _dialect.get() == "ads":
            return JSONResponse({"code": str(status_code), "details": "Internal Server Error"}, status_code)
        code = "InternalFailure" if status_code == 500 else "ServiceUnavailable"
        message = "We encountered an internal error. Please try again."
        return self._sp_raw({"errors": [{"code": code, "message": message, "details": ""}]}, status_code)

    def unauthorized_response(self, reason: TokenRejection) -> Response:
        if _dialect.get() == "ads":
            return JSONResponse({"code": "UNAUTHORIZED", "details": f"Not authorized: {reason}"}, 401)
        details = _TOKEN_DETAILS.get(
            reason, "The access token you provided is revoked, malformed or invalid."
        )
        return self._sp_raw(
            {"errors": [{"code": "Unauthorized", "message": _DENIED, "details": details}]}, 403
        )

    # -- LWA ----------------------------------------------------------------------------------

    @route("/lwa/auth/o2/token", methods=["POST"], name="lwaToken", faults=False)
    async def lwa_token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("latin-1")).items()}
        if form.get("grant_type") != "refresh_token":
            return _lwa_error("unsupported_grant_type", "grant_type must be refresh_token")
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not self.tokens.check_client(client_id, secret):
            return _lwa_error("invalid_grant", "The client credentials are invalid.")
        try:
            grant = self.tokens.refresh(
                form.get("refresh_token", ""), client_id=client_id, client_secret=secret
            )
        except TokenRefused as refused:
            return _lwa_error(
                "invalid_grant",
                f"The request has an invalid grant parameter: refresh_token ({refused.reason})",
            )
        body = {
            "access_token": grant.access_token,
            "token_type": "bearer",
            "expires_in": grant.expires_in,
            "refresh_token": grant.refresh_token,
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    # -- SP-API helpers ------------------------------------------------------------------------

    def _sp_raw(self, body: object, status: int, endpoint: str | None = None) -> Response:
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        if endpoint is not None and status in (200, 400, 404):
            headers["x-amzn-RateLimit-Limit"] = f"{self.limits[endpoint].rate:g}"
        return Response(dumps(body), status_code=status, media_type="application/json", headers=headers)

    def _sp_error(
        self, endpoint: str, message: str, status: int = 400, code: str = "InvalidInput"
    ) -> Response:
        return self._sp_raw({"errors": [{"code": code, "message": message}]}, status, endpoint)

    def _seller(self, request: Request) -> SellerAccount:
        principal = self.principal_of(request)
        seller = self.sellers.get(principal.subject)
        if seller is None or principal.client_id != self.client_id:
            raise Reject(self.unauthorized_response(TokenRejection.UNKNOWN))
        return seller

    def world_seconds(self) -> dt.datetime:
        return seconds(self.world_now())


def _lwa_error(error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, 400)


def page_size(text: str | None, default: int, name: str = "MaxResultsPerPage") -> int:
    """A page size parameter (``name``): 1 to 100, ``default`` when absent."""
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise Invalid(f"{name} must be between 1 and 100.")
    return int(text)


def time_param(query: Any, name: str) -> dt.datetime:
    """The ISO 8601 time of query parameter ``name``, in UTC."""
    try:
        return parse_time(query.get(name) or "")
    except ValueError:
        raise Invalid(f"{name} must be an ISO 8601 date-time.") from None
