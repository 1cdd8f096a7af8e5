"""Paginators as small strategy objects, and time-window slicing.

A paginator turns one page's decoded body into the parameters of the next page, or ``None``
when the listing is over. Its position is plain data (``state``/``resume``) so a stream can
put it in a checkpoint and a restarted sync can continue from the page it was on.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import jmespath

__all__ = [
    "CursorPaginator",
    "NextTokenPaginator",
    "PageNumberPaginator",
    "Paginator",
    "time_windows",
]


class Paginator(ABC):
    """Where a listing is, and how to ask for the next page."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Query (or body) parameters that ask for the current page."""

    @abstractmethod
    def advance(self, body: Any) -> bool:
        """Move past the page ``body``; return whether there is another page."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """The position, as checkpointable data."""

    @abstractmethod
    def resume(self, state: dict[str, Any]) -> None:
        """Continue from a position ``state()`` returned."""


class NextTokenPaginator(Paginator):
    """Pages linked by an opaque token found at ``token_path`` (e.g. Amazon ``NextToken``)."""

    def __init__(self, *, token_path: str, param: str) -> None:
        self._path = jmespath.compile(token_path)
        self._param = param
        self.token: str | None = None

    def params(self) -> dict[str, Any]:
        return {self._param: self.token} if self.token else {}

    def advance(self, body: Any) -> bool:
        token = self._path.search(body)
        self.token = str(token) if token else None
        return self.token is not None

    def state(self) -> dict[str, Any]:
        return {"token": self.token}

    def resume(self, state: dict[str, Any]) -> None:
        self.token = state.get("token")


class CursorPaginator(NextTokenPaginator):
    """Pages linked by a cursor plus a "more" flag (e.g. Shopee ``next_cursor`` / ``more``)."""

    def __init__(self, *, cursor_path: str, more_path: str, param: str) -> None:
        super().__init__(token_path=cursor_path, param=param)
        self._more = jmespath.compile(more_path)

    def advance(self, body: Any) -> bool:
        has_more = bool(self._more.search(body))
        super().advance(body)
        if not has_more:
            self.token = None
        return has_more and self.token is not None


class PageNumberPaginator(Paginator):
    """Numbered pages, ended by a short page, a "more" flag or a total count."""

    def __init__(
        self,
        *,
        param: str,
        size_param: str,
        size: int,
        items_path: str,
        start: int = 1,
        more_path: str | None = None,
        total_path: str | None = None,
    ) -> None:
        self._param = param
        self._size_param = size_param
        self._size = size
        self._items = jmespath.compile(items_path)
        self._more = jmespath.compile(more_path) if more_path else None
        self._total = jmespath.compile(total_path) if total_path else None
        self._start = start
        self.page = start

    def params(self) -> dict[str, Any]:
        return {self._param: self.page, self._size_param: self._size}

    def advance(self, body: Any) -> bool:
        items = self._items.search(body) or []
        seen = (self.page - self._start + 1) * self._size
        self.page += 1
        if self._more is not None:
            return bool(self._more.search(body))
        if self._total is not None:
            return seen < int(self._total.search(body) or 0)
        return len(items) >= self._size

    def state(self) -> dict[str, Any]:
        return {"page": self.page}

    def resume(self, state: dict[str, Any]) -> None:
        self.page = int(state.get("page", self._start))


def time_windows(
    start: dt.datetime, end: dt.datetime, span: dt.timedelta
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Consecutive ``[from, to)`` windows of at most ``span`` covering ``start``..``end``.

    For APIs that cap a query window (Shopee 15 days, Amazon finances 180 days).
    """
    if span <= dt.timedelta(0):
        raise ValueError("a time window must be longer than zero")
    cursor = start
    while cursor < end:
        upper = min(end, cursor + span)
        yield cursor, upper
        cursor = upper
