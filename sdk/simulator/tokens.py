"""An auth server's memory: clients, grants, access and refresh tokens, and their lifetimes.

Two refresh styles cover the platforms: long-lived refresh tokens that stay the same across
refreshes (Amazon LWA), and single-use ones where each refresh answers with a new refresh
token and the old one is dead (Shopee, Lingxing). Access tokens expire after ``access_ttl``
seconds of the injected clock, so tests move time instead of waiting for it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Principal", "TokenAuthority", "TokenGrant", "TokenRefused", "TokenRejection"]


class TokenRejection(StrEnum):
    """Why a token was not accepted."""

    MISSING = "missing"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED = "used"
    """A single-use refresh token or authorisation code presented a second time."""
    WRONG_CLIENT = "wrong_client"
    """The client id or secret sent along does not match the token's client."""


class TokenRefused(Exception):
    """A refresh or code exchange the authority refuses; ``reason`` says why."""

    def __init__(self, reason: TokenRejection) -> None:
        super().__init__(f"token refused: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    """Who a token speaks for: an app (``client_id``) acting for a seller or shop (``subject``)."""

    client_id: str
    subject: str


@dataclass(frozen=True)
class TokenGrant:
    """What a token endpoint answers: an access token, its lifetime, and the refresh token to keep."""

    principal: Principal
    access_token: str
    expires_in: int
    access_expires_at: float
    refresh_token: str
    refresh_expires_at: float | None


@dataclass
class _Token:
    principal: Principal
    expires_at: float | None
    revoked: bool = False
    used: bool = False


class TokenAuthority:
    """Issues, checks, refreshes and revokes tokens against ``clock`` (Unix seconds).

    ``refresh_ttl=None`` makes refresh tokens live until revoked. With ``single_use_refresh``
    every refresh spends the refresh token and hands out a new one. ``issued`` counts access
    tokens handed out, ``refreshed`` successful refreshes, ``refused`` refused refreshes and
    code exchanges by reason, ``rejected`` access tokens that failed ``validate`` by reason.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        access_ttl: float = 3600.0,
        refresh_ttl: float | None = None,
        single_use_refresh: bool = False,
        code_ttl: float = 600.0,
        access_prefix: str = "",
        refresh_prefix: str = "",
    ) -> None:
        self.clock = clock
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.single_use_refresh = single_use_refresh
        self.code_ttl = code_ttl
        self.access_prefix = access_prefix
        self.refresh_prefix = refresh_prefix
        self.clients: dict[str, str] = {}
        self.issued = 0
        self.refreshed = 0
        self.refused: Counter[TokenRejection] = Counter()
        self.rejected: Counter[TokenRejection] = Counter()
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self._codes: dict[str, _Token] = {}
        self._lock = threading.Lock()

    def register_client(
        self, client_id: str | None = None, client_secret: str | None = None
    ) -> tuple[str, str]:
        """Register an app and return its ``(client_id, client_secret)``, made up when not given."""
        client_id = client_id or f"client-{secrets.token_hex(6)}"
        client_secret = client_secret or secrets.token_urlsafe(24)
        with self._lock:
            self.clients[client_id] = client_secret
        return client_id, client_secret

    def check_client(self, client_id: str, client_secret: str) -> bool:
        known = self.clients.get(client_id)
        return known is not None and secrets.compare_digest(known, client_secret)

    def grant(self, client_id: str, subject: str) -> TokenGrant:
        """A seller authorised ``client_id``: the first access and refresh tokens for ``subject``."""
        if client_id not in self.clients:
            raise KeyError(f"unknown client {client_id!r}; register it first")
        with self._lock:
            return self._issue(Principal(client_id, subject))

    def issue_code(self, client_id: str, subject: str) -> str:
        """A one-time authorisation code, valid for ``code_ttl`` seconds, to exchange for a grant."""
        code = secrets.token_hex(16)
        with self._lock:
            self._codes[code] = _Token(Principal(client_id, subject), self.clock() + self.code_ttl)
        return code

    def exchange_code(self, code: str, *, client_id: str, client_secret: str | None = None) -> TokenGrant:
        """Trade an authorisation code for a grant; raises ``TokenRefused`` saying why it cannot."""
        with self._lock:
            found = self._codes.get(code)
            self._check(found, client_id, client_secret)
            assert found is not None
            found.used = True
            return self._issue(found.principal)

    def refresh(
        self, refresh_token: str, *, client_id: str | None = None, client_secret: str | None = None
    ) -> TokenGrant:
        """A new access token for a refresh token; raises ``TokenRefused`` saying why it cannot.

        When ``client_id`` (and ``client_secret``) are given they must be the token's client's.
        Single-use refresh tokens are spent here and the grant carries their successor.
        """
        with self._lock:
            found = self._refresh.get(refresh_token)
            self._check(found, client_id, client_secret)
            assert found is not None
            self.refreshed += 1
            if self.single_use_refresh:
                found.used = True
                return self._issue(found.principal)
            return self._issue(found.principal, refresh_token=refresh_token, refresh=found)

    def validate(self, access_token: str) -> Principal | None:
        """The principal of a live access token, or None (``rejection`` says why)."""
        reason = self.rejection(access_token)
        if reason is not None:
            with self._lock:
                self.rejected[reason] += 1
            return None
        return self._access[access_token].principal

    def owner(self, access_token: str) -> Principal | None:
        """Whom an access token was issued to, live or not, without counting a rejection."""
        found = self._access.get(access_token)
        return found.principal if found is not None else None

    def rejection(self, access_token: str | None) -> TokenRejection | None:
        """Why ``access_token`` would be refused now, or None if it is live."""
        if not access_token:
            return TokenRejection.MISSING
        found = self._access.get(access_token)
        if found is None:
            return TokenRejection.UNKNOWN
        if found.revoked:
            return TokenRejection.REVOKED
        if found.expires_at is not None and self.clock() >= found.expires_at:
            return TokenRejection.EXPIRED
        return None

    def revoke_access(self, access_token: str) -> None:
        with self._lock:
            if access_token in self._access:
                self._access[access_token].revoked = True

    def revoke_refresh(self, refresh_token: str) -> None:
        with self._lock:
            if refresh_token in self._refresh:
                self._refresh[refresh_token].revoked = True

    def _check(self, found: _Token | None, client_id: str | None, client_secret: str | None) -> None:
        reason = None
        if found is None:
            reason = TokenRejection.UNKNOWN
        elif client_id is not None and (
            client_id != found.principal.client_id
            or (client_secret is not None and not self.check_client(client_id, client_secret))
        ):
            reason = TokenRejection.WRONG_CLIENT
        elif found.revoked:
            reason = TokenRejection.REVOKED
        elif found.used:
            reason = TokenRejection.USED
        elif found.expires_at is not None and self.clock() >= found.expires_at:
            reason = TokenRejection.EXPIRED
        if reason is not None:
            self.refused[reason] += 1
            raise TokenRefused(reason)

    def _issue(
        self, principal: Principal, *, refresh_token: str | None = None, refresh: _Token | None = None
    ) -> TokenGrant:
        now = self.clock()
        access_token = self.access_prefix + secrets.token_urlsafe(32)
        self._access[access_token] = _Token(principal, now + self.access_ttl)
        if refresh_token is None or refresh is None:
            refresh_token = self.refresh_prefix + secrets.token_urlsafe(32)
            expires = None if self.refresh_ttl is None else now + self.refresh_ttl
            refresh = self._refresh[refresh_token] = _Token(principal, expires)
        self.issued += 1
        return TokenGrant(
            principal=principal,
            access_token=access_token,
            expires_in=round(self.access_ttl),
            access_expires_at=now + self.access_ttl,
            refresh_token=refresh_token,
            refresh_expires_at=refresh.expires_at,
        )
