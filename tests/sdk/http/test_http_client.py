"""The HTTP toolkit against scripted transports: budgets, auth refresh, retries, error translation."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time

import httpx
import pytest

from sdk import ConfigError, CredentialError, RateLimited, TerminalError, UpstreamUnavailable
from sdk.http import (
    ApiClient,
    HeaderToken,
    OAuthRefresh,
    RateBudgets,
    RateLimit,
    RetryPolicy,
    parse_retry_after,
)

FAST = RateLimit(rate=1000, burst=100)


class Script:
    """A transport answering from a list of (status, headers, body) in order, recording requests."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, headers, body = self.answers.pop(0)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(
            status, headers={"content-type": "application/json", **headers}, content=content
        )


def client(script, *, sleeps=None, **kwargs):
    async def sleep(seconds):
        (sleeps if sleeps is not None else []).append(seconds)

    kwargs.setdefault("auth", HeaderToken("tok-SECRET-1"))
    return ApiClient(
        "https://api.example.test",
        app="app-1",
        budgets=kwargs.pop("budgets", RateBudgets()),
        limits={"orders": FAST},
        transport=httpx.MockTransport(script),
        retry=RetryPolicy(attempts=4, initial=0.5, maximum=8, jitter=0),
        sleep=sleep,
        **kwargs,
    )


def call(api, **kwargs):
    async def go():
        try:
            return await api.request("GET", "/orders", endpoint="orders", **kwargs)
        finally:
            await api.aclose()

    return asyncio.run(go())


def test_429_honours_retry_after_then_succeeds():
    script = Script(
        (429, {"retry-after": "7"}, {"errors": [{"code": "QuotaExceeded"}]}), (200, {}, {"ok": 1})
    )
    sleeps = []
    api = client(script, sleeps=sleeps)
    _, body = call(api)
    assert body == {"ok": 1}
    assert sleeps == [7.0]
    assert api.stats["retry:RateLimited"] == 1


def test_retry_after_as_http_date():
    later = email.utils.format_datetime(
        __import__("datetime").datetime.fromtimestamp(1_000_030, tz=__import__("datetime").UTC), usegmt=True
    )
    assert parse_retry_after(later, now=1_000_000) == pytest.approx(30)
    assert parse_retry_after("not a date") is None
    assert parse_retry_after("2.5") == 2.5


def test_server_errors_back_off_exponentially_then_give_up():
    script = Script(*[(503, {}, {"message": "busy"})] * 4)
    sleeps = []
    api = client(script, sleeps=sleeps)
    with pytest.raises(UpstreamUnavailable, match="HTTP 503"):
        call(api)
    assert len(script.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0], "exponential backoff from 0.5 s"


def test_truncated_json_is_transient():
    script = Script((200, {}, b'{"orders": [{"id": 1'), (200, {}, {"orders": []}))
    api = client(script)
    assert call(api)[1] == {"orders": []}
    assert api.stats["retry:UpstreamUnavailable"] == 1


def test_bad_request_is_terminal_and_not_retried():
    script = Script((400, {}, {"errors": [{"code": "InvalidInput", "message": "Invalid Input"}]}))
    with pytest.raises(TerminalError, match="InvalidInput: Invalid Input"):
        call(client(script))
    assert len(script.requests) == 1


def test_timeouts_and_connection_errors_are_retried():
    attempts = []

    def flaky(request):
        attempts.append(request)
        if len(attempts) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        if len(attempts) == 2:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"ok": True})

    api = client(flaky)
    assert call(api)[1] == {"ok": True}
    assert (api.stats["retry:UpstreamTimeout"], api.stats["retry:UpstreamUnavailable"]) == (1, 1)


def test_business_error_in_a_200_body_through_the_classify_hook():
    def classify(response, body):
        if isinstance(body, dict) and body.get("error") == "error_server":
            return UpstreamUnavailable("platform busy")
        if isinstance(body, dict) and body.get("error") == "error_param":
            return ConfigError("bad parameter")
        return None

    script = Script((200, {}, {"error": "error_server"}), (200, {}, {"error": "", "response": 1}))
    assert call(client(script, classify=classify))[1]["response"] == 1
    with pytest.raises(ConfigError):
        call(client(Script((200, {}, {"error": "error_param"})), classify=classify))


class TokenEndpoint:
    """An LWA-like token endpoint plus an API that accepts only the newest token."""

    def __init__(self, persisted):
        self.issued = 0
        self.current = "Atza-0"
        self.persisted = persisted
        self.used_before_persisted = []

    def __call__(self, request):
        if request.url.path == "/auth/o2/token":
            form = dict(httpx.QueryParams(request.content.decode()))
            if form["refresh_token"] == "revoked":
                return httpx.Response(400, json={"error": "invalid_grant", "error_description": "revoked"})
            self.issued += 1
            self.current = f"Atza-{self.issued}"
            return httpx.Response(
                200,
                json={
                    "access_token": self.current,
                    "expires_in": 3600,
                    "refresh_token": f"Atzr-{self.issued}",
                },
            )
        token = request.headers.get("x-amz-access-token")
        if token not in self.persisted:
            self.used_before_persisted.append(token)
        if token != self.current:
            return httpx.Response(403, json={"errors": [{"code": "Unauthorized", "message": "expired"}]})
        return httpx.Response(200, json={"ok": token})


