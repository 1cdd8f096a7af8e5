"""Auth and signing hooks: how each request is authorised, and how tokens are renewed.

An ``Auth`` prepares every request just before it is sent (a bearer token, a header token,
an HMAC signature over the request) and, when the platform says the token is no longer good,
refreshes it once so the client can retry. Rotated tokens are handed to ``persist`` and
awaited *before* they are used, so a crash can never leave the store holding only a refresh
token the platform has already spent.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import ConfigError, CredentialError, UpstreamUnavailable
from .body import error_field, response_json

__all__ = [
    "Auth",
    "HeaderToken",
    "HmacQuerySignature",
    "NoAuth",
    "OAuthRefresh",
    "TokenSet",
    "hmac_sha256_hex",
]


def hmac_sha256_hex(key: str | bytes, message: str | bytes) -> str:
    """Lower-case hex HMAC-SHA256, the signature most marketplace APIs use."""
    raw_key = key.encode() if isinstance(key, str) else key
    raw_message = message.encode() if isinstance(message, str) else message
    return hmac.new(raw_key, raw_message, hashlib.sha256).hexdigest()


class Auth(ABC):
    """Authorises requests for one set of credentials."""

    @abstractmethod
    async def prepare(self, request: httpx.Request) -> None:
        """Add headers or signatures to ``request``. Called before every send, retries too."""

    async def refresh(self, client: httpx.AsyncClient) -> bool:
        """Renew the credentials after an auth failure; return whether a retry may help."""
        return False

    def is_auth_failure(self, response: httpx.Response) -> bool:
        """Whether ``response`` says the credentials (not the request) are the problem."""
        return response.status_code in (401, 403)

    def secrets(self) -> list[str]:
        """Every secret value this auth may put on the wire, so logs and errors can mask them."""
        return []


class NoAuth(Auth):
    """For public endpoints and simulators that need nothing."""

    async def prepare(self, request: httpx.Request) -> None:
        return None


class HeaderToken(Auth):
    """A fixed token sent in one header, e.g. ``Authorization: Bearer <token>``."""

    def __init__(self, token: str, *, header: str = "Authorization", scheme: str | None = "Bearer") -> None:
        self._token = token
        self._header = header
        self._scheme = scheme

    async def prepare(self, request: httpx.Request) -> None:
        request.headers[self._header] = f"{self._scheme} {self._token}" if self._scheme else self._token

    def secrets(self) -> list[str]:
        return [self._token]


SignedMessage = Callable[[str, list[tuple[str, str]], bytes], str]
"""Builds the string a platform signs from (path, query parameters, body bytes)."""


class HmacQuerySignature(Auth):
    """Adds common query parameters, then an HMAC-SHA256 signature of the request as a parameter.

    Platforms differ only in what they sign, so ``message`` builds that string from the
    request as it will be sent: its path, its query parameters (without the signature) and
    its body bytes. The signature is the lower-case hex HMAC with ``secret``. ``params``
    returns the parameters added first (app key, timestamp, shop id, access token …), so they
    can be part of what is signed. Simulators verify with the same ``message`` builder
    (``sdk.simulator.verify_query_signature``).
    """

    def __init__(
        self,
        *,
        secret: str,
        message: SignedMessage,
        params: Callable[[], Mapping[str, str]] | None = None,
        sign_param: str = "sign",
        secrets: Callable[[], list[str]] | None = None,
    ) -> None:
        self._secret = secret
        self._message = message
        self._params = params
        self._sign_param = sign_param
        self._secrets = secrets

    async def prepare(self, request: httpx.Request) -> None:
        url = request.url
        if self._params is not None:
            url = url.copy_merge_params(dict(self._params()))
        request.url = url.copy_remove_param(self._sign_param)
        params = list(request.url.params.multi_items())
        signature = hmac_sha256_hex(self._secret, self._message(request.url.path, params, request.content))
        request.url = request.url.copy_add_param(self._sign_param, signature)

    def secrets(self) -> list[str]:
        return [self._secret, *(self._secrets() if self._secrets else [])]


@dataclass(frozen=True)
class TokenSet:
    """What a token endpoint granted: an access token, when it expires, and maybe a new refresh token."""

    access_token: str
    expires_at: float
    refresh_token: str | None = None


class OAuthRefresh(Auth):
    """An access token kept fresh with a refresh token (Amazon LWA, TikTok, Shopee-style).

    ``request_token`` performs the platform's refresh call and returns a ``TokenSet``; the
    default posts the standard OAuth 2 form (``grant_type=refresh_token``). ``persist`` is
    awaited with every new ``TokenSet`` before it is used. The token is renewed ahead of its
    expiry (``leeway`` seconds) and, after an auth failure, once per failure. Concurrent calls
    share one refresh.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        access_token: str | None = None,
        expires_at: float = 0.0,
        header: str = "Authorization",
        scheme: str | None = "Bearer",
        persist: Callable[[TokenSet], Awaitable[None]] | None = None,
        leeway: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.refresh_token = refresh_token
        self.access_token = access_token
        self.expires_at = expires_at
        self._header = header
        self._scheme = scheme
        self._persist = persist
        self._leeway = leeway
        self._clock = clock
        self._lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self.refreshes = 0

    def secrets(self) -> list[str]:
        return [s for s in (self._client_secret, self.refresh_token, self.access_token) if s]

    def bind(self, client: httpx.AsyncClient) -> None:
        """The HTTP client to call the token endpoint with (the same transport as the API)."""
        self._client = client

    async def prepare(self, request: httpx.Request) -> None:
        if self.access_token is None or self._clock() >= self.expires_at - self._leeway:
            await self._renew(stale=self.access_token)
        assert self.access_token is not None
        request.headers[self._header] = (
            f"{self._scheme} {self.access_token}" if self._scheme else self.access_token
        )

    async def refresh(self, client: httpx.AsyncClient) -> bool:
        self._client = self._client or client
        await self._renew(stale=self.access_token)
        return True

    async def _renew(self, *, stale: str | None) -> None:
        async with self._lock:
            if self.access_token != stale:  # another call renewed it while we waited
                return
            if self._client is None:
                raise RuntimeError("OAuthRefresh.bind(client) must be called before use")
            granted = await self.request_token(self._client)
            if self._persist is not None:
                await self._persist(granted)
            self.access_token = granted.access_token
            self.expires_at = granted.expires_at
            if granted.refresh_token:
                self.refresh_token = granted.refresh_token
            self.refreshes += 1

    async def request_token(self, client: httpx.AsyncClient) -> TokenSet:
        """Call the token endpoint; override for platforms with their own refresh call."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token,
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        try:
            response = await client.post(self.token_url, data=form)
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"token endpoint unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise UpstreamUnavailable(f"token endpoint answered {response.status_code}")
        if response.status_code in (404, 405):
            raise ConfigError(
                f"the token endpoint answered HTTP {response.status_code}: the token URL is wrong; give the "
                "full URL of the token endpoint (e.g. https://api.amazon.com/auth/o2/token)"
            )
        body = _json(response)
        if response.status_code != 200 or "access_token" not in body:
            reason = (
                error_field(body.get("error_description")) or error_field(body.get("error"))
            ) or f"HTTP {response.status_code}"
            raise CredentialError(
                f"the refresh token was refused ({reason}); authorise the app again to get a new one"
            )
        return TokenSet(
            access_token=str(body["access_token"]),
            expires_at=self._clock() + float(body.get("expires_in", 3600)),
            refresh_token=body.get("refresh_token"),
        )


def _json(response: httpx.Response) -> Mapping[str, Any]:
    try:
        body = response_json(response)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
