"""Shopee's error mapping, token policy, options, simulator rules and ``kpihub simulate shopee``."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from plugins.shopee import ShopeeSource
from plugins.shopee.client import ShopAuth, shop_client
from plugins.shopee.errors import CREDENTIAL_ERRORS, from_error
from plugins.shopee.simulator import ShopeeSimulator
from sdk import (
    ConfigError,
    CredentialError,
    QuotaExhausted,
    RateLimited,
    SourceContext,
    TerminalError,
    UpstreamUnavailable,
)
from sdk.http import RateBudgets, RateLimit

SPECS = Path(os.environ.get("KPIHUB_SPECS_DIR", Path(__file__).parents[4] / "shared" / "reference" / "specs"))
STREAM_APIS = (
    "v2.order.get_order_list",
    "v2.order.get_order_detail",
    "v2.payment.get_escrow_detail",
    "v2.returns.get_return_list",
    "v2.returns.get_return_detail",
    "v2.ads.get_all_cpc_ads_daily_performance",
    "v2.public.refresh_access_token",
)


def _documented_codes():
    codes = set()
    for name in STREAM_APIS:
        path = SPECS / "shopee" / f"{name}.json"
        if not path.is_file():
            pytest.skip(f"Shopee's API definitions are absent from KPIHUB_SPECS_DIR ({SPECS / 'shopee'})")
        spec = json.loads(path.read_text(encoding="utf-8"))
        for entry in [*spec["error_list"], *spec["common_error_list"]]:
            codes.add((entry.get("name") or entry.get("error") or "").removeprefix("common."))
    return sorted(codes - {""})


def test_every_documented_error_code_has_its_class():
    codes = _documented_codes()
    assert {"error_auth", "error_sign", "invalid_acceess_token", "error_limit", "error_rate_limit"} <= set(
        codes
    )
    for code in codes:
        error = from_error(code, "a message", "/api/v2/x")
        expected = (
            RateLimited
            if code == "error_rate_limit" or code.startswith("ads.rate_limit.")
            else UpstreamUnavailable
            if code in ("error_server", "error_network", "error_exception", "error_inner", "error_busy")
            else QuotaExhausted
            if code == "error_limit"
            else CredentialError
            if code in CREDENTIAL_ERRORS
            else TerminalError
        )
        assert isinstance(error, expected), (code, type(error).__name__)
        assert code in str(error) and "/api/v2/x" in str(error)
    for code in ("error_param", "order.order_list_invalid_time", "ads.performance.error_date_in_future"):
        assert isinstance(from_error(code, "", "/p"), ConfigError)


def test_a_spent_daily_quota_resumes_at_the_next_midnight_utc8():
    error = from_error("error_limit", "", "/api/v2/order/get_order_list")
    local = error.resume_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert dt.timedelta(0) < error.resume_at - dt.datetime.now(dt.UTC) <= dt.timedelta(days=1)
    assert error.transient and "00:00 UTC+8" in str(error)


def test_an_auth_error_refreshes_once_then_fails_terminally():
    calls = {"refresh": 0, "api": 0}

    def handler(request):
        if request.url.path.endswith("/auth/access_token/get"):
            calls["refresh"] += 1
            n = calls["refresh"]
            return httpx.Response(200, json={"error": "", "access_token": f"a{n}", "refresh_token": f"r{n}"})
        calls["api"] += 1
        return httpx.Response(
            200, json={"error": "invalid_acceess_token", "message": "Invalid access_token."}
        )

    saved = []

    async def persist(tokens):
        saved.append(tokens.refresh_token)

    async def run():
        auth = ShopAuth(
            partner_id=1,
            partner_key="key",
            shop_id="9",
            refresh_token="r0",
            access_token="a0",
            expires_at=time.time() + 3600,
            persist=persist,
        )
        api = shop_client(
            "http://shopee.test",
            auth,
            rate_limit=1000,
            transport=httpx.MockTransport(handler),
            budgets=RateBudgets(),
        )
        try:
            await api.request("GET", "/api/v2/shop/get_shop_info", endpoint="shop")
        finally:
            await api.aclose()

    with pytest.raises(CredentialError, match="invalid_acceess_token"):
        asyncio.run(run())
    assert calls == {"refresh": 1, "api": 2}, "one refresh, one retry, then terminal"
    assert saved == ["r1"], "the new refresh token was saved"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"partner_id": 1, "shops": {"12a": "SG"}}, "shop ids are numbers"),
        ({"partner_id": 1, "shops": {"12": "XX"}}, "unknown regions ['XX']"),
        ({"partner_id": 1, "shops": {"12": "SG"}, "host": "mars"}, "host"),
        ({"partner_id": 1, "shops": {}}, "shops"),
    ],
)
def test_bad_options_say_what_is_wrong(options, says):
    with pytest.raises(ValidationError, match=r"(?s)" + says.replace("[", r"\[").replace("]", r"\]")):
        ShopeeSource.Options(**options)


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("global", "https://partner.shopeemobile.com"),
        ("china", "https://openplatform.shopee.cn"),
        ("brazil", "https://openplatform.shopee.com.br"),
        ("sandbox", "https://openplatform.sandbox.test-stable.shopee.sg"),
        ("sandbox_china", "https://openplatform.sandbox.test-stable.shopee.cn"),
    ],
)
def test_each_connection_picks_its_host(host, url):
    assert ShopeeSource.Options(partner_id=1, shops={"1": "SG"}, host=host).url() == url
    assert ShopeeSource.Options(partner_id=1, shops={"1": "SG"}, base_url="http://127.0.0.1:9/").url() == (
        "http://127.0.0.1:9"
    )


def test_one_refresh_token_may_serve_every_shop():
    creds = ShopeeSource.Credentials(partner_key="pk", refresh_tokens="main-account-token")
    assert creds.refresh_token("12") == creds.refresh_token("13") == "main-account-token"


def test_credentials_need_a_refresh_token_per_shop_and_never_show_them():
    creds = ShopeeSource.Credentials(partner_key="pk-secret", refresh_tokens={"12": "rt-secret"})
    assert "secret" not in repr(creds) and creds.refresh_token("12") == "rt-secret"
    with pytest.raises(ValidationError, match="shop id -> refresh token"):
        ShopeeSource.Credentials(partner_key="pk", refresh_tokens={})
    source = ShopeeSource(
        ShopeeSource.Options(partner_id=1, shops={"12": "SG", "13": "MY"}), creds, SourceContext("c")
    )
    with pytest.raises(CredentialError, match="no refresh token for shop 13"):
        source.client("13")


# -- the simulator's rules ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def served():
    import importlib

    kit = importlib.import_module("tests.plugins.shopee.conftest")
    world = kit.make_world(shops=1, days=5, seed=6)
    return world, ShopeeSimulator(world, rate_limit=RateLimit(3, 3))


async def _call(sim, path, params):
    creds = sim.credentials()
    [shop] = creds["shops"]
    grant = sim.tokens.grant(str(sim.partner_id), shop)

    async def persist(tokens):
        return None

    auth = ShopAuth(
        partner_id=sim.partner_id,
        partner_key=sim.partner_key,
        shop_id=shop,
        refresh_token=grant.refresh_token,
        access_token=grant.access_token,
        expires_at=time.time() + 3600,
        persist=persist,
    )
    request = httpx.Request("GET", "http://shopee.simulator" + path, params=params)
    await auth.prepare(request)
    async with httpx.AsyncClient(transport=sim.transport()) as client:
        response = await client.send(request)
    return response.status_code, response.json()


_NOW = int(time.time())
_DAYS = dt.datetime.now(dt.UTC).date()


@pytest.mark.parametrize(
    ("path", "params", "status", "error"),
    [
        (
            "/api/v2/order/get_order_list",
            {
                "time_range_field": "update_time",
                "time_from": _NOW - 16 * 86400,
                "time_to": _NOW,
                "page_size": 10,
            },
            400,
            "order.order_list_invalid_time",
        ),
        (
            "/api/v2/order/get_order_list",
            {"time_range_field": "update_time", "time_from": _NOW - 86400, "time_to": _NOW, "page_size": 101},
            400,
            "error_param",
        ),
        (
            "/api/v2/order/get_order_detail",
            {"order_sn_list": ",".join(f"X{n}" for n in range(51))},
            400,
            "error_param",
        ),
        ("/api/v2/returns/get_return_list", {"page_no": 0, "page_size": 0}, 400, "error_param"),
        (
            "/api/v2/returns/get_return_list",
            {"page_no": 0, "page_size": 10, "update_time_from": _NOW - 16 * 86400, "update_time_to": _NOW},
            400,
            "error_param",
        ),
        (
            "/api/v2/ads/get_all_cpc_ads_daily_performance",
            {
                "start_date": (_DAYS - dt.timedelta(days=40)).strftime("%d-%m-%Y"),
                "end_date": _DAYS.strftime("%d-%m-%Y"),
            },
            400,
            "ads.performance.error_date_range_too_long",
        ),
        (
            "/api/v2/ads/get_all_cpc_ads_daily_performance",
            {"start_date": _DAYS.strftime("%d-%m-%Y"), "end_date": _DAYS.strftime("%d-%m-%Y")},
            400,
            "ads.performance.error_same_start_end_dates",
        ),
        ("/api/v2/payment/get_escrow_detail", {"order_sn": "NOPE"}, 404, "order_not_found"),
    ],
)
def test_the_simulator_enforces_windows_and_page_sizes(served, path, params, status, error):
    _, sim = served
    sim.reset_stats()
    got_status, body = asyncio.run(_call(sim, path, params))
    assert (got_status, body["error"]) == (status, error)


def test_the_simulator_rate_limit_answers_error_rate_limit(served):
    _, sim = served

    async def burst():
        return [await _call(sim, "/api/v2/shop/get_shop_info", {}) for _ in range(6)]

    answers = asyncio.run(burst())
    assert [b["error"] for _, b in answers].count("error_rate_limit") >= 2
    assert all(s == 429 for s, b in answers if b["error"])


def test_refresh_tokens_are_single_use(served):
    world, _ = served
    sim = ShopeeSimulator(world)
    [shop] = sim.credentials()["shops"]
    first = sim.credentials()["refresh_tokens"][shop]
    sim.tokens.refresh(first, client_id=str(sim.partner_id))
    with pytest.raises(Exception, match="used"):
        sim.tokens.refresh(first, client_id=str(sim.partner_id))


# -- kpihub simulate shopee, read by the connector over loopback -----------------------------


def test_kpihub_simulate_shopee_serves_the_connector_on_loopback():
    command = [sys.executable, "-c", "from hub.cli import main; main()", "simulate", "shopee", "--seed", "5"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        announcement = json.loads(process.stdout.readline())
        url, creds = announcement["base_urls"]["api"], announcement["credentials"]
        assert url.startswith("http://127.0.0.1:")
        shop = sorted(creds["shops"])[0]
        since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=12)
        source = ShopeeSource(
            ShopeeSource.Options(
                partner_id=creds["partner_id"],
                shops={shop: creds["shops"][shop]},
                base_url=url,
                start_date=since,
            ),
            ShopeeSource.Credentials(
                partner_key=creds["partner_key"], refresh_tokens={shop: creds["refresh_tokens"][shop]}
            ),
            SourceContext("loopback"),
        )

        async def read_ads():  # a token refresh and one signed call, over real HTTP
            [ads] = [s for s in source.streams() if s.name == "ads"]
            [partition] = ads.partitions()
            found = [r async for r in ads.read(partition, {}) if isinstance(r, dict)]
            await source.aclose()
            return found

        days = {row["date"] for row in asyncio.run(read_ads())}
        expected = ShopeeSource.simulator(5).truth()["ad_performance"]
        wanted = {key[2].strftime("%d-%m-%Y") for key in expected if key[1] == shop and key[2] >= since}
        assert days == wanted and len(wanted) >= 10
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_a_wrong_partner_key_is_named_as_such(served):
    world, _ = served
    sim = ShopeeSimulator(world)
    creds = sim.credentials()
    source = ShopeeSource(
        ShopeeSource.Options(
            partner_id=creds["partner_id"], shops=creds["shops"], base_url="http://shopee.simulator"
        ),
        ShopeeSource.Credentials(partner_key="not-the-key", refresh_tokens=creds["refresh_tokens"]),
        SourceContext("wrong-key", transport=sim.transport()),
    )

    async def check():
        try:
            await source.check()
        finally:
            await source.aclose()

    with pytest.raises(CredentialError, match="check the partner_key") as raised:
        asyncio.run(check())
    assert "error_sign" in str(raised.value) and "not-the-key" not in str(raised.value)


def test_a_spent_quota_is_not_retried_within_the_call():
    """The SDK client retries transient errors, but not ``QuotaExhausted``: it will not pass soon."""
    calls = []

    def handler(request):
        calls.append(request.url.path)
        return httpx.Response(403, json={"error": "error_limit", "message": "daily limit reached"})

    async def run():
        auth = ShopAuth(
            partner_id=1,
            partner_key="key",
            shop_id="9",
            refresh_token="r0",
            access_token="a0",
            expires_at=time.time() + 3600,
            persist=None,  # type: ignore[arg-type]
        )
        api = shop_client(
            "http://shopee.test",
            auth,
            rate_limit=1000,
            transport=httpx.MockTransport(handler),
            budgets=RateBudgets(),
        )
        try:
            await api.request("GET", "/api/v2/order/get_order_list", endpoint="orders")
        finally:
            await api.aclose()

    with pytest.raises(QuotaExhausted) as raised:
        asyncio.run(run())
    assert calls == ["/api/v2/order/get_order_list"], "one call, no retry"
    assert raised.value.retry_after and raised.value.retry_after > 0