def _oauth(refresh_token="Atzr-0", persisted=None):
    async def persist(tokens):
        persisted.append(tokens.access_token)

    return OAuthRefresh(
        token_url="https://api.example.test/auth/o2/token",
        client_id="amzn1.app",
        client_secret="cs-SECRET",
        refresh_token=refresh_token,
        access_token="Atza-0",
        expires_at=time.time() + 3600,
        header="x-amz-access-token",
        scheme=None,
        persist=persist,
    )


def test_expired_token_is_refreshed_once_persisted_first_then_retried():
    persisted = ["Atza-0"]
    endpoint = TokenEndpoint(persisted)
    endpoint.current = "Atza-revoked-server-side"  # the platform revoked the token mid-sync
    auth = _oauth(persisted=persisted)
    api = client(endpoint, auth=auth)
    _, body = call(api)
    assert body == {"ok": "Atza-1"}
    assert auth.refreshes == 1 and auth.refresh_token == "Atzr-1"
    assert endpoint.used_before_persisted == [], "a new token is stored before it is used"


def test_revoked_refresh_token_is_a_clear_credential_error():
    persisted = []
    endpoint = TokenEndpoint(persisted)
    endpoint.current = "Atza-other"
    api = client(endpoint, auth=_oauth(refresh_token="revoked", persisted=persisted))
    with pytest.raises(CredentialError, match="refresh token was refused"):
        call(api)


def test_rate_header_adjusts_the_budget():
    budgets = RateBudgets()
    script = Script((200, {"x-amzn-RateLimit-Limit": "2.5"}, {}))
    call(client(script, budgets=budgets, rate_header="x-amzn-RateLimit-Limit"))
    assert budgets.bucket("app-1", "orders", FAST).limit.rate == 2.5


def test_429_drains_the_budget_so_others_slow_down_too():
    budgets = RateBudgets()
    script = Script((429, {}, {}), (200, {}, {}))
    call(client(script, budgets=budgets))
    bucket = budgets.bucket("app-1", "orders", FAST)
    assert bucket.try_take(FAST.burst) > 0, "the bucket was emptied by the 429"


def test_secrets_never_reach_logs_or_errors(caplog):
    caplog.set_level(logging.DEBUG, logger="kpihub.http")
    script = Script((500, {}, {"message": "token tok-SECRET-1 rejected"}), *[(500, {}, {})] * 3)

    async def go():
        api = client(script)
        try:
            await api.request(
                "GET",
                "/orders",
                endpoint="orders",
                params={"access_token": "tok-SECRET-1", "sign": "abcd1234"},
            )
        finally:
            await api.aclose()

    with pytest.raises(UpstreamUnavailable) as raised:
        asyncio.run(go())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "access_token=%2A%2A%2A" in logged or "access_token=***" in logged
    for text in (logged, str(raised.value)):
        assert "tok-SECRET-1" not in text and "abcd1234" not in text


def test_undeclared_endpoint_is_a_config_error():
    async def go():
        api = client(Script())
        try:
            await api.request("GET", "/x", endpoint="unknown")
        finally:
            await api.aclose()

    with pytest.raises(ConfigError, match="no rate limit"):
        asyncio.run(go())


def test_rate_limited_error_carries_retry_after():
    script = Script(*[(429, {"retry-after": "3"}, {})] * 4)
    with pytest.raises(RateLimited) as raised:
        call(client(script))
    assert raised.value.retry_after == 3.0


def test_httpx_request_log_lines_carry_no_query_secrets(caplog):
    # httpx logs each request's full URL at INFO; platforms that sign in the query string put
    # keys, tokens and signatures there.
    url = (
        "https://open-api.example/api?app_key=AK-visible-1&access_token=TK-visible-2&sign=SG-visible-3&page=2"
    )

    async def fetch() -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get(url)

    with caplog.at_level(logging.INFO, logger="httpx"):
        asyncio.run(fetch())
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name == "httpx")
    assert "HTTP Request: GET" in logged
    assert "page=2" in logged
    for secret in ("AK-visible-1", "TK-visible-2", "SG-visible-3"):
        assert secret not in logged


def test_a_body_the_auth_check_reads_is_parsed_once(monkeypatch):
    """An auth check that reads the body (as TikTok's and Shopee's do) and the client share one parse."""
    from sdk.http import response_json

    class BodyCodeAuth(HeaderToken):
        def is_auth_failure(self, response):
            return response_json(response).get("code") == 105002

    from sdk.http import body as body_module

    parses = []
    original = body_module.loads

    def counting(content):
        parses.append(content)
        return original(content)

    monkeypatch.setattr(body_module, "loads", counting)
    script = Script((200, {}, {"code": 0, "data": {"orders": [1, 2]}}), (200, {}, {"code": 0, "data": {}}))
    api = client(script, auth=BodyCodeAuth("tok-SECRET-1"))
    _, body = call(api)
    assert body == {"code": 0, "data": {"orders": [1, 2]}}
    assert len(parses) == 1 and len(script.requests) == 1
