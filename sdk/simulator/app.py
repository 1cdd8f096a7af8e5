"""The simulator base: a Starlette app with rate limits, fault injection and request accounting.

A platform simulator subclasses ``Simulator`` and declares its endpoints as async methods
marked with ``@route``; each answers one request with a Starlette ``Response``. Around every
handler the base class, in this order:

1. counts the request and notes its time (``stats``, for achieved-rate benchmarks);
2. takes a token from the bucket of (caller, endpoint) when the route has a ``RateLimit``,
   answering the platform's 429 (``rate_limited_response``) when the bucket is empty;
3. draws from the ``FaultPlan`` and plays the fault (429, 5xx, a late answer, a revoked
   token, records updated under the caller, a truncated or malformed body, a repeated page).

Hooks a platform overrides to speak its dialect: ``access_token`` (where the token travels),
``caller_key`` (whose budget a request spends), ``rate_limited_response``,
``server_error_response``, ``unauthorized_response`` and ``update_records``. A handler that
must refuse raises ``Reject(response)``; ``principal_of`` does so for a bad access token.

Time: buckets and stats run on ``clock() * time_scale`` (simulated seconds), so a test can run
a 1 request/minute budget in a second. ``Retry-After`` values handed to the 429 hook are real
seconds, since clients sleep on the wall clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sdk.http.ratelimit import RateBudgets, RateLimit

from .faults import FaultKind, FaultPlan
from .tokens import Principal, TokenAuthority, TokenRejection
from .world import SellerWorld

__all__ = ["Endpoint", "EndpointStats", "Reject", "Simulator", "route"]

Handler = Callable[[Request], Awaitable[Response]]
_F = TypeVar("_F", bound=Callable[..., Awaitable[Response]])
_MARK = "__simulator_endpoint__"
_PAGE_FAULTS = (FaultKind.TRUNCATED_JSON, FaultKind.MALFORMED_JSON, FaultKind.REPEAT_PAGE)


@dataclass(frozen=True)
class Endpoint:
    """One declared route: its name (the key of stats and buckets), path, methods and limits."""

    name: str
    path: str
    methods: tuple[str, ...] = ("GET",)
    rate_limit: RateLimit | None = None
    faults: bool = True
    """False for routes never faulted, typically the token endpoint."""


def route(
    path: str,
    *,
    methods: Sequence[str] = ("GET",),
    name: str | None = None,
    rate_limit: RateLimit | None = None,
    faults: bool = True,
) -> Callable[[_F], _F]:
    """Mark a ``Simulator`` method as the handler of ``path``; ``name`` defaults to the method's."""

    def mark(handler: _F) -> _F:
        endpoint = Endpoint(name or handler.__name__, path, tuple(methods), rate_limit, faults)
        vars(handler)[_MARK] = endpoint
        return handler

    return mark


class Reject(Exception):
    """Raised by a handler to answer with ``response`` (an auth or validation error) instead."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"rejected with HTTP {response.status_code}")
        self.response = response


@dataclass
class EndpointStats:
    """What one endpoint saw: requests, their (simulated) times, statuses, 429s and faults."""

    requests: int = 0
    throttled: int = 0
    """Requests refused because the caller's bucket was empty (not injected 429s)."""
    times: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[FaultKind] = field(default_factory=Counter)

    def achieved_rate(self) -> float | None:
        """Requests per second between the first and the last request, or None below two."""
        if len(self.times) < 2 or self.times[-1] <= self.times[0]:
            return None
        return (len(self.times) - 1) / (self.times[-1] - self.times[0])


@dataclass(frozen=True)
class _Page:
    status_code: int
    body: bytes
    raw_headers: list[tuple[bytes, bytes]]


