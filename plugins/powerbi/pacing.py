"""Pacing POST rows requests within a dataset's documented limits, before Power BI answers 429.

The limits are counts over sliding windows (120 requests a minute, 1,000,000 rows an hour, 120
requests an hour once the table holds 250,000 rows) plus at most five requests in flight. A
request is admitted when every window it counts in has room; it is recorded at admission and
re-stamped when its answer arrives, which is never earlier than the service saw it, so a
window frees here no sooner than it does there.

Time is the monotonic clock sped up by ``time_scale`` (1 in production; simulators run hours
in seconds), the same clock the SDK simulator uses.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .limits import (
    LARGE_TABLE_ROWS,
    MAX_PENDING_POSTS,
    POSTS_PER_HOUR_LARGE_TABLE,
    POSTS_PER_MINUTE,
    ROWS_PER_HOUR,
)

__all__ = ["DatasetPacer", "SlidingWindow"]


@dataclass
class _Event:
    at: float
    units: float


class SlidingWindow:
    """At most ``limit`` units in any ``seconds`` long window."""

    def __init__(self, limit: float, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._events: deque[_Event] = deque()

    def _expire(self, now: float) -> None:
        while self._events and self._events[0].at <= now - self.seconds:
            self._events.popleft()

    def wait(self, now: float, units: float = 1.0) -> float:
        """Seconds until ``units`` more fit (0 when they fit now)."""
        if units > self.limit:
            raise ValueError(f"{units} units can never fit a window of {self.limit}")
        self._expire(now)
        used = sum(e.units for e in self._events)
        if used + units <= self.limit:
            return 0.0
        # Events leave in time order (re-stamps only move them later, so look at all).
        freed = 0.0
        for event in sorted(self._events, key=lambda e: e.at):
            freed += event.units
            if used - freed + units <= self.limit:
                return max(0.0, event.at + self.seconds - now)
        return self.seconds

    def record(self, now: float, units: float = 1.0) -> _Event:
        event = _Event(now, units)
        self._events.append(event)
        return event


class DatasetPacer:
    """The limits of one dataset; ``post`` runs a send when they allow it.

    ``clock`` (simulated seconds; default the monotonic clock times ``time_scale``) and
    ``sleep`` (real seconds) are injectable, so a test can run the windows on a virtual clock
    that moves only when the pacer waits.
    """

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        max_pending: int = MAX_PENDING_POSTS,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.time_scale = time_scale
        self._clock = clock
        self._sleep = sleep
        self.per_minute = SlidingWindow(POSTS_PER_MINUTE, 60.0)
        self.per_hour = SlidingWindow(POSTS_PER_HOUR_LARGE_TABLE, 3600.0)
        self.rows_per_hour = SlidingWindow(ROWS_PER_HOUR, 3600.0)
        self._pending = asyncio.Semaphore(max_pending)
        self._admission = asyncio.Lock()
        self._sending = 0
        self._answered = asyncio.Event()
        self.waited = 0.0
        """Simulated seconds spent waiting for the windows, for progress and benchmarks."""
        self.posts: list[float] = []
        """Admission times (simulated seconds) of every POST, for achieved-rate figures."""

    def now(self) -> float:
        return self._clock() if self._clock is not None else time.monotonic() * self.time_scale

    async def post(self, rows: int, table_rows: int, send: Callable[[], Awaitable[None]]) -> None:
        """Wait for room for a POST of ``rows`` into a table holding ``table_rows``, then send."""
        async with self._pending:
            async with self._admission:
                while (wait := self._wait(rows, table_rows)) > 0:
                    if self._sending:
                        # POSTs in flight carry provisional stamps (their admission): wait for
                        # their answers, which fix the stamps, before deciding how long to wait.
                        self._answered.clear()
                        await self._answered.wait()
                        continue
                    self.waited += wait
                    await self._sleep(wait / self.time_scale)
                now = self.now()
                self.posts.append(now)
                events = [
                    self.per_minute.record(now),
                    self.per_hour.record(now),
                    self.rows_per_hour.record(now, rows),
                ]
                self._sending += 1
            try:
                await send()
            finally:
                answered = self.now()
                for event in events:
                    event.at = answered
                self._sending -= 1
                self._answered.set()

    def _wait(self, rows: int, table_rows: int) -> float:
        now = self.now()
        waits = [self.per_minute.wait(now), self.rows_per_hour.wait(now, rows)]
        if table_rows >= LARGE_TABLE_ROWS:
            waits.append(self.per_hour.wait(now))
        return max(waits)
