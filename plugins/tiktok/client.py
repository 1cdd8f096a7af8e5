"""The TikTok Shop API client: signed requests, the seller's tokens, and TikTok's error codes.

Every call carries ``app_key``, ``timestamp`` and ``sign`` in its query and the access token in
``x-tts-access-token``; shop-scoped paths add ``shop_cipher`` (the streams pass it). Tokens
come from ``auth.tiktok-shops.com`` with their expiries as Unix timestamps; the access token is
renewed an hour before it expires, and every new token set is persisted before it is used.
Answers are ``{"code", "message", "request_id", "data"}``; ``code != 0`` is an error, mapped to
the SDK's error tree in ``classify`` (one place, tested for completeness).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from sdk import (
    ConfigError,
    CredentialError,
    KpihubError,
    RateLimited,
    TerminalError,
    UpstreamUnavailable,
)
from sdk.http import (
    ApiClient,
    Auth,
    HmacQuerySignature,
    OAuthRefresh,
    RateBudgets,
    RateLimit,
    TokenSet,
    error_field,
    response_json,
)

from .options import TikTokCredentials, TikTokOptions
from .signing import signed_message

if TYPE_CHECKING:
    from .source import TikTokSource

__all__ = [
    "BUDGETS",
    "INTERNAL_CODES",
    "RATE_LIMIT_CODES",
    "TikTokAuth",
    "TikTokClient",
    "TikTokTokens",
    "classify",
    "is_token_code",
]

BUDGETS = RateBudgets()
"""Process-wide: connections of the same app share their (app, shop, endpoint) buckets."""

RATE_LIMIT_CODES = frozenset({36009002})
INTERNAL_CODES = frozenset({36009003})
APP_CODES = frozenset({106001})
SHOP_CIPHER_CODES = frozenset({106013})
TOKEN_REFRESH_LEEWAY = 3600.0
"""Seconds before expiry the access token is renewed (TikTok's live for days)."""


def is_token_code(code: object) -> bool:
    """Whether ``code`` is one of TikTok's access-token or scope errors (105xxx)."""
    return isinstance(code, int) and 105000 <= code < 106000


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response_json(response)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def classify(response: httpx.Response, body: Any) -> KpihubError | None:
    """The error a TikTok answer carries, or ``None`` for ``code == 0``.

    Rate limits and internal errors are transient; token and scope codes (105xxx, after the
    one refresh the client already tried) and a refused app are credential errors; a bad
    ``shop_cipher`` is a configuration error; any other code is terminal with TikTok's message.
    """
    if not isinstance(body, dict):
        return UpstreamUnavailable(f"TikTok answered HTTP {response.status_code} without a JSON envelope")
    code = body.get("code")
    if code == 0:
        return None
    if code is None:
        return UpstreamUnavailable(f"TikTok answered HTTP {response.status_code} without a code")
    where = response.request.url.path if response.request is not None else "?"
    said = (
        f"TikTok {where}: code {error_field(code)}: {error_field(body.get('message'))} "
        f"(request_id {error_field(body.get('request_id')) or '-'})"
    )
    if code in RATE_LIMIT_CODES or response.status_code == 429:
        return RateLimited(said)
    if code in INTERNAL_CODES or response.status_code >= 500:
        return UpstreamUnavailable(said)
    if is_token_code(code):
        return CredentialError(f"{said}; the seller must authorise the app again (new auth code)")
    if code in APP_CODES:
        return CredentialError(f"{said}; check the connection's app_key and app_secret")
    if code in SHOP_CIPHER_CODES:
        return ConfigError(f"{said}; check the cipher of each shop in the connection's options")
    return TerminalError(said)


class TikTokTokens(OAuthRefresh):
    """TikTok's token calls: ``GET /api/v2/token/refresh`` (or ``token/get`` for a new auth code).

    Both answer ``data.access_token`` with ``access_token_expire_in`` as the Unix time it expires
    and a ``refresh_token`` to keep.
    """

    def __init__(self, *, auth_url: str, app_key: str, app_secret: str, auth_code: str | None, **kw: Any):
        super().__init__(
            token_url=auth_url.rstrip("/") + "/api/v2/token/refresh",
            client_id=app_key,
            client_secret=app_secret,
            header="x-tts-access-token",
            scheme=None,
            leeway=TOKEN_REFRESH_LEEWAY,
            **kw,
        )
        self._auth_url = auth_url.rstrip("/")
        self._app_secret = app_secret
        self.auth_code = auth_code

    def secrets(self) -> list[str]:
        return [*super().secrets(), *([self.auth_code] if self.auth_code else [])]

    async def request_token(self, client: httpx.AsyncClient) -> TokenSet:
        common = {"app_key": self.client_id, "app_secret": self._app_secret}
        if self.refresh_token:
            url = self.token_url
            params = {**common, "refresh_token": self.refresh_token, "grant_type": "refresh_token"}
        elif self.auth_code:
            url = self._auth_url + "/api/v2/token/get"
            params = {**common, "auth_code": self.auth_code, "grant_type": "authorized_code"}
        else:
            raise CredentialError("no refresh token or auth code; authorise the app again")
        try:
            response = await client.get(url, params=params)
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"TikTok token endpoint unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise UpstreamUnavailable(f"TikTok token endpoint answered HTTP {response.status_code}")
        body = _body(response)
        data = body.get("data") or {}
        if body.get("code") in INTERNAL_CODES | RATE_LIMIT_CODES:
            raise UpstreamUnavailable(
                f"TikTok token endpoint: code {error_field(body['code'])}: {error_field(body.get('message'))}"
            )
        if body.get("code") != 0 or not data.get("access_token"):
            what = "refresh token" if self.refresh_token else "auth code"
            raise CredentialError(
                f"TikTok refused the {what} (code {error_field(body.get('code'))}: "
                f"{error_field(body.get('message'))}); "
                "the seller must authorise the app again"
            )
        self.auth_code = None  # spent
        return TokenSet(
            access_token=str(data["access_token"]),
            expires_at=float(data["access_token_expire_in"]),
            refresh_token=data.get("refresh_token"),
        )


class TikTokAuth(Auth):
    """The access token header, then the signature over the request as it will be sent."""

    def __init__(self, tokens: TikTokTokens, *, app_key: str, app_secret: str, clock: Callable[[], float]):
        self.tokens = tokens
        self._app_key = app_key
        self.signer = HmacQuerySignature(
            secret=app_secret,
            message=signed_message(app_secret),
            params=lambda: {"app_key": app_key, "timestamp": str(int(clock()))},
        )

    async def prepare(self, request: httpx.Request) -> None:
        await self.tokens.prepare(request)
        await self.signer.prepare(request)

    async def refresh(self, client: httpx.AsyncClient) -> bool:
        return await self.tokens.refresh(client)

    def is_auth_failure(self, response: httpx.Response) -> bool:
        # Only token codes: a refused app or signature (106001, also HTTP 401) is not cured by a refresh.
        return is_token_code(_body(response).get("code"))

    def secrets(self) -> list[str]:
        return [self._app_key, *self.tokens.secrets(), *self.signer.secrets()]


class TikTokClient:
    """The API client of one connection; token sets are persisted through the hub's vault."""

    def __init__(
        self,
        source: TikTokSource,
        options: TikTokOptions,
        credentials: TikTokCredentials,
        *,
        budgets: RateBudgets | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._source = source
        secret = credentials.app_secret.get_secret_value()
        app_key = credentials.app_key.get_secret_value()
        self.tokens = TikTokTokens(
            auth_url=options.auth_url,
            app_key=app_key,
            app_secret=secret,
            auth_code=_reveal(credentials.auth_code),
            refresh_token=_reveal(credentials.refresh_token) or "",
            access_token=_reveal(credentials.access_token),
            expires_at=float(credentials.access_expires_at or 0),
            persist=self._persist,
            clock=clock,
        )
        self.auth = TikTokAuth(self.tokens, app_key=app_key, app_secret=secret, clock=clock)
        self.api = ApiClient(
            options.api_url,
            app=app_key,
            budgets=budgets or BUDGETS,
            limits={"*": RateLimit(options.requests_per_second, options.burst)},
            auth=self.auth,
            transport=source.context.transport,
            classify=classify,
            headers={"content-type": "application/json", "user-agent": "kpihub-tiktok/1.0"},
        )
        self.tokens.bind(self.api.http)

    async def call(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: dict[str, Any] | None = None,
        body: bytes | None = None,
    ) -> dict[str, Any]:
        """One API call; returns the envelope's ``data`` (an empty dict when absent)."""
        _, answer = await self.api.request(method, path, endpoint=endpoint, params=params, content=body)
        data = answer.get("data") if isinstance(answer, dict) else None
        return data if isinstance(data, dict) else {}

    async def _persist(self, tokens: TokenSet) -> None:
        """Store the new token set (encrypted) before it is used; a spent auth code is dropped."""
        credentials = self._source.credentials
        update: dict[str, Any] = {
            "access_token": SecretStr(tokens.access_token),
            "access_expires_at": int(tokens.expires_at),
            "auth_code": None,
        }
        if tokens.refresh_token:
            update["refresh_token"] = SecretStr(tokens.refresh_token)
        updated = credentials.model_copy(update=update)
        save = self._source.context.save_credentials
        if save is not None:
            await save(updated)
        self._source.credentials = updated

    def stats(self) -> dict[str, int]:
        return {**self.api.stats, "tokens_issued": self.tokens.refreshes}

    async def aclose(self) -> None:
        await self.api.aclose()


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None