class Simulator:
    """Base of platform simulators; see the module docstring for what it does around handlers.

    ``world`` is the seller world served, ``faults`` the fault plan (None for a clean run),
    ``tokens`` the auth server's memory. ``app`` is the ASGI app, ``transport()`` an
    in-process httpx transport to it.
    """

    name: ClassVar[str] = "simulator"
    base_paths: ClassVar[dict[str, str]] = {"api": ""}
    """Named base URLs (as path prefixes of the one origin) a connector is configured with."""

    def __init__(
        self,
        *,
        world: SellerWorld | None = None,
        faults: FaultPlan | None = None,
        tokens: TokenAuthority | None = None,
        clock: Callable[[], float] = time.monotonic,
        time_scale: float = 1.0,
    ) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, not {time_scale}")
        self.world = world
        self.faults = faults
        self.tokens = tokens or TokenAuthority()
        self.time_scale = time_scale
        self._clock = clock
        self.stats: dict[str, EndpointStats] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self._budgets = RateBudgets(clock=self.now)
        self._pages: dict[tuple[str, str], _Page] = {}
        routes = []
        for attr, endpoint in self._declared().items():
            if endpoint.name in self.endpoints:
                raise ValueError(f"{type(self).__name__}: two routes are named {endpoint.name!r}")
            self.endpoints[endpoint.name] = endpoint
            self.stats[endpoint.name] = EndpointStats()
            handler = self._wrap(endpoint, getattr(self, attr))
            routes.append(Route(endpoint.path, handler, methods=list(endpoint.methods), name=endpoint.name))
        self.app = Starlette(routes=routes)

    def now(self) -> float:
        """Simulated seconds: the injected clock sped up by ``time_scale``."""
        return self._clock() * self.time_scale

    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app)

    def base_urls(self, origin: str | None = None) -> dict[str, str]:
        """Each named base URL on ``origin`` (default: a made-up host for in-process use)."""
        origin = (origin or f"http://{self.name}.simulator").rstrip("/")
        return {name: origin + prefix for name, prefix in self.base_paths.items()}

    def credentials(self) -> dict[str, Any]:
        """What anyone calling this simulator needs (JSON-serialisable); platforms add theirs."""
        return {"clients": dict(self.tokens.clients)}

    @property
    def throttled(self) -> int:
        """429s from empty buckets over all endpoints; zero when a client keeps its budgets."""
        return sum(stats.throttled for stats in self.stats.values())

    def reset_stats(self) -> None:
        for name in self.stats:
            self.stats[name] = EndpointStats()

    # -- hooks a platform overrides ---------------------------------------------------------

    def access_token(self, request: Request) -> str | None:
        """The access token the request carries; by default an ``Authorization: Bearer`` one."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None

    def caller_key(self, request: Request) -> str:
        """Whose rate budget the request spends: by default the (app, seller) its token was issued to."""
        token = self.access_token(request)
        principal = self.tokens.owner(token) if token else None
        return f"{principal.client_id}/{principal.subject}" if principal else "anonymous"

    def principal_of(self, request: Request) -> Principal:
        """The principal of the request's access token, or ``Reject`` with the platform's answer."""
        token = self.access_token(request)
        principal = self.tokens.validate(token) if token else None
        if principal is None:
            raise Reject(self.unauthorized_response(self.tokens.rejection(token) or TokenRejection.UNKNOWN))
        return principal

    def rate_limited_response(self, retry_after: float | None) -> Response:
        """The platform's 429; ``retry_after`` in real seconds, None when it should not say."""
        headers = {} if retry_after is None else {"Retry-After": str(max(1, math.ceil(retry_after)))}
        return JSONResponse({"error": "rate_limited"}, status_code=429, headers=headers)

    def server_error_response(self, status_code: int) -> Response:
        return JSONResponse({"error": "server_error"}, status_code=status_code)

    def unauthorized_response(self, reason: TokenRejection) -> Response:
        return JSONResponse({"error": "unauthorized", "reason": str(reason)}, status_code=401)

    def update_records(self) -> None:
        """Called by an ``update_records`` fault: by default moves some of the world's orders on."""
        if self.world is not None:
            fraction = self.faults.update_fraction if self.faults else 0.02
            self.world.update_orders(fraction, at=self.world_now())

    def world_now(self) -> dt.datetime:
        """The time changes to the world happen at: now, but never before the world's ``as_of``."""
        now = dt.datetime.now(dt.UTC)
        return max(now, self.world.as_of) if self.world is not None else now

    # -- machinery ----------------------------------------------------------------------------

    def _declared(self) -> dict[str, Endpoint]:
        # A subclass overriding a handler without @route keeps the route and runs the override.
        found: dict[str, Endpoint] = {}
        for klass in reversed(type(self).__mro__):
            for attr, value in vars(klass).items():
                endpoint = getattr(value, _MARK, None)
                if isinstance(endpoint, Endpoint):
                    found[attr] = endpoint
        return found

    def _wrap(self, endpoint: Endpoint, handler: Handler) -> Handler:
        stats = self.stats[endpoint.name]

        async def handle(request: Request) -> Response:
            stats.requests += 1
            stats.times.append(self.now())
            response = await self._dispatch(endpoint, handler, request, stats)
            stats.statuses[response.status_code] += 1
            return response

        return handle

    async def _dispatch(
        self, endpoint: Endpoint, handler: Handler, request: Request, stats: EndpointStats
    ) -> Response:
        caller = self.caller_key(request)
        if endpoint.rate_limit is not None:
            wait = self._budgets.bucket(caller, endpoint.name, endpoint.rate_limit).try_take()
            if wait > 0:
                stats.throttled += 1
                return self.rate_limited_response(wait / self.time_scale)
        fault = None
        if self.faults is not None and endpoint.faults and self.faults.applies_to(request.url.path):
            fault = self.faults.draw(f"{endpoint.name}|{caller}")
        if fault is not None:
            stats.faults[fault] += 1
            early = await self._before(fault, request, stats)
            if early is not None:
                return early
        try:
            response = await handler(request)
        except Reject as rejected:
            response = rejected.response
        key = (caller, endpoint.name)
        if fault in _PAGE_FAULTS:
            return self._after(fault, response, key, stats)
        body = getattr(response, "body", None)
        if response.status_code == 200 and isinstance(body, bytes):
            self._pages[key] = _Page(200, body, list(response.raw_headers))
        return response

    async def _before(self, fault: FaultKind, request: Request, stats: EndpointStats) -> Response | None:
        assert self.faults is not None
        match fault:
            case FaultKind.RATE_LIMIT_429:
                return self.rate_limited_response(self.faults.retry_after)
            case FaultKind.RATE_LIMIT_429_NO_RETRY_AFTER:
                return self.rate_limited_response(None)
            case FaultKind.SERVER_500:
                return self.server_error_response(500)
            case FaultKind.SERVER_503:
                return self.server_error_response(503)
            case FaultKind.READ_TIMEOUT:
                await asyncio.sleep(self.faults.timeout_seconds)
            case FaultKind.TOKEN_REVOKED:
                token = self.access_token(request)
                if token is None:
                    self._unplayed(fault, stats)
                else:
                    self.tokens.revoke_access(token)
            case FaultKind.UPDATE_RECORDS:
                self.update_records()
        return None

    def _after(
        self, fault: FaultKind, response: Response, key: tuple[str, str], stats: EndpointStats
    ) -> Response:
        body = getattr(response, "body", None)
        if response.status_code != 200 or not isinstance(body, bytes):
            self._unplayed(fault, stats)
            return response
        if fault is FaultKind.TRUNCATED_JSON:
            return _with_body(response.status_code, response.raw_headers, body[: len(body) // 2])
        if fault is FaultKind.MALFORMED_JSON:
            broken = body.rstrip()
            broken = broken[:-1] + b",," + broken[-1:] if broken[-1:] in (b"}", b"]") else b"{" + broken
            return _with_body(response.status_code, response.raw_headers, broken)
        previous = self._pages.get(key)
        self._pages[key] = _Page(200, body, list(response.raw_headers))
        if previous is None:
            self._unplayed(fault, stats)
            return response
        return _with_body(previous.status_code, previous.raw_headers, previous.body)

    def _unplayed(self, fault: FaultKind, stats: EndpointStats) -> None:
        assert self.faults is not None
        self.faults.skip(fault)
        stats.faults[fault] -= 1
        if stats.faults[fault] <= 0:
            del stats.faults[fault]


def _with_body(status_code: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> Response:
    response = Response(content=body, status_code=status_code)
    kept = [(name, value) for name, value in raw_headers if name.lower() != b"content-length"]
    response.raw_headers = [*kept, (b"content-length", str(len(body)).encode("latin-1"))]
    return response
