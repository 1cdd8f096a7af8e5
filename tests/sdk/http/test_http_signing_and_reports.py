"""HMAC query signing against published vectors; report polling and decoding."""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import pytest

from sdk import TerminalError, UpstreamUnavailable
from sdk.http import HmacQuerySignature, ReportStatus, decode_report, wait_for_report


def tiktok_message(secret):
    """TikTok Shop's base string (platform-apis.md §4.2): path, sorted params, body, in the secret."""

    def message(path: str, params: list[tuple[str, str]], body: bytes) -> str:
        signed = sorted((k, v) for k, v in params if k not in ("sign", "access_token"))
        return secret + path + "".join(k + v for k, v in signed) + body.decode() + secret

    return message


def _signed(request, auth):
    asyncio.run(auth.prepare(request))
    return request.url.params["sign"]


def test_third_party_vector():
    auth = HmacQuerySignature(secret="app_secret", message=tiktok_message("app_secret"))
    request = httpx.Request("GET", "https://open-api.tiktokglobalshop.com/test-api", params={"foo": "bar"})
    assert _signed(request, auth) == "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"


def test_vector_with_added_params_and_a_body():
    secret = "test_app_secret"
    auth = HmacQuerySignature(
        secret=secret,
        message=tiktok_message(secret),
        params=lambda: {"app_key": "123abc", "timestamp": "1700000000", "access_token": "TOKEN-x"},
    )
    request = httpx.Request(
        "POST",
        "https://open-api.tiktokglobalshop.com/order/202309/orders/search",
        params={
            "shop_cipher": "ROW_TESTCIPHER",
            "page_size": "20",
            "sort_field": "create_time",
            "sort_order": "DESC",
        },
        content=b'{"create_time_ge":1699900000,"create_time_lt":1700000000}',
    )
    assert _signed(request, auth) == "9cc6bb40dda34a62ea53ecdbc978d0929938302d28338132058343a1b15e6aef"
    assert request.url.params["timestamp"] == "1700000000", "added parameters are sent too"


def test_signing_again_replaces_the_old_signature():
    auth = HmacQuerySignature(secret="app_secret", message=tiktok_message("app_secret"))
    request = httpx.Request("GET", "https://x.test/test-api", params={"foo": "bar"})
    asyncio.run(auth.prepare(request))
    asyncio.run(auth.prepare(request))
    assert request.url.params.get_list("sign") == [
        "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"
    ]


def test_wait_for_report_polls_until_done():
    answers = iter([ReportStatus(done=False), ReportStatus(done=False), ReportStatus(done=True, url="u")])
    slept = []

    async def status(report_id):
        return next(answers)

    async def sleep(seconds):
        slept.append(seconds)

    done = asyncio.run(wait_for_report("r1", status, poll_seconds=5, max_wait_seconds=60, sleep=sleep))
    assert done.url == "u" and slept == [5, 5]


def test_wait_for_report_gives_up_transiently_and_fails_terminally():
    async def pending(report_id):
        return ReportStatus(done=False)

    async def failed(report_id):
        return ReportStatus(done=False, failed=True, reason="bad columns")

    async def sleep(seconds):
        return None

    with pytest.raises(UpstreamUnavailable, match="not ready after 10 s") as raised:
        asyncio.run(wait_for_report("r1", pending, poll_seconds=5, max_wait_seconds=10, sleep=sleep))
    assert raised.value.retry_after == 60
    with pytest.raises(TerminalError, match="bad columns"):
        asyncio.run(wait_for_report("r1", failed, poll_seconds=5, max_wait_seconds=10, sleep=sleep))


def test_decode_report_formats():
    rows = [{"a": "1", "b": "x"}]
    assert decode_report(gzip.compress(json.dumps(rows).encode()), "GZIP_JSON") == rows
    assert decode_report(b"a,b\r\n1,x\r\n", "CSV") == rows
    assert decode_report(gzip.compress(b"\xef\xbb\xbfa,b\n1,x\n"), "GZIP_CSV") == rows
    with pytest.raises(UpstreamUnavailable):
        decode_report(gzip.compress(b'[{"a": 1')[:-4], "GZIP_JSON")


def test_a_simulator_verifies_what_the_client_signs():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from sdk.simulator import verify_query_signature

    secret = "test_app_secret"
    message = tiktok_message(secret)

    async def endpoint(request):
        ok = await verify_query_signature(request, secret=secret, message=message)
        return JSONResponse({"ok": ok}, status_code=200 if ok else 401)

    app = Starlette(routes=[Route("/order/202309/orders/search", endpoint, methods=["POST"])])
    auth = HmacQuerySignature(
        secret=secret, message=message, params=lambda: {"app_key": "k", "timestamp": "1"}
    )

    async def go(tamper):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
            request = client.build_request("POST", "/order/202309/orders/search", content=b'{"page_size":20}')
            await auth.prepare(request)
            if tamper:
                request = client.build_request("POST", request.url, content=b'{"page_size":21}')
            return (await client.send(request)).status_code

    assert asyncio.run(go(tamper=False)) == 200
    assert asyncio.run(go(tamper=True)) == 401, "a changed body no longer matches its signature"
