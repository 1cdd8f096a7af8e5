"""Shopee streams, one partition per shop: orders (with escrow), returns, daily CPC ads.

Listings run in windows Shopee allows (15 days of ``update_time``; ads at most a month) up to
a bound fixed when the run starts and kept in the state with the listing's position (cursor
or page number), so a restarted sync continues the same listing; the next run starts where
this one's bound was.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

from sdk import Checkpoint, Partition, RawRecord, Stream, UpstreamUnavailable
from sdk.http import CursorPaginator, PageNumberPaginator, time_windows

from .regions import region

if TYPE_CHECKING:
    from .source import ShopeeSource

__all__ = ["AdsStream", "OrdersStream", "ReturnsStream"]

log = logging.getLogger("kpihub.shopee")

WINDOW = dt.timedelta(days=15)
"""The longest ``update_time`` range get_order_list and get_return_list take."""
PAGE_SIZE = 100
DETAIL_BATCH = 50
ADS_SPAN_DAYS = 30
_LAG = dt.timedelta(seconds=60)

DETAIL_FIELDS = ",".join(
    (
        "buyer_user_id",
        "recipient_address",
        "item_list",
        "pay_time",
        "buyer_cancel_reason",
        "cancel_by",
        "cancel_reason",
        "fulfillment_flag",
        "pickup_done_time",
        "package_list",
        "shipping_carrier",
        "payment_method",
        "total_amount",
    )
)
"""The optional detail fields the standard model needs: money, lines, times, cancellation, packages."""

_DETAIL_ATTEMPTS = 3
ESCROW_IN_FLIGHT = 8
"""get_escrow_detail calls in flight at once per shop (one call per paid order)."""
_NO_ESCROW = ("UNPAID", "CANCELLED", "IN_CANCEL", "PENDING", "INVOICE_PENDING")
"""Statuses without settlement (nothing paid, or nothing kept): no escrow detail to read."""


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _moment(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


class ShopeeStream(Stream):
    """A stream with one partition per shop of the connection."""

    source: ShopeeSource

    def partitions(self) -> list[Partition]:
        out = []
        for shop_id, code in sorted(self.source.options.shops.items()):
            site = region(code)
            out.append(
                Partition(
                    key=shop_id,
                    params={"shop_id": shop_id},
                    defaults={"shop_id": shop_id, "site": site.code, "currency": site.currency},
                )
            )
        return out

    def start(self) -> dt.datetime:
        """Where a listing with no saved state begins: ``--since``, the option, or 90 days back."""
        default = (dt.datetime.now(dt.UTC) - dt.timedelta(days=90)).date()
        first = self.source.context.since or self.source.options.start_date or default
        return dt.datetime.combine(first, dt.time(), dt.UTC)

    async def get(self, shop_id: str, path: str, params: dict[str, Any]) -> Any:
        """One signed GET; the answer's ``response`` object (errors are raised by the client)."""
        # Budgets are per API, named as the simulator and the docs do: "order.get_order_list".
        api = path.removeprefix("/api/v2/").replace("/", ".")
        _, body = await self.source.client(shop_id).request("GET", path, endpoint=api, params=params)
        response = body.get("response") if isinstance(body, dict) else None
        if response is None:
            raise UpstreamUnavailable(f"{path}: the answer has no response")
        return response

    async def get_one(
        self, shop_id: str, path: str, params: dict[str, Any], key: str, wanted: str
    ) -> dict[str, Any]:
        """A detail answer that must be about ``wanted``; one about something else is asked again."""
        for _ in range(_DETAIL_ATTEMPTS):
            found: dict[str, Any] = await self.get(shop_id, path, params)
            if str(found.get(key)) == str(wanted):
                return found
        raise UpstreamUnavailable(f"{path} for {key} {wanted} keeps answering about something else")

    def bounds(self, state: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
        after = _moment(state["after"]) if state.get("after") else self.start()
        before = _moment(state["before"]) if state.get("before") else dt.datetime.now(dt.UTC) - _LAG
        return after, before.replace(microsecond=0)


class OrdersStream(ShopeeStream):
    """get_order_list by ``update_time``, then get_order_detail in batches of 50, and for paid
    orders payment.get_escrow_detail (fees, shipping paid, seller discount, tax) as ``escrow``."""

    name: ClassVar[str] = "orders"
    primary_key: ClassVar[tuple[str, ...]] = ("order_sn",)
    cursor_field: ClassVar[str | None] = "update_time"
    default_mapping: ClassVar[str | None] = "mappings/orders.json"

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        shop_id = partition.params["shop_id"]
        after, before = self.bounds(state)
        cursor = state.get("cursor")
        for low, high in time_windows(after, before, WINDOW):
            pages = CursorPaginator(
                cursor_path="response.next_cursor", more_path="response.more", param="cursor"
            )
            pages.resume({"token": cursor})
            cursor = None  # a saved cursor belongs to the first window only
            while True:
                params = {
                    "time_range_field": "update_time",
                    "time_from": _epoch(low),
                    "time_to": _epoch(high),
                    "page_size": PAGE_SIZE,
                    "cursor": pages.token or "",
                    "response_optional_fields": "order_status",
                }
                listing = await self.get(shop_id, "/api/v2/order/get_order_list", params)
                numbers = [o["order_sn"] for o in listing.get("order_list") or []]
                for start in range(0, len(numbers), DETAIL_BATCH):
                    for order in await self._details(shop_id, numbers[start : start + DETAIL_BATCH]):
                        yield order
                if not pages.advance({"response": listing}):
                    break
                yield Checkpoint({"after": _epoch(low), "before": _epoch(before), "cursor": pages.token})
            yield Checkpoint({"after": _epoch(high), "before": _epoch(before)})
        yield Checkpoint({"after": _epoch(before)})

    async def _details(self, shop_id: str, numbers: list[str]) -> list[RawRecord]:
        asked = set(numbers)
        for attempt in range(_DETAIL_ATTEMPTS):
            detail = await self.get(
                shop_id,
                "/api/v2/order/get_order_detail",
                {"order_sn_list": ",".join(numbers), "response_optional_fields": DETAIL_FIELDS},
            )
            orders = [o for o in detail.get("order_list") or [] if o.get("order_sn") in asked]
            if len(orders) == len(asked):
                break
            # A page for other orders, or some missing: ask again. If Shopee keeps leaving some
            # out, keep the others rather than stop the shop for good; the missing ones are
            # named in the log and come back when they next change (or with --since).
            if attempt == _DETAIL_ATTEMPTS - 1:
                if not orders:
                    raise UpstreamUnavailable("get_order_detail keeps answering for other orders than asked")
                missing = sorted(asked - {o["order_sn"] for o in orders})
                log.warning("shop %s: get_order_detail left out orders %s", shop_id, ", ".join(missing))
        # Several escrow calls in flight per shop, paced by the app's shared budget: calls that
        # meet a revoked token together share one refresh (ShopAuth.refresh), so the single-use
        # refresh token is spent once.
        paid = [o["order_sn"] for o in orders if o.get("order_status") not in _NO_ESCROW]
        gate = asyncio.Semaphore(ESCROW_IN_FLIGHT)

        async def escrow(order_sn: str) -> dict[str, Any]:
            async with gate:
                return await self._escrow(shop_id, order_sn)

        # A TaskGroup: one failure cancels the calls still in flight instead of leaving them running.
        try:
            async with asyncio.TaskGroup() as group:
                tasks = {sn: group.create_task(escrow(sn)) for sn in paid}
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None  # the connector's own error, as one call raises it
        by_number = {sn: task.result() for sn, task in tasks.items()}
        return [{**order, "escrow": by_number.get(order["order_sn"])} for order in orders]

    async def _escrow(self, shop_id: str, order_sn: str) -> dict[str, Any]:
        return await self.get_one(
            shop_id, "/api/v2/payment/get_escrow_detail", {"order_sn": order_sn}, "order_sn", order_sn
        )


class ReturnsStream(ShopeeStream):
    """get_return_list by ``update_time`` (page numbers from 0), each return's get_return_detail."""

    name: ClassVar[str] = "returns"
    primary_key: ClassVar[tuple[str, ...]] = ("return_sn",)
    cursor_field: ClassVar[str | None] = "update_time"
    default_mapping: ClassVar[str | None] = "mappings/returns.json"

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        shop_id = partition.params["shop_id"]
        after, before = self.bounds(state)
        page = state.get("page")
        for low, high in time_windows(after, before, WINDOW):
            pages = PageNumberPaginator(
                param="page_no",
                size_param="page_size",
                size=PAGE_SIZE,
                items_path="response.return",
                start=0,
                more_path="response.more",
            )
            pages.resume({"page": page or 0})
            page = None
            while True:
                params = {"update_time_from": _epoch(low), "update_time_to": _epoch(high), **pages.params()}
                listing = await self.get(shop_id, "/api/v2/returns/get_return_list", params)
                for item in listing.get("return") or []:
                    yield await self._detail(shop_id, item["return_sn"])
                if not pages.advance({"response": listing}):
                    break
                yield Checkpoint({"after": _epoch(low), "before": _epoch(before), "page": pages.page})
            yield Checkpoint({"after": _epoch(high), "before": _epoch(before)})
        yield Checkpoint({"after": _epoch(before)})

    async def _detail(self, shop_id: str, return_sn: str) -> RawRecord:
        return await self.get_one(
            shop_id, "/api/v2/returns/get_return_detail", {"return_sn": return_sn}, "return_sn", return_sn
        )


class AdsStream(ShopeeStream):
    """ads.get_all_cpc_ads_daily_performance: the shop's CPC totals per day, re-reading the last
    ``ads_lookback_days`` (Shopee restates recent days). Ranges of at most a month; Shopee refuses
    a range of one day (that is the hourly API), so a lone day is read with the day before."""

    name: ClassVar[str] = "ads"
    # A day's totals do not name their shop: the stream adds ``shop_id`` so shops' days stay apart.
    primary_key: ClassVar[tuple[str, ...]] = ("shop_id", "date")
    cursor_field: ClassVar[str | None] = "date"
    default_mapping: ClassVar[str | None] = "mappings/ads.json"

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        shop_id = partition.params["shop_id"]
        yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        if state.get("done_through"):
            lookback = self.source.options.ads_lookback_days
            first = dt.date.fromisoformat(state["done_through"]) - dt.timedelta(days=lookback - 1)
        else:
            first = self.start().date()
        while first <= yesterday:
            last = min(yesterday, first + dt.timedelta(days=ADS_SPAN_DAYS - 1))
            begin = min(first, last - dt.timedelta(days=1))
            params = {"start_date": begin.strftime("%d-%m-%Y"), "end_date": last.strftime("%d-%m-%Y")}
            rows = await self.get(shop_id, "/api/v2/ads/get_all_cpc_ads_daily_performance", params)
            if not isinstance(rows, list):
                raise UpstreamUnavailable("get_all_cpc_ads_daily_performance answered without a list of days")
            for row in rows:
                yield {**row, "shop_id": shop_id}
            yield Checkpoint({"done_through": last.isoformat()})
            first = last + dt.timedelta(days=1)
