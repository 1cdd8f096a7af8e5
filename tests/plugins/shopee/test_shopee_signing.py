"""Shopee's signature: the documented vectors, and the simulator accepting exactly what is signed."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.shopee.client import ShopAuth
from plugins.shopee.signing import base_string, sign, signed_message
from plugins.shopee.simulator import ShopeeSimulator

KEY = "test_partner_key_0123456789abcdef"  # the dummy key of platform-apis.md §3.8
PARTNER, STAMP, SHOP, MERCHANT = 2001887, 1655714431, 14701711, 1000000
TOKEN = "59777174636562737266615546704c6d"
MERCHANT_TOKEN = "09777174636962737266615546704c6d"  # the official merchant example's own token


def test_official_base_strings():
    assert base_string(PARTNER, "/api/v2/shop/get_shop_info", STAMP, TOKEN, SHOP) == (
        "2001887/api/v2/shop/get_shop_info165571443159777174636562737266615546704c6d14701711"
    )
    assert base_string(PARTNER, "/api/v2/global_product/get_category", STAMP, MERCHANT_TOKEN, MERCHANT) == (
        "2001887/api/v2/global_product/get_category165571443109777174636962737266615546704c6d1000000"
    )
    assert base_string(PARTNER, "/api/v2/public/get_shops_by_partner", STAMP) == (
        "2001887/api/v2/public/get_shops_by_partner1655714431"
    )


@pytest.mark.parametrize(
    ("path", "scope", "expected"),
    [
        (
            "/api/v2/shop/get_shop_info",
            SHOP,
            "fae2453506d0e74461bff5acf9985e736a81491c37c1c77537598bc991c034fc",
        ),
        (
            "/api/v2/global_product/get_category",
            MERCHANT,
            "0c04e500e19baefae45c64a967c05b5a93cb88b106801c7412402943b0011a19",
        ),
        (
            "/api/v2/public/get_shops_by_partner",
            None,
            "8d0b8105220f3a6129ce1147cf82f1a00c6fe57966b2f04e7426734fb219e01a",
        ),
        (
            "/api/v2/order/get_order_list",
            SHOP,
            "a1deedcba768aef353a7a75283e6b133b445a8d8555a93787e92e4101642ba14",
        ),
        (
            "/api/v2/auth/access_token/get",
            None,
            "cd438687e4f2b82442d63ff6755775d7eef146415f46ee0aa46cf4810a52dffd",
        ),
    ],
)
def test_signature_vectors(path, scope, expected):
    token = {SHOP: TOKEN, MERCHANT: MERCHANT_TOKEN}.get(scope)
    assert sign(KEY, PARTNER, path, STAMP, token, scope) == expected
    params = [("partner_id", str(PARTNER)), ("timestamp", str(STAMP))]
    if scope == SHOP:
        params += [("access_token", TOKEN), ("shop_id", str(SHOP))]
    elif scope == MERCHANT:
        params += [("access_token", MERCHANT_TOKEN), ("merchant_id", str(MERCHANT))]
    assert signed_message(path, params, b"") == base_string(PARTNER, path, STAMP, token, scope)


# -- the simulator accepts what the connector signs, and nothing with a signed byte changed ------

_WORLD = None


def _sim():
    global _WORLD
    if _WORLD is None:
        import importlib

        kit = importlib.import_module("tests.plugins.shopee.conftest")
        _WORLD = kit.make_world(shops=1, days=3, seed=5)
    return ShopeeSimulator(_WORLD, rate_limit=None)


async def _signed_request(sim, path, params):
    """A request exactly as the connector would send it, signed by the shop's auth."""
    creds = sim.credentials()
    [shop] = creds["shops"]
    grant = sim.tokens.grant(str(sim.partner_id), shop)
    auth = ShopAuth(
        partner_id=sim.partner_id,
        partner_key=sim.partner_key,
        shop_id=shop,
        refresh_token=grant.refresh_token,
        access_token=grant.access_token,
        expires_at=time.time() + 3600,
        persist=None,  # type: ignore[arg-type]
    )
    request = httpx.Request("GET", "http://shopee.simulator" + path, params=params)
    await auth.prepare(request)
    return request


async def _send(sim, request):
    async with httpx.AsyncClient(transport=sim.transport()) as client:
        response = await client.send(request)
    try:
        body = response.json()
    except ValueError:  # e.g. the plain 404 of a path no route serves
        body = {}
    return response.status_code, body


def _flip(text, index, char):
    index %= len(text)
    replacement = char if char != text[index] else ("0" if text[index] != "0" else "1")
    return text[:index] + replacement + text[index + 1 :]


_PATHS = st.sampled_from(
    [
        ("/api/v2/shop/get_shop_info", {}),
        ("/api/v2/returns/get_return_list", {"page_no": "0", "page_size": "10"}),
    ]
)
_SIGNED = st.sampled_from(["partner_id", "timestamp", "access_token", "shop_id", "sign", "path"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call=_PATHS, part=_SIGNED, index=st.integers(0, 200), char=st.sampled_from("0123456789abcdefX/_"))
def test_the_simulator_accepts_what_is_signed_and_rejects_a_changed_byte(call, part, index, char):
    sim = _sim()
    path, params = call

    async def run():
        request = await _signed_request(sim, path, params)
        assert (await _send(sim, request))[1].get("error") in ("", None), "accepted as signed"
        query = dict(request.url.params.multi_items())
        url = request.url
        if part == "path":
            # The leading "/" stays: without it there is no request to send at all.
            url = url.copy_with(path="/" + _flip(url.path[1:], index, char))
        else:
            query[part] = _flip(query[part], index, char)
            url = url.copy_with(params=query)
        status, body = await _send(sim, httpx.Request("GET", url))
        return status, body

    status, body = asyncio.run(run())
    assert status != 200 or body.get("error"), f"a changed {part} was accepted"


def test_a_wrong_sign_is_answered_as_shopee_answers_it():
    sim = _sim()

    async def run():
        request = await _signed_request(sim, "/api/v2/shop/get_shop_info", {})
        query = dict(request.url.params.multi_items())
        query["sign"] = "0" * 64
        return await _send(sim, httpx.Request("GET", request.url.copy_with(params=query)))

    status, body = asyncio.run(run())
    assert (status, body["error"], body["message"]) == (403, "error_sign", "Wrong sign.")
    assert body["request_id"]
    sim.errors_in_200 = True
    status, body = asyncio.run(run())
    assert (status, body["error"]) == (200, "error_sign")


def test_what_shopee_does_not_sign_is_not_protected():
    """Shopee signs partner, path, timestamp, token and shop only: other parameters may change."""
    sim = _sim()

    async def run():
        request = await _signed_request(
            sim, "/api/v2/returns/get_return_list", {"page_no": "0", "page_size": "10"}
        )
        query = dict(request.url.params.multi_items())
        query["page_size"] = "11"
        return await _send(sim, httpx.Request("GET", request.url.copy_with(params=query)))

    status, body = asyncio.run(run())
    assert status == 200 and body["error"] == ""


def test_a_timestamp_older_than_five_minutes_is_refused():
    sim = _sim()
    sim.wall_clock = lambda: time.time() + 301

    async def run():
        return await _send(sim, await _signed_request(sim, "/api/v2/shop/get_shop_info", {}))

    _, body = asyncio.run(run())
    assert body["error"] == "error_param" and "timestamp" in body["message"]
