"""Shopee's error codes, mapped once to the SDK's error tree.

Every Shopee answer carries ``error``: empty on success, a code otherwise, whatever the HTTP
status (often 200). Rate limits and server trouble are transient; a spent daily quota
(``error_limit``) pauses the connection until 00:00 UTC+8, when Shopee resets it; auth and
signature errors are credential errors (the client refreshes the shop's token once first);
anything else is a request the platform will keep refusing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from sdk import (
    ConfigError,
    CredentialError,
    KpihubError,
    QuotaExhausted,
    RateLimited,
    TerminalError,
    UpstreamUnavailable,
)
from sdk.http import error_field, parse_retry_after

__all__ = [
    "AUTH_RETRY_ERRORS",
    "CREDENTIAL_ERRORS",
    "QUOTA_RESET_TZ",
    "RATE_LIMIT_ERRORS",
    "SERVER_ERRORS",
    "classify",
    "error_code",
    "from_error",
    "quota_resets_at",
]

QUOTA_RESET_TZ = dt.timezone(dt.timedelta(hours=8))
"""Shopee resets daily call quotas at midnight in UTC+8."""

AUTH_RETRY_ERRORS = frozenset({"error_auth", "error_sign", "invalid_acceess_token", "invalid_access_token"})
"""Answers after which the shop's token is refreshed once and the call retried.

``invalid_acceess_token`` is Shopee's own spelling."""

CREDENTIAL_ERRORS = AUTH_RETRY_ERRORS | {
    "invalid_partner_id",
    "error_partner_key_expired",
    "partner_shop_no_link",
    "shop_no_linked",
    "shop_banned",
    "error_api_permission",
    "error_ashop_api_permission",
    "error_api_call_restricted",
    "api_suspended",
    "source_ip_undeclared",
    "error_kyc_auth",
    "error_permission",
    "error_shop",
}
RATE_LIMIT_ERRORS = frozenset(
    {
        "error_rate_limit",
        "ads.rate_limit.exceed_partner_api",
        "ads.rate_limit.exceed_shop_api",
        "ads.rate_limit.exceed_api",
    }
)
SERVER_ERRORS = frozenset({"error_server", "error_network", "error_inner", "error_busy", "error_exception"})

_HINTS = {
    "error_sign": "check the partner_key of the connection",
    "invalid_partner_id": "check the partner_id option; a test partner id works only with a sandbox host",
    "error_partner_key_expired": "renew the partner key in the Shopee Open Platform console",
    "source_ip_undeclared": "declare this machine's IP address in the app's settings",
}
_REAUTHORISE = "authorise the shop again (shop/auth_partner) and store its new refresh token"


def error_code(body: Any) -> str:
    """The ``error`` field of a Shopee answer; "" when there is none (samples write "-")."""
    if not isinstance(body, dict):
        return ""
    code = body.get("error")
    if not isinstance(code, str) or code.strip() in ("", "-"):
        return ""
    return code.strip().removeprefix("common.")


def quota_resets_at(now: dt.datetime | None = None) -> dt.datetime:
    """The next 00:00 UTC+8 after ``now``, in UTC."""
    local = (now or dt.datetime.now(dt.UTC)).astimezone(QUOTA_RESET_TZ)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), QUOTA_RESET_TZ)
    return midnight.astimezone(dt.UTC)


def from_error(code: str, message: str, where: str, retry_after: float | None = None) -> KpihubError:
    """The SDK error for Shopee's ``code`` answered to a call of ``where`` (a path)."""
    text = f"{where}: Shopee answered {code}" + (f" ({message})" if message else "")
    if code in RATE_LIMIT_ERRORS:
        return RateLimited(text, retry_after=retry_after)
    if code in SERVER_ERRORS:
        return UpstreamUnavailable(text, retry_after=retry_after)
    if code == "error_limit":
        resume = quota_resets_at()
        return QuotaExhausted(
            f"{text}: the app's daily call quota is spent; Shopee resets it at 00:00 UTC+8 "
            f"({resume.isoformat(timespec='seconds')})",
            resume_at=resume,
        )
    if code in CREDENTIAL_ERRORS:
        return CredentialError(f"{text}; {_HINTS.get(code, _REAUTHORISE)}")
    if code in ("error_param", "order.order_list_invalid_time") or code.startswith("ads.performance."):
        return ConfigError(f"{text}; the request was refused as invalid")
    return TerminalError(text)


def classify(response: httpx.Response, body: Any) -> KpihubError | None:
    """The ``ApiClient`` hook: an error carried in the body, whatever the status."""
    code = error_code(body)
    if not code:
        if response.status_code == 200 and not isinstance(body, dict):
            return UpstreamUnavailable(f"{response.request.url.path}: the answer is not a JSON object")
        return None
    message = error_field(body.get("message"))
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return from_error(code, message, response.request.url.path, retry_after)
