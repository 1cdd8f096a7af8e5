"""Shopee's request signature: one message builder for the connector and its simulator.

``sign = hex(HMAC-SHA256(partner_key, partner_id + path + timestamp [+ access_token + shop_id |
merchant_id]))``: plain concatenation of the common query parameters with the path (no host),
lower-case hex. Shop APIs add the access token and shop id, merchant APIs the access token and
merchant id, public APIs (auth, token refresh) nothing. Shopee signs neither the body nor the
other query parameters.
"""

from __future__ import annotations

from collections.abc import Iterable

from sdk.http import hmac_sha256_hex

__all__ = ["SIGNATURE_WINDOW_SECONDS", "base_string", "sign", "signed_message"]

SIGNATURE_WINDOW_SECONDS = 300
"""A request is accepted within five minutes of its ``timestamp``."""


def base_string(
    partner_id: int | str,
    path: str,
    timestamp: int | str,
    access_token: str | None = None,
    scope_id: int | str | None = None,
) -> str:
    """What Shopee signs; ``scope_id`` is the shop id (shop APIs) or merchant id (merchant APIs)."""
    return f"{partner_id}{path}{timestamp}{access_token or ''}{scope_id or ''}"


def sign(
    partner_key: str,
    partner_id: int | str,
    path: str,
    timestamp: int | str,
    access_token: str | None = None,
    scope_id: int | str | None = None,
) -> str:
    return hmac_sha256_hex(partner_key, base_string(partner_id, path, timestamp, access_token, scope_id))


def signed_message(path: str, params: Iterable[tuple[str, str]], body: bytes) -> str:
    """The ``SignedMessage`` of a request as sent (``sdk.http.HmacQuerySignature`` and
    ``sdk.simulator.verify_query_signature`` both call it): built from its query parameters."""
    query = dict(params)
    scope = query.get("shop_id") or query.get("merchant_id")
    return base_string(
        query.get("partner_id", ""), path, query.get("timestamp", ""), query.get("access_token"), scope
    )
