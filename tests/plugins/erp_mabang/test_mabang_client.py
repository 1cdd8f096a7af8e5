"""Signing over the exact body bytes, the §5.5 vector, and business codes in HTTP 200 answers."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from plugins.erp_mabang.client import ERROR_CODES, BodySignature, MabangClient, classify, encode_body
from plugins.erp_mabang.simulator import MabangSimulator
from sdk import ConfigError, CredentialError, RateLimited, TerminalError, UpstreamUnavailable
from sdk.http import RateBudgets, RetryPolicy

from .conftest import make_world

VECTOR_BODY = (
    b'{"api":"order-get-order-list-new","appkey":"200000","data":{"maxRows":"100","status":"3",'
    b'"updateTimeStart":"2026-01-01 00:00:00","updateTimeEnd":"2026-01-02 00:00:00"},'
    b'"timestamp":"1767225600","version":"2"}'
)
VECTOR_SIGNATURE = "86018daf913c4c0cc6578f235fd4a463d770b29d73716ce7dc6a62dbd64cfcd7"


def test_vector_body_and_signature_reproduce():
    data = {
        "maxRows": 100,
        "status": 3,
        "updateTimeStart": "2026-01-01 00:00:00",
        "updateTimeEnd": "2026-01-02 00:00:00",
    }
    body = encode_body("order-get-order-list-new", "200000", data, 1767225600, "2")
    assert body == VECTOR_BODY

    request = httpx.Request("POST", "https://gwapi.mabangerp.com/api/v2", content=body)
    asyncio.run(BodySignature("test_mabang_secret").prepare(request))
    assert request.headers["Authorization"] == VECTOR_SIGNATURE


@pytest.fixture(scope="module")
def sim():
    return MabangSimulator(make_world(days=3, skus=5))


def _client(sim, transport, *, secret=None, base="v2", version="2"):
    return MabangClient(
        base_url=sim.base_urls()[base],
        app_key=sim.app_key,
        app_secret=secret or sim.app_secret,
        version=version,
        requests_per_second=100,
        transport=transport,
        budgets=RateBudgets(),
    )


class Reserialising(httpx.AsyncBaseTransport):
    """Re-encodes the JSON body after it was signed: same content, other bytes."""

    def __init__(self, inner):
        self.inner = inner

    async def handle_async_request(self, request):
        await request.aread()
        changed = json.dumps(json.loads(request.content)).encode()  # ", " and ": " separators
        assert changed != request.content
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        forwarded = httpx.Request(request.method, request.url, headers=headers, content=changed)
        return await self.inner.handle_async_request(forwarded)


@pytest.mark.parametrize("base", ["v2", "v1"])
def test_signed_calls_are_answered_on_both_gateway_styles(sim, base):
    client = _client(sim, sim.transport(), base=base)
    data = asyncio.run(client.call("sys-get-shop-list", {}))
    assert {shop["shopId"] for shop in data["data"]} == set(sim.shops)


def test_a_body_reserialised_after_signing_is_refused(sim):
    client = _client(sim, Reserialising(sim.transport()))
    with pytest.raises(CredentialError, match="code 401: sign error") as caught:
        asyncio.run(client.call("sys-get-shop-list", {}))
    assert sim.app_secret not in str(caught.value)


def test_a_wrong_secret_is_a_credential_error_naming_the_fix(sim):
    client = _client(sim, sim.transport(), secret="not-the-secret")
    with pytest.raises(CredentialError, match="app_key and app_secret"):
        asyncio.run(client.call("sys-get-shop-list", {}))


def test_a_bad_query_is_terminal_and_keeps_mabang_s_message(sim):
    client = _client(sim, sim.transport())
    with pytest.raises(ConfigError, match="code 400: unknown shopId '999'"):
        asyncio.run(client.call("order-get-order-list-new", {"shopId": "999"}))


def test_an_unknown_version_is_refused(sim):
    client = _client(sim, sim.transport(), version="9")
    with pytest.raises(ConfigError, match="code 404"):
        asyncio.run(client.call("sys-get-shop-list", {}))


def _answer(body):
    return httpx.Response(200, json=body)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("401", CredentialError),
        ("1001", CredentialError),
        ("400", ConfigError),
        ("429", RateLimited),
        ("500", UpstreamUnavailable),
        ("503", UpstreamUnavailable),
        ("0", TerminalError),
        ("777", TerminalError),
    ],
)
def test_business_codes_map_to_the_error_tree(code, kind):
    error = classify(_answer({}), {"code": code, "message": "消息 kept"})
    assert type(error) is kind
    assert "消息 kept" in str(error) and code in str(error)
    assert error.transient == (kind in (RateLimited, UpstreamUnavailable))


def test_success_codes_are_not_errors():
    assert classify(_answer({}), {"code": 200, "data": {}}) is None
    assert classify(_answer({}), {"code": "200", "data": {}}) is None


def test_every_mapped_code_is_exercised():
    tested = {"401", "1001", "400", "429", "500", "503"}
    assert tested <= set(ERROR_CODES)
    for code, kind in ERROR_CODES.items():
        assert isinstance(classify(_answer({}), {"code": code}), kind)


def test_rate_limited_answers_are_retried_until_they_pass(monkeypatch):
    from plugins.erp_mabang import client as module
    from sdk.simulator import FaultKind, FaultPlan

    monkeypatch.setattr(module, "RETRY", RetryPolicy(attempts=10, initial=0.001, maximum=0.01, jitter=0.001))
    faults = FaultPlan(3, {FaultKind.RATE_LIMIT_429: 0.5}, retry_after=0.001)
    sim = MabangSimulator(make_world(days=2, skus=3), faults=faults)
    client = _client(sim, sim.transport())
    for _ in range(5):
        asyncio.run(client.call("sys-get-currency-rate-list", {}))
    assert faults.injected[FaultKind.RATE_LIMIT_429] > 0
    assert client.stats()["retry:RateLimited"] == faults.injected[FaultKind.RATE_LIMIT_429]


def test_the_simulator_s_rate_limit_answers_429_in_the_body_and_the_client_recovers(monkeypatch):
    from plugins.erp_mabang import client as module

    monkeypatch.setattr(module, "RETRY", RetryPolicy(attempts=30, initial=0.01, maximum=0.05, jitter=0.01))
    sim = MabangSimulator(make_world(days=2, skus=3))
    client = MabangClient(
        base_url=sim.base_urls()["v2"],
        app_key=sim.app_key,
        app_secret=sim.app_secret,
        version="2",
        requests_per_second=1000,  # far above the gateway's 20/s
        transport=sim.transport(),
        budgets=RateBudgets(),
    )

    async def many():
        for _ in range(40):
            await client.call("sys-get-currency-rate-list", {})

    asyncio.run(many())
    assert sim.throttled > 0
    assert client.stats()["retry:RateLimited"] == sim.throttled
