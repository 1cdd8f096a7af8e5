"""Fault injection by rate: which requests a simulator answers badly, and how.

A ``FaultPlan`` draws at most one fault per request. The draw for the n-th request with a
given key is a hash of (seed, key, n), so a plan is deterministic for a seed and each key's
sequence of requests, however requests for different keys interleave. A retry of a faulted
request is the next request of its key and draws afresh, so retries eventually get through.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from fnmatch import fnmatchcase

__all__ = ["FaultKind", "FaultPlan"]


class FaultKind(StrEnum):
    """What can go wrong with one request, as a simulator plays it."""

    RATE_LIMIT_429 = "rate_limit_429"
    """A 429 in the platform's shape, with ``Retry-After`` of ``FaultPlan.retry_after`` seconds."""
    RATE_LIMIT_429_NO_RETRY_AFTER = "rate_limit_429_no_retry_after"
    """A 429 without ``Retry-After``: the client must choose its own back-off."""
    SERVER_500 = "server_500"
    SERVER_503 = "server_503"
    READ_TIMEOUT = "read_timeout"
    """The answer comes ``FaultPlan.timeout_seconds`` late, after a client's read timeout.

    httpx does not enforce timeouts through ``ASGITransport``; in process, a client sees only
    the delay unless it bounds its calls itself (``asyncio.wait_for``) or runs on loopback.
    """
    TRUNCATED_JSON = "truncated_json"
    """Status 200, the body cut in half."""
    MALFORMED_JSON = "malformed_json"
    """Status 200, a body that is not valid JSON (stray commas before the closing bracket)."""
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - a fault, not a password
    """The caller's access token is revoked just before the request is handled."""
    REPEAT_PAGE = "repeat_page"
    """The caller's previous page of the same endpoint is served again."""
    UPDATE_RECORDS = "update_records"
    """Records change under the caller (the simulator's ``update_records`` hook) mid-sync."""


class FaultPlan:
    """Faults of each kind at the given ``rates`` (fractions of requests, summing to at most 1).

    ``exclude`` holds glob patterns of paths never faulted (e.g. ``"/auth/*"`` for token
    endpoints). ``update_fraction`` is the share of open orders an ``update_records`` fault
    moves on. ``injected`` counts the faults drawn by kind, ``draws`` every request drawn for.
    """

    def __init__(
        self,
        seed: int,
        rates: Mapping[FaultKind | str, float],
        *,
        retry_after: float = 1.0,
        timeout_seconds: float = 30.0,
        update_fraction: float = 0.02,
        exclude: Iterable[str] = (),
    ) -> None:
        self.seed = seed
        self.rates = {FaultKind(kind): float(rate) for kind, rate in rates.items()}
        bad = {kind: rate for kind, rate in self.rates.items() if not 0 <= rate <= 1}
        if bad or sum(self.rates.values()) > 1:
            raise ValueError(f"fault rates must be in [0, 1] and sum to at most 1, not {self.rates}")
        self.retry_after = retry_after
        self.timeout_seconds = timeout_seconds
        self.update_fraction = update_fraction
        self.exclude = tuple(exclude)
        self.enabled = True
        self.injected: Counter[FaultKind] = Counter()
        self.draws = 0
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def applies_to(self, path: str) -> bool:
        return self.enabled and not any(fnmatchcase(path, pattern) for pattern in self.exclude)

    def draw(self, request_key: str) -> FaultKind | None:
        """The fault for the next request with ``request_key``, or None; counted in ``injected``."""
        with self._lock:
            occurrence = self._seen[request_key]
            self._seen[request_key] += 1
            self.draws += 1
            digest = hashlib.blake2b(f"{self.seed}\0{request_key}\0{occurrence}".encode(), digest_size=8)
            point = int.from_bytes(digest.digest(), "big") / 2**64
            for kind, rate in self.rates.items():
                if point < rate:
                    self.injected[kind] += 1
                    return kind
                point -= rate
            return None

    def skip(self, kind: FaultKind) -> None:
        """Uncount a drawn fault the simulator could not play (e.g. ``repeat_page`` on a first page)."""
        with self._lock:
            self.injected[kind] -= 1
            if self.injected[kind] <= 0:
                del self.injected[kind]

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No faults inside the block, e.g. while a test sets up its connection."""
        enabled, self.enabled = self.enabled, False
        try:
            yield
        finally:
            self.enabled = enabled
