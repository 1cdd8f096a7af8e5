"""TikTok request signing: the documented vectors, and the simulator accepting exactly what is signed."""

from __future__ import annotations

import asyncio
import json
import string
import time
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from plugins.tiktok.client import TikTokAuth, TikTokTokens
from plugins.tiktok.signing import signed_message
from plugins.tiktok.simulator import TikTokSimulator
from sdk import CredentialError
from sdk.http import HmacQuerySignature, hmac_sha256_hex
from sdk.simulator import SellerWorld

SECRET = "test_app_secret"


def _sign(request, auth):
    asyncio.run(auth.prepare(request))
    return request.url.params["sign"]


def test_verified_third_party_vector():
    """platform-apis.md §4.7, from EcomPHP's ClientTest::testPrepareSignature."""
    auth = HmacQuerySignature(secret="app_secret", message=signed_message("app_secret"))
    request = httpx.Request("GET", "https://open-api.tiktokglobalshop.com/test-api", params={"foo": "bar"})
    assert (
        signed_message("app_secret")("/test-api", [("foo", "bar")], b"")
        == "app_secret/test-apifoobarapp_secret"
    )
    assert _sign(request, auth) == "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"


def test_get_vector_ignores_the_access_token_parameter():
    auth = HmacQuerySignature(
        secret=SECRET,
        message=signed_message(SECRET),
        params=lambda: {"app_key": "123abc", "timestamp": "1700000000"},
    )
    request = httpx.Request(
        "GET",
        "https://open-api.tiktokglobalshop.com/authorization/202309/shops",
        params={"access_token": "T-1"},
    )
    assert _sign(request, auth) == "a5b3ef379458d4b3b12fb676ae95cb5cb493cd25725e0db74bede6858ee2f4d1"


def test_post_vector_signs_the_body_bytes():
    body = b'{"create_time_ge":1699900000,"create_time_lt":1700000000}'
    params = [
        ("app_key", "123abc"),
        ("timestamp", "1700000000"),
        ("shop_cipher", "ROW_TESTCIPHER"),
        ("page_size", "20"),
        ("sort_field", "create_time"),
        ("sort_order", "DESC"),
        ("access_token", "ignored"),
    ]
    expected = (
        "test_app_secret/order/202309/orders/searchapp_key123abcpage_size20shop_cipherROW_TESTCIPHER"
        "sort_fieldcreate_timesort_orderDESCtimestamp1700000000"
        '{"create_time_ge":1699900000,"create_time_lt":1700000000}test_app_secret'
    )
    message = signed_message(SECRET)("/order/202309/orders/search", params, body)
    assert message == expected
    assert (
        hmac_sha256_hex(SECRET, message) == "9cc6bb40dda34a62ea53ecdbc978d0929938302d28338132058343a1b15e6aef"
    )


def _auth(sim, clock=time.time):
    tokens = TikTokTokens(
        auth_url="http://tiktok.simulator/auth",
        app_key=sim.app_key,
        app_secret=sim.app_secret,
        auth_code=None,
        refresh_token="unused",
        access_token="TTP_access",
        expires_at=clock() + 86400,
        clock=clock,
    )
    return TikTokAuth(tokens, app_key=sim.app_key, app_secret=sim.app_secret, clock=clock)


def test_the_connector_signs_with_common_params_and_sends_the_token_in_a_header():
    sim = _simulator()
    request = httpx.Request(
        "POST", "http://x/order/202309/orders/search", params={"page_size": "5"}, content=b"{}"
    )

    asyncio.run(_auth(sim, clock=lambda: 1700000000.7).prepare(request))

    params = dict(request.url.params)
    assert params["app_key"] == sim.app_key and params["timestamp"] == "1700000000"
    assert request.headers["x-tts-access-token"] == "TTP_access" and "access_token" not in params
    message = signed_message(sim.app_secret)(
        request.url.path, [(k, v) for k, v in params.items() if k != "sign"], b"{}"
    )
    assert params["sign"] == hmac_sha256_hex(sim.app_secret, message)


@pytest.fixture(scope="module")
def sim():
    return _simulator()


def _simulator():
    import datetime as dt

    world = SellerWorld.generate(1, shops=1, days=1, start=dt.date(2026, 9, 1), platforms=("tiktok",))
    return TikTokSimulator(world)


