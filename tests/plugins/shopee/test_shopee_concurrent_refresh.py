"""Calls in flight together that meet a revoked access token spend the single-use refresh
token once: the first refusal renews, the others retry with the new access token."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from plugins.shopee.client import ShopAuth, shop_client
from sdk.http import RateBudgets


def test_concurrent_refusals_share_one_refresh():
    state = {"access": "a1", "refresh": "r0", "refreshes": 0, "refused": 0}

    async def handler(request):
        if request.url.path.endswith("/auth/access_token/get"):
            body = json.loads(request.content)
            if body["refresh_token"] != state["refresh"]:  # single use: a spent one is refused
                return httpx.Response(200, json={"error": "error_auth", "message": "invalid refresh_token"})
            state["refreshes"] += 1
            n = state["refreshes"]
            state["access"], state["refresh"] = f"a{n + 1}", f"r{n}"
            return httpx.Response(
                200, json={"error": "", "access_token": state["access"], "refresh_token": state["refresh"]}
            )
        sent = request.url.params["access_token"]
        await asyncio.sleep(0.02)  # every call is in flight before any answer arrives
        if sent != state["access"]:
            state["refused"] += 1
            return httpx.Response(
                200, json={"error": "invalid_acceess_token", "message": "Invalid access_token."}
            )
        return httpx.Response(200, json={"error": "", "response": {"ok": sent}})

    async def run():
        auth = ShopAuth(
            partner_id=1,
            partner_key="key",
            shop_id="9",
            refresh_token="r0",
            access_token="a0",  # revoked: the service now expects a1 after a refresh
            expires_at=time.time() + 3600,
            persist=_ignore,
        )
        state["access"] = "revoked"
        api = shop_client(
            "http://shopee.test",
            auth,
            rate_limit=1000,
            transport=httpx.MockTransport(handler),
            budgets=RateBudgets(),
        )
        try:
            calls = [api.request("GET", "/api/v2/payment/get_escrow_detail", endpoint="e") for _ in range(8)]
            return await asyncio.gather(*calls)
        finally:
            await api.aclose()

    answers = asyncio.run(run())
    assert state["refused"] == 8, "all eight met the revoked token"
    assert state["refreshes"] == 1, "one refresh for all of them"
    assert [body["response"]["ok"] for _, body in answers] == ["a2"] * 8


async def _ignore(tokens):
    return None
