"""Shopee HTTP: per-shop tokens (single-use refresh, saved before use), signed requests, budgets.

Each shop has its own access token (4 hours) and refresh token (30 days, single use). A
refresh answers with the next refresh token; it is handed to ``persist`` (which saves it in
the vault, encrypted) and awaited before the new access token is used, so a crash at any
moment leaves the store holding a refresh token Shopee still accepts. Every call is signed
with the partner key over partner id, path, timestamp, access token and shop id.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from sdk import CredentialError, UpstreamUnavailable
from sdk.http import (
    ApiClient,
    HmacQuerySignature,
    OAuthRefresh,
    RateBudgets,
    RateLimit,
    RetryPolicy,
    TokenSet,
    response_json,
)

from .errors import AUTH_RETRY_ERRORS, RATE_LIMIT_ERRORS, SERVER_ERRORS, classify, error_code, from_error
from .signing import sign, signed_message

__all__ = ["BUDGETS", "REFRESH_PATH", "RETRY", "ShopAuth", "shop_client"]

REFRESH_PATH = "/api/v2/auth/access_token/get"

BUDGETS = RateBudgets()
"""Process-wide: every shop and connection of the same partner app draws on the same buckets."""

RETRY = RetryPolicy(attempts=8, maximum=10.0)
"""How transient failures are retried (Shopee documents no Retry-After)."""


class ShopAuth(OAuthRefresh):
    """One shop's tokens, and the signature on each of its calls."""

    def __init__(
        self,
        *,
        partner_id: int,
        partner_key: str,
        shop_id: str,
        refresh_token: str,
        access_token: str | None,
        expires_at: float,
        persist: Callable[[TokenSet], Awaitable[None]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            token_url=REFRESH_PATH,
            client_id=str(partner_id),
            client_secret=partner_key,
            refresh_token=refresh_token,
            access_token=access_token,
            expires_at=expires_at,
            persist=persist,
            leeway=300.0,
            clock=clock,
        )
        self.partner_id = partner_id
        self.shop_id = shop_id
        self._signer = HmacQuerySignature(secret=partner_key, message=signed_message, params=self._common)
        self._refused: str | None = None

    def _common(self) -> dict[str, str]:
        return {
            "partner_id": str(self.partner_id),
            "timestamp": str(int(self._clock())),
            "access_token": self.access_token or "",
            "shop_id": self.shop_id,
        }

    async def prepare(self, request: httpx.Request) -> None:
        if self.access_token is None or self._clock() >= self.expires_at - self._leeway:
            await self._renew(stale=self.access_token)
        await self._signer.prepare(request)

    def is_auth_failure(self, response: httpx.Response) -> bool:
        try:
            body = response_json(response)
        except ValueError:
            return False
        failed = error_code(body) in AUTH_RETRY_ERRORS
        if failed:
            # The token this call was refused with; ``refresh`` (awaited right after, with no
            # await in between) renews only if no concurrent call has replaced it already.
            self._refused = response.request.url.params.get("access_token")
        return failed

    async def refresh(self, client: httpx.AsyncClient) -> bool:
        """Renew after a refusal, once for all the calls refused with the same token: calls
        in flight together all meet a revoked token, and each refresh spends the single-use
        refresh token, so only the first renews and the others retry with its new token."""
        self._client = self._client or client
        refused, self._refused = self._refused, None
        await self._renew(stale=refused if refused is not None else self.access_token)
        return True

    async def request_token(self, client: httpx.AsyncClient) -> TokenSet:
        """``POST /api/v2/auth/access_token/get``: a public (partner-signed) call."""
        timestamp = int(self._clock())
        params: dict[str, str | int] = {
            "partner_id": self.partner_id,
            "timestamp": timestamp,
            "sign": sign(self._client_secret, self.partner_id, REFRESH_PATH, timestamp),
        }
        body = {
            "refresh_token": self.refresh_token,
            "partner_id": self.partner_id,
            "shop_id": int(self.shop_id),
        }
        try:
            response = await client.post(REFRESH_PATH, params=params, json=body)
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"{REFRESH_PATH} unreachable: {type(exc).__name__}") from None
        try:
            answer: Any = response_json(response)
        except ValueError:
            raise UpstreamUnavailable(
                f"{REFRESH_PATH}: unreadable answer (HTTP {response.status_code})"
            ) from None
        code = error_code(answer)
        if code in RATE_LIMIT_ERRORS or code in SERVER_ERRORS or code == "error_limit":
            raise from_error(code, str(answer.get("message") or ""), REFRESH_PATH)
        if response.status_code >= 500 or response.status_code == 429:
            raise UpstreamUnavailable(f"{REFRESH_PATH}: HTTP {response.status_code}")
        if code and code != "error_auth":
            # Not the refresh token's fault (a wrong partner key, an unknown partner id, ...).
            raise from_error(code, str(answer.get("message") or ""), REFRESH_PATH)
        if code or not isinstance(answer, dict) or not answer.get("access_token"):
            reason = f"{code}: {answer.get('message', '')}" if code else f"HTTP {response.status_code}"
            raise CredentialError(
                f"Shopee refused the refresh token of shop {self.shop_id} ({reason}); authorise the "
                "shop again (shop/auth_partner) and store its new refresh token"
            )
        return TokenSet(
            access_token=str(answer["access_token"]),
            expires_at=self._clock() + float(answer.get("expire_in", 14400)),
            refresh_token=answer.get("refresh_token") or None,
        )


def shop_client(
    base_url: str,
    auth: ShopAuth,
    *,
    rate_limit: float,
    transport: httpx.AsyncBaseTransport | None,
    budgets: RateBudgets | None = None,
) -> ApiClient:
    """The API client of one shop; budgets are keyed by partner id, so shops share them."""
    return ApiClient(
        base_url,
        app=f"shopee:{auth.partner_id}",
        budgets=budgets or BUDGETS,
        limits={"*": RateLimit(rate_limit, max(2.0, rate_limit))},
        auth=auth,
        transport=transport,
        classify=classify,
        retry=RETRY,
        headers={"user-agent": "kpihub-shopee/1.0"},
    )
