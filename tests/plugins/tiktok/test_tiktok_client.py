"""The TikTok client: error codes, tokens (ahead of expiry, after 105xxx, from an auth code), limits."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import time

import httpx
import pytest

from plugins.tiktok import TikTokSource
from plugins.tiktok.client import TOKEN_REFRESH_LEEWAY, TikTokClient, classify
from plugins.tiktok.simulator import TikTokSimulator
from sdk import (
    ConfigError,
    CredentialError,
    RateLimited,
    SourceContext,
    TerminalError,
    UpstreamUnavailable,
)
from sdk.http import RateBudgets, RateLimit
from sdk.simulator import SellerWorld

FAST = RateLimit(2000, 50)


def _response(status, body):
    request = httpx.Request("POST", "https://open-api.tiktokglobalshop.com/order/202309/orders/search")
    return httpx.Response(status, json=body, request=request)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (200, 0, None),
        (429, 36009002, RateLimited),
        (200, 36009002, RateLimited),
        (500, 36009003, UpstreamUnavailable),
        (200, 36009003, UpstreamUnavailable),
        (503, 99999999, UpstreamUnavailable),
        (401, 105001, CredentialError),
        (401, 105002, CredentialError),
        (200, 105005, CredentialError),
        (401, 106001, CredentialError),
        (400, 106013, ConfigError),
        (400, 36009004, TerminalError),
        (404, 36009009, TerminalError),
    ],
)
def test_every_documented_code_maps_to_its_error_class(status, code, expected):
    found = classify(_response(status, {}), {"code": code, "message": "m", "request_id": "R1", "data": {}})
    if expected is None:
        assert found is None
    else:
        assert type(found) is expected, found
        assert f"code {code}" in str(found) and "R1" in str(found)
        assert found.transient is (expected in (RateLimited, UpstreamUnavailable))


def test_an_answer_without_an_envelope_is_transient():
    assert isinstance(classify(_response(200, {}), {"data": {}}), UpstreamUnavailable)
    assert isinstance(classify(_response(200, {}), b"<html>"), UpstreamUnavailable)


def _world():
    return SellerWorld.generate(4, shops=2, days=3, start=dt.date(2026, 9, 1), platforms=("tiktok",))


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self, inner, events, answer=None):
        self.inner, self.events, self.answer = inner, events, answer

    async def handle_async_request(self, request):
        self.events.append(request.url.path)
        if self.answer is not None and not request.url.path.startswith("/auth/"):
            return httpx.Response(200, json=self.answer)
        return await self.inner.handle_async_request(request)


def _source(sim, events, *, answer=None, clock=time.time, **credentials):
    creds = sim.credentials()
    [seller] = creds["sellers"]
    saved = []

    async def save(updated):
        events.append("saved")
        saved.append(updated)

    urls = sim.base_urls()
    source = TikTokSource(
        TikTokSource.Options(shops=seller["shops"], api_url=urls["api"], auth_url=urls["auth"]),
        TikTokSource.Credentials(app_key=creds["app_key"], app_secret=creds["app_secret"], **credentials),
        SourceContext("c", save_credentials=save, transport=Recorder(sim.transport(), events, answer)),
    )
    source.__dict__["client"] = TikTokClient(
        source, source.options, source.credentials, budgets=RateBudgets(), clock=clock
    )
    return source, saved


def _run(source, coroutine_factory):
    async def go():
        try:
            return await coroutine_factory()
        finally:
            await source.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize(("left", "refreshed"), [(TOKEN_REFRESH_LEEWAY / 2, True), (2 * 86400, False)])
def test_the_access_token_is_renewed_ahead_of_its_expiry(left, refreshed):
    sim = TikTokSimulator(_world(), rate_limit=FAST)
    refresh = sim.credentials()["sellers"][0]["refresh_token"]
    granted = sim.tokens.refresh(refresh, client_id=sim.app_key)
    events = []
    source, saved = _source(
        sim,
        events,
        refresh_token=refresh,
        access_token=granted.access_token,
        access_expires_at=int(time.time() + left),
    )

    _run(source, source.check)

    assert (sim.stats["tokenRefresh"].requests == 1) is refreshed
    if refreshed:
        assert events.index("saved") < events.index("/authorization/202309/shops"), "persisted before use"
        [new] = saved
        assert new.access_expires_at > time.time() + 6 * 86400, "TikTok's expiry is a Unix timestamp"
        assert new.access_token.get_secret_value() != granted.access_token


def test_a_revoked_token_is_refreshed_once_and_the_call_retried():
    sim = TikTokSimulator(_world(), rate_limit=FAST)
    refresh = sim.credentials()["sellers"][0]["refresh_token"]
    granted = sim.tokens.refresh(refresh, client_id=sim.app_key)
    sim.tokens.revoke_access(granted.access_token)
    events = []
    source, _ = _source(
        sim, events, refresh_token=refresh, access_token=granted.access_token, access_expires_at=2**31
    )

    _run(source, source.check)

    assert events == [
        "/authorization/202309/shops",
        "/auth/api/v2/token/refresh",
        "saved",
        "/authorization/202309/shops",
    ]
    assert source.stats()["token_refreshes"] == 1


def test_a_token_code_that_survives_a_refresh_fails_terminally():
    sim = TikTokSimulator(_world(), rate_limit=FAST)
    refresh = sim.credentials()["sellers"][0]["refresh_token"]
    events = []
    scope_missing = {
        "code": 105005,
        "message": "Access denied: missing scope",
        "request_id": "R9",
        "data": {},
    }
    source, _ = _source(sim, events, answer=scope_missing, refresh_token=refresh)

    with pytest.raises(CredentialError, match=r"105005.*authorise the app again"):
        _run(source, source.check)
    assert events.count("/auth/api/v2/token/refresh") == 2, "one token at start, one refresh after 105005"
    assert events.count("/authorization/202309/shops") == 2, "the call was retried once, then given up"


def test_a_refused_refresh_token_is_a_credential_error_without_secrets():
    sim = TikTokSimulator(_world(), rate_limit=FAST)
    refresh = sim.credentials()["sellers"][0]["refresh_token"]
    sim.tokens.revoke_refresh(refresh)
    source, _ = _source(sim, [], refresh_token=refresh)

    with pytest.raises(CredentialError, match="refused the refresh token") as raised:
        _run(source, source.check)
    assert refresh not in str(raised.value) and sim.app_secret not in str(raised.value)


def test_an_auth_code_is_exchanged_once_and_the_tokens_persisted_before_use():
    sim = TikTokSimulator(_world(), rate_limit=FAST)
    open_id = sim.credentials()["sellers"][0]["open_id"]
    code = sim.auth_code(open_id)
    events = []
    source, saved = _source(sim, events, auth_code=code)

    _run(source, source.check)

    assert events[:3] == ["/auth/api/v2/token/get", "saved", "/authorization/202309/shops"]
    [stored] = saved
    assert stored.auth_code is None and stored.refresh_token is not None
    assert sim.tokens.refresh(stored.refresh_token.get_secret_value(), client_id=sim.app_key)
    again, _ = _source(sim, [], auth_code=code)
    with pytest.raises(CredentialError, match="refused the auth code"):
        _run(again, again.check)


def _call(source, path, *, params=None, body=None, method="POST"):
    return _run(
        source,
        lambda: source.client.call(
            method, path, endpoint="test", params=params, body=json.dumps(body).encode() if body else None
        ),
    )


@pytest.mark.parametrize(
    ("path", "params", "body", "error", "says"),
    [
        (
            "/order/202309/orders/search",
            {"page_size": 101},
            {},
            TerminalError,
            "page_size must be between 1 and 100",
        ),
        ("/order/202309/orders/search", {}, {}, TerminalError, "page_size"),
        ("/return_refund/202309/returns/search", {"page_size": 9}, {}, TerminalError, "between 10 and 50"),
        (
            "/order/202309/orders/search",
            {"page_size": 10},
            {"update_time_ge": 200, "update_time_lt": 100},
            TerminalError,
            "update_time_ge must be earlier",
        ),
        (
            "/order/202309/orders/search",
            {"page_size": 10, "page_token": "bm9wZQ"},
            {},
            TerminalError,
            "page_token",
        ),
    ],
)
def test_the_simulator_enforces_page_sizes_windows_and_tokens(path, params, body, error, says):
    sim = TikTokSimulator(_world(), rate_limit=FAST)
    seller = sim.credentials()["sellers"][0]
    source, _ = _source(sim, [], refresh_token=seller["refresh_token"])
    params = {**params, "shop_cipher": seller["shops"][0]["cipher"]}

    with pytest.raises(error, match="36009004") as raised:
        _call(source, path, params=params, body=body)
    assert says in str(raised.value) and type(raised.value) is error


def test_shop_cipher_is_required_on_shop_paths_and_refused_elsewhere():
    sim = TikTokSimulator(_world(), rate_limit=FAST)
    seller = sim.credentials()["sellers"][0]
    source, _ = _source(sim, [], refresh_token=seller["refresh_token"])
    with pytest.raises(ConfigError, match="106013"):
        _call(source, "/order/202309/orders/search", params={"page_size": 10})
    source, _ = _source(sim, [], refresh_token=seller["refresh_token"])
    with pytest.raises(TerminalError, match="shop_cipher is not allowed"):
        _call(source, "/authorization/202309/shops", params={"shop_cipher": "x"}, method="GET")


def test_a_stale_timestamp_is_refused():
    sim = TikTokSimulator(_world(), rate_limit=FAST)
    seller = sim.credentials()["sellers"][0]
    source, _ = _source(sim, [], refresh_token=seller["refresh_token"], clock=lambda: time.time() - 600)
    with pytest.raises(TerminalError, match="timestamp"):
        _call(source, "/authorization/202309/shops", method="GET")


def test_the_simulator_rate_limit_answers_tiktok_s_429():
    sim = TikTokSimulator(_world(), rate_limit=RateLimit(1, 2))
    seller = sim.credentials()["sellers"][0]
    source, _ = _source(sim, [], refresh_token=seller["refresh_token"])
    source.client.api.limits = {"*": RateLimit(1000, 1000)}  # a client that ignores the budget
    source.client.api.retry = type(source.client.api.retry)(attempts=1)

    async def burst():
        for _ in range(5):
            await source.client.call("GET", "/authorization/202309/shops", endpoint="shops")

    with pytest.raises(RateLimited):
        _run(source, burst)
    assert sim.throttled >= 1 and sim.stats["getAuthorizedShops"].statuses[429] >= 1


def test_check_refuses_a_cipher_the_seller_did_not_grant():
    sim = TikTokSimulator(_world(), rate_limit=FAST)
    seller = sim.credentials()["sellers"][0]
    source, _ = _source(sim, [], refresh_token=seller["refresh_token"])
    source.options = source.options.model_copy(
        update={
            "shops": [*source.options.shops, source.options.shops[0].model_copy(update={"cipher": "ROW_X"})]
        }
    )
    with pytest.raises(ConfigError, match="ROW_X"):
        _run(source, source.check)


def test_kpihub_simulate_tiktok_serves_on_loopback():
    command = [sys.executable, "-c", "from hub.cli import main; main()", "simulate", "tiktok", "--seed", "3"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        announcement = json.loads(process.stdout.readline())
        urls, creds = announcement["base_urls"], announcement["credentials"]
        assert urls["api"].startswith("http://127.0.0.1:")
        seller = creds["sellers"][0]
        source = TikTokSource(
            TikTokSource.Options(shops=seller["shops"], api_url=urls["api"], auth_url=urls["auth"]),
            TikTokSource.Credentials(
                app_key=creds["app_key"],
                app_secret=creds["app_secret"],
                refresh_token=seller["refresh_token"],
            ),
            SourceContext("loopback"),
        )
        [orders, _] = source.streams()

        async def read():
            await source.check()
            return [r async for r in orders.read(orders.partitions()[0], {}) if isinstance(r, dict)]

        records = _run(source, read)
        assert records and all(orders.problems(r) == [] for r in records)
    finally:
        process.terminate()
        process.communicate(timeout=10)