def _as_received(method, path, query, body):
    """The request as the simulator's ASGI app receives it."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [],
        "root_path": "",
        "scheme": "http",
        "server": ("tiktok.simulator", 80),
    }

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


_ALNUM = string.ascii_letters + string.digits
_paths = st.lists(st.text(_ALNUM, min_size=1, max_size=8), min_size=1, max_size=4).map(
    lambda s: "/" + "/".join(s)
)
# Fixed-length keys and digit values keep "key + value" pairs unambiguous, so any one-character
# change changes the signed string (two different queries cannot concatenate alike).
_params = st.dictionaries(
    st.text(string.ascii_lowercase, min_size=3, max_size=3).map(lambda k: "x_" + k),
    st.text(string.digits, min_size=1, max_size=6),
    max_size=4,
)
_json = st.dictionaries(
    st.text(string.ascii_letters, min_size=1, max_size=6),
    st.one_of(st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=3)),
    max_size=4,
)
_bodies = st.one_of(st.just(b""), _json.map(lambda d: json.dumps(d, separators=(",", ":")).encode()))


def _other(old, alphabet, draw):
    return draw(st.sampled_from([c for c in alphabet if c != old]))


@settings(max_examples=150, deadline=None)
@given(path=_paths, params=_params, body=_bodies, method=st.sampled_from(["GET", "POST"]), data=st.data())
def test_the_simulator_accepts_what_is_signed_and_refuses_any_one_change(
    sim, path, params, body, method, data
):
    request = httpx.Request(method, "http://tiktok.simulator" + path, params=params, content=body)
    asyncio.run(_auth(sim).prepare(request))
    query, sent_path, sent_body = request.url.query, request.url.path, request.content

    assert asyncio.run(sim.signature_ok(_as_received(method, sent_path, query, sent_body)))

    part = data.draw(st.sampled_from(["path", "query", "body"] if sent_body else ["path", "query"]))
    if part == "path":
        i = data.draw(st.sampled_from([i for i, c in enumerate(sent_path) if c != "/"]))
        sent_path = sent_path[:i] + _other(sent_path[i], _ALNUM, data.draw) + sent_path[i + 1 :]
    elif part == "query":
        items = list(request.url.params.multi_items())
        j = data.draw(st.integers(0, len(items) - 1))
        key, value = items[j]
        if data.draw(st.booleans()):
            i = data.draw(st.integers(0, len(key) - 1))
            key = key[:i] + _other(key[i], string.ascii_lowercase, data.draw) + key[i + 1 :]
        else:
            i = data.draw(st.integers(0, len(value) - 1))
            value = value[:i] + _other(value[i], _ALNUM, data.draw) + value[i + 1 :]
        items[j] = (key, value)
        query = urlencode(items).encode()
    else:
        i = data.draw(st.integers(0, len(sent_body) - 1))
        new = data.draw(st.integers(0, 255).filter(lambda b: b != sent_body[i]))
        sent_body = sent_body[:i] + bytes([new]) + sent_body[i + 1 :]

    assert not asyncio.run(sim.signature_ok(_as_received(method, sent_path, query, sent_body))), part


class _Tamper(httpx.AsyncBaseTransport):
    """Changes one byte of the body after the request was signed, on its way to the simulator."""

    def __init__(self, inner):
        self.inner = inner
        self.answers = []

    async def handle_async_request(self, request):
        if request.url.path.endswith("/orders/search"):
            body = request.content.replace(b'"update_time_ge":', b'"update_time_ge": ', 1)
            request = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith("/orders/search"):
            await response.aread()
            self.answers.append((response.status_code, json.loads(response.content)))
        return response


def test_a_tampered_request_is_answered_as_tiktok_does_and_fails_terminally(sim):
    from plugins.tiktok import TikTokSource
    from sdk import SourceContext

    creds = sim.credentials()
    [seller] = creds["sellers"]
    urls = sim.base_urls()
    transport = _Tamper(sim.transport())
    source = TikTokSource(
        TikTokSource.Options(shops=seller["shops"], api_url=urls["api"], auth_url=urls["auth"]),
        TikTokSource.Credentials(
            app_key=creds["app_key"], app_secret=creds["app_secret"], refresh_token=seller["refresh_token"]
        ),
        SourceContext("tampered", transport=transport),
    )
    stream = source.streams()[0]

    async def read():
        try:
            async for _ in stream.read(stream.partitions()[0], {}):
                pass
        finally:
            await source.aclose()

    with pytest.raises(CredentialError, match="106001") as raised:
        asyncio.run(read())
    [(status, body)] = transport.answers
    assert status == 401 and body["code"] == 106001 and "sign" in body["message"]
    assert set(body) == {"code", "message", "request_id", "data"}
    assert sim.app_secret not in str(raised.value) and creds["app_key"] not in str(raised.value)
    assert source.stats().get("token_refreshes", 0) == 0, "a bad signature is not cured by a new token"
