"""The async API client every connector uses: budgets, auth, retries and error translation.

Each call takes a token from its rate budget first, so a well-configured connector never sees
a 429; it is prepared by the connector's ``Auth``; and its outcome is translated at this one
boundary into the SDK's error tree: 429 → ``RateLimited`` (with ``Retry-After``), 5xx, timeouts,
connection errors and unreadable bodies → transient, 400/404 → ``ConfigError``, 401/403 after
one refresh → ``CredentialError``. Transient errors are retried with tenacity (exponential
backoff with jitter, capped, honouring ``retry_after``). Business errors that platforms return
inside a 200 body are recognised by the connector's ``classify`` hook.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from ..errors import (
    ConfigError,
    CredentialError,
    KpihubError,
    QuotaExhausted,
    RateLimited,
    TerminalError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from .auth import Auth, NoAuth, OAuthRefresh
from .body import error_field, response_json
from .ratelimit import RateBudgets, RateLimit
from .redact import Redactor

__all__ = ["ApiClient", "Classifier", "RetryPolicy", "parse_retry_after"]

log = logging.getLogger("kpihub.http")

Classifier = Callable[[httpx.Response, Any], KpihubError | None]
"""Looks at a response and its decoded body; returns the error it carries, or ``None``."""


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried: attempts, backoff and its cap, in seconds."""

    attempts: int = 6
    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 0.5


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class ApiClient:
    """An ``httpx.AsyncClient`` with the toolkit around it, for one set of credentials.

    ``app`` keys the rate budgets: every connection that uses the same app credential shares
    them. ``limits`` maps an endpoint name to its documented limit; ``rate_header`` names a
    response header that announces the applied rate in requests per second.
    """

    def __init__(
        self,
        base_url: str,
        *,
        app: str,
        budgets: RateBudgets,
        limits: Mapping[str, RateLimit],
        auth: Auth | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        classify: Classifier | None = None,
        rate_header: str | None = None,
        headers: Mapping[str, str] | None = None,
        redactor: Redactor | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url, transport=transport, timeout=timeout, headers=headers
        )
        self.app = app
        self.budgets = budgets
        self.limits = dict(limits)
        self.auth = auth or NoAuth()
        if isinstance(self.auth, OAuthRefresh):
            self.auth.bind(self.http)
        self.retry = retry
        self.classify = classify
        self.rate_header = rate_header
        self.redactor = redactor or Redactor()
        self.redactor.add_secrets(self.auth.secrets)
        self._sleep = sleep
        self._backoff = wait_exponential_jitter(
            multiplier=retry.initial, max=retry.maximum, jitter=retry.jitter
        )
        self.stats: Counter[str] = Counter()
        """Requests, retries by reason, token refreshes: what a run reports."""

    async def aclose(self) -> None:
        await self.http.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        accept: Collection[int] = (),
    ) -> tuple[httpx.Response, Any]:
        """Send one logical call, retried as needed; return the response and its decoded body.

        Statuses in ``accept`` are returned, not raised, for platforms that answer a normal
        case with an error status (Amazon Ads: 425 for a duplicate report request).
        """
        retrying = AsyncRetrying(
            # A spent quota comes back only at its reset time: the run stops instead of waiting.
            retry=retry_if_exception(
                lambda exc: (
                    isinstance(exc, KpihubError) and exc.transient and not isinstance(exc, QuotaExhausted)
                )
            ),
            wait=self._wait,
            stop=stop_after_attempt(self.retry.attempts),
            before_sleep=self._count_retry,
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(
                    method,
                    url,
                    endpoint,
                    params=params,
                    json_body=json_body,
                    data=data,
                    headers=headers,
                    content=content,
                    accept=accept,
                )
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _wait(self, state: RetryCallState) -> float:
        backoff = self._backoff(state)
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        return min(self.retry.maximum, retry_after) if retry_after is not None else backoff

    def _count_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        self.stats[f"retry:{type(exc).__name__}"] += 1
        self.stats["retries"] += 1
        log.info("retrying after %s: %s", type(exc).__name__, self.redactor.text(str(exc)))

    async def _attempt(
        self,
        method: str,
        url: str,
        endpoint: str,
        **kwargs: Any,
    ) -> tuple[httpx.Response, Any]:
        limit = self.limits.get(endpoint) or self.limits.get("*")
        if limit is None:
            raise ConfigError(f"no rate limit is declared for endpoint {endpoint!r}")
        # One token of the burst is held back: requests reach the platform with varying delays,
        # so calls spaced exactly at the rate can arrive closer together than they left.
        headroom = RateLimit(limit.rate, max(1.0, limit.burst - 1))
        bucket = self.budgets.bucket(self.app, endpoint, headroom)
        refreshed = False
        while True:
            await bucket.take()
            response = await self._send(method, url, **kwargs)
            if self.auth.is_auth_failure(response) and not refreshed:
                refreshed = await self.auth.refresh(self.http)
                if refreshed:
                    self.stats["token_refreshes"] += 1
                    continue
            break
        self._follow_rate_header(response, bucket)
        if response.status_code == 429:
            bucket.drain()
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise RateLimited(f"{endpoint}: rate limited (HTTP 429)", retry_after=retry_after)
        body = self._decode(response, endpoint)
        if response.status_code in kwargs["accept"]:
            return response, body
        if self.classify is not None and (error := self.classify(response, body)) is not None:
            raise error
        self._raise_for_status(response, body, endpoint)
        return response, body

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        kwargs.pop("accept", None)
        request = self.http.build_request(
            method,
            url,
            params=kwargs.get("params"),
            json=kwargs.get("json_body"),
            data=kwargs.get("data"),
            headers=kwargs.get("headers"),
            content=kwargs.get("content"),
        )
        await self.auth.prepare(request)
        self.stats["requests"] += 1
        log.debug("%s %s", request.method, self.redactor.url(str(request.url)))
        try:
            return await self.http.send(request)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(
                f"{request.method} {self.redactor.url(str(request.url))} timed out"
            ) from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(
                f"{request.method} {self.redactor.url(str(request.url))} failed: {type(exc).__name__}"
            ) from exc

    def _follow_rate_header(self, response: httpx.Response, bucket: Any) -> None:
        if self.rate_header and (announced := response.headers.get(self.rate_header)):
            try:
                bucket.set_rate(float(announced))
            except ValueError:
                log.debug("ignoring unreadable %s header", self.rate_header)

    def _decode(self, response: httpx.Response, endpoint: str) -> Any:
        if not response.content:
            return None
        kind = response.headers.get("content-type", "")
        if "json" not in kind and response.content.lstrip()[:1] not in (b"{", b"["):
            return response.content
        try:
            return response_json(response)
        except ValueError:
            # A cut or garbled body is a transport accident; reading it again usually works.
            raise UpstreamUnavailable(f"{endpoint}: unreadable JSON in the response") from None

    def _raise_for_status(self, response: httpx.Response, body: Any, endpoint: str) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = self.redactor.text(_summary(body))
        if status >= 500:
            raise UpstreamUnavailable(f"{endpoint}: HTTP {status} {detail}".rstrip())
        if self.auth.is_auth_failure(response):
            raise CredentialError(
                f"{endpoint}: the platform refused the credentials (HTTP {status}) {detail}".rstrip()
            )
        if status in (408, 425):
            raise UpstreamUnavailable(f"{endpoint}: HTTP {status} {detail}".rstrip())
        raise TerminalError(
            f"{endpoint}: the platform rejected the request (HTTP {status}) {detail}".rstrip()
        )


def _summary(body: Any) -> str:
    """The platform's own error code and message, short: only scalar fields are quoted, never
    a body (``error_field``)."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return f"{error_field(first.get('code'))}: {error_field(first.get('message'))}".strip(": ")
        for code_key, message_key in (("code", "message"), ("error", "message"), ("code", "detail")):
            if code_key in body:
                return f"{error_field(body.get(code_key))}: {error_field(body.get(message_key))}".strip(": ")
    return ""
