"""The simulator base: rate limits per caller and endpoint, 429 hooks, faults played, accounting."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import ClassVar

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sdk.http.ratelimit import RateLimit
from sdk.simulator import (
    FaultKind,
    FaultPlan,
    Reject,
    SellerWorld,
    Simulator,
    TokenRefused,
    TokenRejection,
    route,
)

RATE, BURST = 2.0, 3


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Toy(Simulator):
    """One token route and one rate-limited, paged route over ten items."""

    name = "toy"
    base_paths: ClassVar[dict[str, str]] = {"api": "", "auth": "/auth"}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tokens.register_client("app", "secret")

    def credentials(self):
        return {**super().credentials(), "sellers": ["seller-1", "seller-2"]}

    @route("/auth/token", methods=["POST"], faults=False)
    async def token(self, request: Request) -> Response:
        form = await request.json()
        try:
            grant = self.tokens.refresh(
                form["refresh_token"], client_id=form["client_id"], client_secret=form["client_secret"]
            )
        except TokenRefused as refused:
            raise Reject(JSONResponse({"error": "invalid_grant", "reason": refused.reason}, 400)) from None
        return JSONResponse({"access_token": grant.access_token, "expires_in": grant.expires_in})

    @route("/items", rate_limit=RateLimit(RATE, BURST))
    async def items(self, request: Request) -> Response:
        principal = self.principal_of(request)
        page = int(request.query_params.get("page", "0"))
        return JSONResponse(
            {"seller": principal.subject, "page": page, "items": list(range(page * 5, page * 5 + 5))}
        )


class AmazonLike(Toy):
    def rate_limited_response(self, retry_after: float | None) -> Response:
        error = {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}
        return JSONResponse({"errors": [{**error, "details": ""}]}, status_code=429)


def call(sim, *requests, token=None):
    """Send (method, path, kwargs) requests in order through the in-process transport."""

    async def send():
        headers = {"authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(
            transport=sim.transport(), base_url=sim.base_urls()["api"], headers=headers
        ) as c:
            return [await c.request(method, path, **kwargs) for method, path, kwargs in requests]

    return asyncio.run(send())


def gets(sim, n, token, path="/items"):
    return call(sim, *[("GET", path, {})] * n, token=token)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sim(clock):
    return Toy(clock=clock)


def access(sim, seller="seller-1"):
    return sim.tokens.grant("app", seller).access_token


def test_requests_over_the_burst_get_exactly_the_expected_429s(sim, clock):
    token = access(sim)
    statuses = [r.status_code for r in gets(sim, BURST + 4, token)]
    assert statuses == [200] * BURST + [429] * 4
    assert sim.stats["items"].throttled == 4 and sim.throttled == 4
    clock.now += 1 / RATE
    assert [r.status_code for r in gets(sim, 2, token)] == [200, 429]
    clock.now += 10 / RATE
    assert [r.status_code for r in gets(sim, BURST + 1, token)] == [200] * BURST + [429]
    assert sim.stats["items"].requests == BURST + 4 + 2 + BURST + 1
    assert sim.stats["items"].statuses == {200: 2 * BURST + 1, 429: 6}


def test_429_says_how_long_to_wait_in_real_seconds(clock):
    sim = Toy(clock=clock, time_scale=10.0)
    token = access(sim)
    responses = gets(sim, BURST + 1, token)
    assert responses[-1].status_code == 429
    assert responses[-1].headers["retry-after"] == "1"  # 0.5 simulated s = 0.05 real s, rounded up
    clock.now += 0.05  # real seconds: half a simulated second at time_scale 10
    assert [r.status_code for r in gets(sim, 2, token)] == [200, 429]


def test_each_caller_has_its_own_bucket(sim):
    first, second = access(sim, "seller-1"), access(sim, "seller-2")
    assert [r.status_code for r in gets(sim, BURST + 1, first)] == [200] * BURST + [429]
    assert [r.status_code for r in gets(sim, BURST, second)] == [200] * BURST


def test_the_platform_shapes_its_own_429(clock):
    sim = AmazonLike(clock=clock, faults=FaultPlan(1, {FaultKind.RATE_LIMIT_429: 0.0}))
    token = access(sim)
    last = gets(sim, BURST + 1, token)[-1]
    assert last.status_code == 429 and "retry-after" not in last.headers
    assert last.json()["errors"][0]["code"] == "QuotaExceeded"


def test_buckets_run_on_the_wall_clock_by_default():
    class Quick(Toy):
        @route("/quick", rate_limit=RateLimit(20.0, 1))
        async def quick(self, request: Request) -> Response:
            return JSONResponse({"ok": True})

    sim = Quick()
    token = access(sim)
    assert [r.status_code for r in gets(sim, 2, token, "/quick")] == [200, 429]
    time.sleep(1 / 20 + 0.01)
    assert [r.status_code for r in gets(sim, 1, token, "/quick")] == [200]


def test_stats_give_the_achieved_rate(sim, clock):
    token = access(sim)
    for _ in range(3):
        gets(sim, 1, token)
        clock.now += 0.5
    assert sim.stats["items"].times == [1000.0, 1000.5, 1001.0]
    assert sim.stats["items"].achieved_rate() == pytest.approx(2.0)
    sim.reset_stats()
    assert sim.stats["items"].requests == 0 and sim.stats["items"].achieved_rate() is None


def test_bad_tokens_get_the_unauthorized_answer_with_the_reason(sim):
    token = access(sim)
    sim.tokens.revoke_access(token)
    (revoked,) = gets(sim, 1, token)
    (missing,) = gets(sim, 1, None)
    assert (revoked.status_code, revoked.json()["reason"]) == (401, "revoked")
    assert (missing.status_code, missing.json()["reason"]) == (401, "missing")


def test_token_route_refreshes_and_refuses(sim):
    grant = sim.tokens.grant("app", "seller-1")
    body = {"refresh_token": grant.refresh_token, "client_id": "app", "client_secret": "secret"}
    ok, bad = call(
        sim,
        ("POST", "/auth/token", {"json": body}),
        ("POST", "/auth/token", {"json": {**body, "client_secret": "wrong"}}),
    )
    assert ok.status_code == 200 and sim.tokens.validate(ok.json()["access_token"])
    assert bad.status_code == 400 and bad.json()["reason"] == TokenRejection.WRONG_CLIENT


def test_declaration_base_urls_and_credentials(sim):
    assert set(sim.endpoints) == {"token", "items"}
    assert sim.endpoints["items"].rate_limit == RateLimit(RATE, BURST)
    assert sim.base_urls("http://127.0.0.1:9/") == {
        "api": "http://127.0.0.1:9",
        "auth": "http://127.0.0.1:9/auth",
    }
    assert sim.credentials() == {"clients": {"app": "secret"}, "sellers": ["seller-1", "seller-2"]}
    json.dumps(sim.credentials())


def test_two_routes_of_one_name_are_refused():
    class Twice(Toy):
        @route("/other", name="items")
        async def other(self, request: Request) -> Response:
            return JSONResponse({})

    with pytest.raises(ValueError, match="items"):
        Twice()


def faulty(kind, clock, **plan):
    return Toy(clock=clock, faults=FaultPlan(5, {kind: 1.0}, **plan))


@pytest.mark.parametrize(
    ("kind", "status", "retry_after"),
    [
        (FaultKind.RATE_LIMIT_429, 429, "3"),
        (FaultKind.RATE_LIMIT_429_NO_RETRY_AFTER, 429, None),
        (FaultKind.SERVER_500, 500, None),
        (FaultKind.SERVER_503, 503, None),
    ],
)
def test_error_faults_answer_before_the_handler(kind, status, retry_after, clock):
    sim = faulty(kind, clock, retry_after=2.5)
    (response,) = gets(sim, 1, access(sim))
    assert response.status_code == status
    assert response.headers.get("retry-after") == retry_after
    assert sim.faults.injected == {kind: 1} and sim.stats["items"].faults == {kind: 1}
    assert sim.throttled == 0, "injected 429s are not budget 429s"


def test_truncated_and_malformed_bodies_are_200s_that_do_not_parse(clock):
    token_sim = faulty(FaultKind.TRUNCATED_JSON, clock)
    (cut,) = gets(token_sim, 1, access(token_sim))
    whole = json.dumps({"seller": "seller-1", "page": 0, "items": [0, 1, 2, 3, 4]}, separators=(",", ":"))
    assert cut.status_code == 200
    assert cut.content == whole.encode()[: len(whole) // 2]
    assert int(cut.headers["content-length"]) == len(cut.content)
    bad_sim = faulty(FaultKind.MALFORMED_JSON, clock)
    (bad,) = gets(bad_sim, 1, access(bad_sim))
    assert bad.status_code == 200
    for response in (cut, bad):
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)


def test_repeat_page_serves_the_previous_page_again(clock):
    sim = faulty(FaultKind.REPEAT_PAGE, clock)
    token = access(sim)
    first, second = call(
        sim,
        ("GET", "/items", {"params": {"page": 0}}),
        ("GET", "/items", {"params": {"page": 1}}),
        token=token,
    )
    assert first.json()["page"] == 0, "a first page has nothing to repeat"
    assert second.json() == first.json()
    assert sim.faults.injected == {FaultKind.REPEAT_PAGE: 1}


def test_token_revoked_fault_revokes_the_callers_token(clock):
    sim = faulty(FaultKind.TOKEN_REVOKED, clock)
    token = access(sim)
    (response,) = gets(sim, 1, token)
    assert response.status_code == 401
    assert sim.tokens.rejection(token) is TokenRejection.REVOKED


def test_update_records_fault_moves_the_world_on(clock):
    world = SellerWorld.generate(2, shops=1, days=10, start=dt.date(2025, 5, 1), skus=5)
    sim = Toy(
        clock=clock, world=world, faults=FaultPlan(5, {FaultKind.UPDATE_RECORDS: 1.0}, update_fraction=0.5)
    )
    before = {o.order_id: o.updated_at for o in world.orders()}
    (response,) = gets(sim, 1, access(sim))
    assert response.status_code == 200
    moved = [o for o in world.orders() if o.updated_at != before[o.order_id]]
    assert moved and all(o.updated_at > world.as_of for o in moved)


def test_read_timeout_answers_late(clock):
    sim = faulty(FaultKind.READ_TIMEOUT, clock, timeout_seconds=0.2)
    began = time.perf_counter()
    (response,) = gets(sim, 1, access(sim))
    assert time.perf_counter() - began >= 0.2
    assert response.status_code == 200


def test_unfaulted_routes_and_excluded_paths_are_spared(clock):
    sim = faulty(FaultKind.SERVER_500, clock, exclude=["/item*"])
    grant = sim.tokens.grant("app", "seller-1")
    body = {"refresh_token": grant.refresh_token, "client_id": "app", "client_secret": "secret"}
    token_response, items_response = call(
        sim, ("POST", "/auth/token", {"json": body}), ("GET", "/items", {}), token=grant.access_token
    )
    assert (token_response.status_code, items_response.status_code) == (200, 200)
    assert sim.faults.draws == 0


def test_a_subclass_override_keeps_the_route(clock):
    class Override(Toy):
        async def items(self, request: Request) -> Response:
            return JSONResponse({"overridden": True})

    sim = Override(clock=clock)
    (response,) = gets(sim, 1, access(sim))
    assert response.json() == {"overridden": True}
    assert sim.stats["items"].requests == 1


def test_a_rejected_token_is_counted_once_per_request(sim):
    gets(sim, 1, "made-up")
    assert sim.tokens.rejected == {TokenRejection.UNKNOWN: 1}
