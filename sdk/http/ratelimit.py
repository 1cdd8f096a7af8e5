"""Token buckets: the shape of every marketplace rate limit, on both sides of the wire.

A connector takes a token before each call and so throttles *before* the platform answers
429; a simulator takes one per request and answers 429 when none is left. A bucket holds at
most ``burst`` tokens and gains ``rate`` tokens per second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateBudgets", "RateLimit", "TokenBucket"]

_EPSILON = 1e-9


@dataclass(frozen=True)
class RateLimit:
    """A documented limit: ``rate`` requests per second, bursts of up to ``burst``."""

    rate: float
    burst: float

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"a rate limit needs rate > 0 and burst >= 1, not {self.rate}/{self.burst}")


class TokenBucket:
    """A token bucket with a FIFO queue of waiters.

    ``take`` waits its turn, so concurrent callers are served in arrival order at exactly the
    bucket's pace; ``try_take`` never waits and says how long a token is away.
    """

    def __init__(self, limit: RateLimit, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._tokens = limit.burst
        self._updated = clock()
        self._turn: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.waited = 0.0
        """Seconds callers spent waiting for tokens, for progress displays and benchmarks."""

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.limit.burst, self._tokens + (now - self._updated) * self.limit.rate)
        self._updated = now

    def try_take(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` if they are there and return 0, else take nothing and return the wait."""
        self._refill()
        # The tolerance absorbs float rounding: after sleeping exactly the computed wait the
        # bucket may hold 0.9999999999999998 tokens, and a wait of 1e-17 s never advances.
        if self._tokens >= tokens - _EPSILON:
            self._tokens = max(0.0, self._tokens - tokens)
            return 0.0
        return (tokens - self._tokens) / self.limit.rate

    async def take(self, tokens: float = 1.0) -> None:
        """Wait until ``tokens`` are available, in turn with other callers, and take them."""
        loop = asyncio.get_running_loop()
        if self._turn is None or self._loop is not loop:
            # Budgets outlive event loops (one per CLI run or test); a lock belongs to one.
            self._turn, self._loop = asyncio.Lock(), loop
        async with self._turn:
            while (wait := self.try_take(tokens)) > 0:
                self.waited += wait
                await asyncio.sleep(wait)

    def set_rate(self, rate: float) -> None:
        """Follow a rate the platform announced (e.g. ``x-amzn-RateLimit-Limit``)."""
        if rate > 0 and rate != self.limit.rate:
            self._refill()
            self.limit = RateLimit(rate, self.limit.burst)

    def drain(self) -> None:
        """Empty the bucket: the platform said 429, so its view of our budget is empty."""
        self._refill()
        self._tokens = 0.0


class RateBudgets:
    """Buckets by (app credential, endpoint), shared by every shop that uses the same app.

    One instance serves a whole process; connectors ask it for the bucket of each call, seeded
    from the documented limit the first time a key is seen.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def bucket(self, app: str, endpoint: str, limit: RateLimit) -> TokenBucket:
        key = (app, endpoint)
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = TokenBucket(limit, clock=self._clock)
        return found

    def buckets(self) -> dict[tuple[str, str], TokenBucket]:
        return dict(self._buckets)
