"""Paginators, time windows and token buckets, against independent expectations."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdk.http import (
    CursorPaginator,
    NextTokenPaginator,
    PageNumberPaginator,
    RateBudgets,
    RateLimit,
    TokenBucket,
    ratelimit,
    time_windows,
)


def test_next_token_walks_and_resumes():
    pages = {
        None: {"payload": {"NextToken": "t1"}},
        "t1": {"payload": {"NextToken": "t2"}},
        "t2": {"payload": {}},
    }
    paginator = NextTokenPaginator(token_path="payload.NextToken", param="NextToken")
    seen = []
    while True:
        token = paginator.params().get("NextToken")
        seen.append(token)
        if not paginator.advance(pages[token]):
            break
    assert seen == [None, "t1", "t2"]
    resumed = NextTokenPaginator(token_path="payload.NextToken", param="NextToken")
    resumed.resume({"token": "t1"})
    assert resumed.params() == {"NextToken": "t1"}


def test_cursor_stops_when_more_is_false_even_with_a_cursor():
    paginator = CursorPaginator(cursor_path="response.next_cursor", more_path="response.more", param="cursor")
    assert paginator.advance({"response": {"more": True, "next_cursor": "20"}})
    assert paginator.params() == {"cursor": "20"}
    assert not paginator.advance({"response": {"more": False, "next_cursor": "40"}})


def test_page_numbers_by_short_page_total_and_more():
    by_size = PageNumberPaginator(param="page", size_param="size", size=2, items_path="items")
    assert by_size.params() == {"page": 1, "size": 2}
    assert by_size.advance({"items": [1, 2]}) and not by_size.advance({"items": [3]})
    by_total = PageNumberPaginator(
        param="page", size_param="size", size=2, items_path="items", total_path="total"
    )
    assert by_total.advance({"items": [1, 2], "total": 3}) and not by_total.advance(
        {"items": [3], "total": 3}
    )
    by_more = PageNumberPaginator(param="p", size_param="s", size=2, items_path="x", more_path="more")
    assert not by_more.advance({"x": [1, 2], "more": False})
    assert by_more.state() == {"page": 2}


@given(
    start=st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)),
    length=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=400)),
    span=st.timedeltas(min_value=dt.timedelta(hours=6), max_value=dt.timedelta(days=180)),
)
def test_time_windows_cover_exactly_without_overlap(start, length, span):
    end = start + length
    windows = list(time_windows(start, end, span))
    if length == dt.timedelta(0):
        assert windows == []
        return
    assert windows[0][0] == start and windows[-1][1] == end
    for (_, a_to), (b_from, _) in itertools.pairwise(windows):
        assert a_to == b_from
    assert all(dt.timedelta(0) < to - frm <= span for frm, to in windows)


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def clock(self):
        return self.now

    async def sleep(self, seconds):
        self.now += seconds


def test_bucket_paces_concurrent_callers_at_its_rate(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(ratelimit.asyncio, "sleep", fake.sleep)
    bucket = TokenBucket(RateLimit(rate=5, burst=3), clock=fake.clock)
    finished = []

    async def caller(n):
        await bucket.take()
        finished.append((n, fake.now))

    async def main():
        await asyncio.gather(*(caller(n) for n in range(13)))

    asyncio.run(main())
    # 3 from the burst at t=0, then one every 1/5 s: the 13th at (13 - 3) / 5 = 2 s.
    assert [n for n, _ in finished] == list(range(13)), "served in arrival order"
    assert [t for _, t in finished][:3] == [0, 0, 0]
    assert finished[-1][1] == pytest.approx(2.0)
    assert bucket.waited == pytest.approx(2.0)


def test_budgets_are_shared_per_app_and_endpoint():
    budgets = RateBudgets()
    limit = RateLimit(rate=1, burst=1)
    assert budgets.bucket("app-A", "orders", limit) is budgets.bucket("app-A", "orders", limit)
    assert budgets.bucket("app-A", "orders", limit) is not budgets.bucket("app-B", "orders", limit)
    assert budgets.bucket("app-A", "orders", limit) is not budgets.bucket("app-A", "refunds", limit)


def test_invalid_limits_are_refused():
    with pytest.raises(ValueError, match="rate > 0"):
        RateLimit(rate=0, burst=1)


def test_a_second_app_is_not_slowed_by_the_first(monkeypatch):
    """Budgets are per app: a backlog on app A leaves app B's calls immediate."""
    import httpx

    from sdk.http import ApiClient

    fake = FakeTime()
    real_sleep = asyncio.sleep

    async def sleep(seconds):
        fake.now += seconds
        await real_sleep(0)

    monkeypatch.setattr(ratelimit.asyncio, "sleep", sleep)
    budgets = RateBudgets(clock=fake.clock)
    limits = {"orders": RateLimit(rate=1, burst=3)}  # the client keeps one token back: burst 2
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    done: dict[str, list[float]] = {"A": [], "B": []}

    async def call(api, app):
        await api.request("GET", "/orders", endpoint="orders")
        done[app].append(fake.now)

    async def main():
        a = ApiClient("https://a.test", app="A", budgets=budgets, limits=limits, transport=transport)
        b = ApiClient("https://b.test", app="B", budgets=budgets, limits=limits, transport=transport)
        await asyncio.gather(*(call(a, "A") for _ in range(10)), call(b, "B"))
        await a.aclose()
        await b.aclose()

    asyncio.run(main())
    assert max(done["A"]) == pytest.approx(8.0), "A: 2 from its burst, then 1 per second"
    assert done["B"] == [pytest.approx(0.0, abs=1.0)], "B waited for no more than one of A's ticks"
