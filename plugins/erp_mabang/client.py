"""The Mabang gateway: one POST per call, the JSON body signed byte for byte.

Every call is ``POST <base_url>`` with ``{"api", "appkey", "data", "timestamp", "version"}``
(all values text, ``timestamp`` in Unix seconds, read by Mabang in GMT+8) and the header
``Authorization: hex(HMAC-SHA256(app secret, body bytes))``. The body is serialised once and
those bytes are both signed and sent: a signature over a re-serialisation (other spacing, key
order or escaping) would not match what Mabang receives. Failures come back as HTTP 200 with a
``code`` other than 200; ``classify`` maps them onto the SDK's error tree in one place.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from sdk import ConfigError, CredentialError, KpihubError, RateLimited, TerminalError, UpstreamUnavailable
from sdk.http import ApiClient, Auth, RateBudgets, RateLimit, RetryPolicy, error_field, hmac_sha256_hex

__all__ = [
    "BUDGETS",
    "ERROR_CODES",
    "GMT8",
    "RETRY",
    "BodySignature",
    "MabangClient",
    "classify",
    "encode_body",
    "gmt8_text",
]

GMT8 = dt.timezone(dt.timedelta(hours=8), "GMT+8")
"""Mabang's clock: time windows and times in records are wall-clock GMT+8."""

BUDGETS = RateBudgets()
"""Process-wide: every connection of the same app key draws on the same buckets."""

RETRY = RetryPolicy(attempts=8, maximum=30.0)
"""Mabang documents no limits and clients "just retry": a few more attempts than the default."""

ERROR_CODES: dict[str, type[KpihubError]] = {
    "401": CredentialError,
    "403": CredentialError,
    "1001": CredentialError,
    "1002": CredentialError,
    "400": ConfigError,
    "404": ConfigError,
    "429": RateLimited,
    "500": UpstreamUnavailable,
    "503": UpstreamUnavailable,
}
"""Business codes Mabang answers inside HTTP 200, by the error they mean.

Mabang publishes no code list (platform-apis.md §5.4); these are the ones its clients and our
simulator use. Anything else is terminal: retrying a request the ERP refused for a reason we
do not know would only repeat the refusal.
"""


def encode_body(api: str, app_key: str, data: Mapping[str, Any], timestamp: int, version: str) -> bytes:
    """The request body, compact JSON in Mabang's field order; every value is text."""
    body = {
        "api": api,
        "appkey": app_key,
        "data": {key: _text(value) for key, value in data.items()},
        "timestamp": str(timestamp),
        "version": version,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    return value


def gmt8_text(moment: dt.datetime) -> str:
    """``moment`` as Mabang's ``yyyy-MM-dd HH:mm:ss`` in GMT+8."""
    return moment.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S")


class BodySignature(Auth):
    """``Authorization: hex(HMAC-SHA256(secret, the request's body bytes))`` - no scheme, no prefix.

    It signs ``request.content``, the bytes httpx will send, so what is signed is what is sent.
    """

    def __init__(self, secret: str, *, header: str = "Authorization") -> None:
        self._secret = secret
        self._header = header

    async def prepare(self, request: httpx.Request) -> None:
        request.headers[self._header] = hmac_sha256_hex(self._secret, request.content)

    def is_auth_failure(self, response: httpx.Response) -> bool:
        # A refused signature is answered in the body (classify); there is no token to renew.
        return False

    def secrets(self) -> list[str]:
        return [self._secret]


def classify(response: httpx.Response, body: Any) -> KpihubError | None:
    """The error a 200 answer carries in its ``code``, keeping Mabang's message; None if it is fine."""
    if response.status_code != 200 or not isinstance(body, dict):
        return None
    code = str(body.get("code", "")).strip()
    if code == "200":
        return None
    message = error_field(body.get("message")) or error_field(body.get("msg")) or "no message"
    kind = ERROR_CODES.get(code, TerminalError)
    text = f"Mabang refused the call: code {code or '(none)'}: {message}"
    if kind is CredentialError:
        text += "; check the connection's app_key and app_secret"
    return kind(text)


class MabangClient:
    """Calls one Mabang account's gateway; ``call`` returns the answer's ``data`` object."""

    def __init__(
        self,
        *,
        base_url: str,
        app_key: str,
        app_secret: str,
        version: str,
        requests_per_second: float,
        transport: httpx.AsyncBaseTransport | None = None,
        budgets: RateBudgets | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_key = app_key
        self.version = version
        self.url = base_url
        self._clock = clock
        # Mabang has one gateway URL for every API; the API name keys the budget.
        self.http = ApiClient(
            base_url,
            app=app_key,
            budgets=budgets or BUDGETS,
            limits={"*": RateLimit(requests_per_second, max(1.0, requests_per_second))},
            auth=BodySignature(app_secret),
            transport=transport,
            classify=classify,
            retry=RETRY,
            headers={"content-type": "application/json", "user-agent": "kpihub-erp_mabang/1.0"},
        )

    async def call(self, api: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """One API call; its ``data`` object (``{}`` if the answer has none)."""
        content = encode_body(api, self.app_key, data, int(self._clock()), self.version)
        _, body = await self.http.request("POST", self.url, endpoint=api, content=content)
        if not isinstance(body, dict):
            raise UpstreamUnavailable(f"{api}: the answer is not a JSON object")
        payload = body.get("data")
        return payload if isinstance(payload, dict) else {}

    def stats(self) -> dict[str, int]:
        return dict(self.http.stats)

    async def aclose(self) -> None:
        await self.http.aclose()
