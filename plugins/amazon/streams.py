"""Amazon streams: orders with their items, refunds, FBA inventory and Sponsored Products ads.

Each stream is partitioned by marketplace, the unit the hub calls a shop; a partition's
``defaults`` carry its shop id (and currency and warehouse where the records lack them).
Checkpoints hold the listing's position (window, next token, pending report id), so a
restarted sync continues the same listing or polls the same report.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

import jmespath

from sdk import Checkpoint, Partition, RawRecord, Stream, TerminalError, UpstreamUnavailable
from sdk.http import NextTokenPaginator, ReportStatus, decode_report, time_windows, wait_for_report

from .marketplaces import Marketplace, marketplace

if TYPE_CHECKING:
    from . import AmazonSource

__all__ = ["AdsStream", "InventoryStream", "OrdersStream", "OrdersV0Stream", "RefundsStream"]

# Amazon refuses an upper bound closer to now than two minutes; one more second of margin.
_LAG = dt.timedelta(minutes=2, seconds=1)
_FINANCES_SPAN = dt.timedelta(days=180)
_REPORT_SPAN_DAYS = 31


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class AmazonStream(Stream):
    """A stream with one partition per marketplace of the connection."""

    source: AmazonSource

    def partitions(self) -> list[Partition]:
        out = []
        for marketplace_id, shop_id in sorted(self.source.options.marketplaces.items()):
            market = marketplace(marketplace_id)
            out.append(
                Partition(
                    key=marketplace_id,
                    params={"marketplace_id": marketplace_id},
                    defaults={"shop_id": shop_id, **self.partition_defaults(market, shop_id)},
                )
            )
        return out

    def partition_defaults(self, market: Marketplace, shop_id: str) -> dict[str, Any]:
        """What this stream's rows take from their marketplace; the records do not say it."""
        return {"site": market.site, "currency": market.currency}

    def start(self) -> dt.datetime:
        """Where a listing with no saved state begins: ``--since``, the option, or 90 days back."""
        default = (dt.datetime.now(dt.UTC) - dt.timedelta(days=90)).date()
        first = self.source.context.since or self.source.options.start_date or default
        return dt.datetime.combine(first, dt.time(), dt.UTC)


class _UpdatedOrders(AmazonStream):
    """Orders updated since the last run, in one listing per run.

    The listing's upper bound (two minutes before now, as Amazon requires) is fixed when it
    starts and kept in the state with the page token, so a resumed listing sends exactly the
    parameters its token was issued for; the next run starts where this one's bound was.
    """

    path: ClassVar[str]
    endpoint: ClassVar[str]
    orders_path: ClassVar[str]
    next_page_path: ClassVar[str]
    next_page_param: ClassVar[str]

    @abstractmethod
    def query(self, partition: Partition, after: str, before: str) -> dict[str, Any]:
        """The listing's parameters, sent with every page."""

    async def complete(self, order: dict[str, Any]) -> RawRecord:
        """The raw record for one listed order."""
        return order

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        after = state.get("after") or _iso(self.start())
        before = state.get("before") or _iso(dt.datetime.now(dt.UTC) - _LAG)
        pages = NextTokenPaginator(token_path=self.next_page_path, param=self.next_page_param)
        pages.resume({"token": state.get("next_token")})
        while True:
            params = {**self.query(partition, after, before), **pages.params()}
            _, body = await self.source.clients.sp_api.request(
                "GET", self.path, endpoint=self.endpoint, params=params
            )
            for order in jmespath.search(self.orders_path, body) or []:
                yield await self.complete(order)
            if not pages.advance(body):
                yield Checkpoint({"after": before})
                return
            yield Checkpoint({"after": after, "before": before, "next_token": pages.token})


class OrdersStream(_UpdatedOrders):
    """Orders API v2026-01-01 ``searchOrders``: items come inside each order.

    ``includedData`` asks for the money (PROCEEDS), fulfilment and the delivery country.
    """

    name: ClassVar[str] = "orders"
    primary_key: ClassVar[tuple[str, ...]] = ("orderId",)
    cursor_field: ClassVar[str | None] = "lastUpdatedTime"
    default_mapping: ClassVar[str | None] = "mappings/orders_2026.json"
    path = "/orders/2026-01-01/orders"
    endpoint = "searchOrders"
    orders_path = "orders"
    next_page_path = "pagination.nextToken"
    next_page_param = "paginationToken"

    def query(self, partition: Partition, after: str, before: str) -> dict[str, Any]:
        return {
            "marketplaceIds": partition.params["marketplace_id"],
            "lastUpdatedAfter": after,
            "lastUpdatedBefore": before,
            "maxResultsPerPage": 100,
            "includedData": "PROCEEDS,FULFILLMENT,RECIPIENT",
        }


class OrdersV0Stream(_UpdatedOrders):
    """Orders API v0 ``getOrders``, each order with its ``getOrderItems`` attached.

    The raw record is Amazon's ``Order`` object plus ``OrderItems``, so one record holds
    everything the mapping needs.
    """

    name: ClassVar[str] = "orders"
    primary_key: ClassVar[tuple[str, ...]] = ("AmazonOrderId",)
    cursor_field: ClassVar[str | None] = "LastUpdateDate"
    default_mapping: ClassVar[str | None] = "mappings/orders.json"
    path = "/orders/v0/orders"
    endpoint = "getOrders"
    orders_path = "payload.Orders"
    next_page_path = "payload.NextToken"
    next_page_param = "NextToken"

    def query(self, partition: Partition, after: str, before: str) -> dict[str, Any]:
        return {
            "MarketplaceIds": partition.params["marketplace_id"],
            "LastUpdatedAfter": after,
            "LastUpdatedBefore": before,
            "MaxResultsPerPage": 100,
        }

    async def complete(self, order: dict[str, Any]) -> RawRecord:
        return {**order, "OrderItems": await self._items(order["AmazonOrderId"])}

    async def _items(self, order_id: str) -> list[dict[str, Any]]:
        api = self.source.clients.sp_api
        items: list[dict[str, Any]] = []
        token = None
        while True:
            params = {"NextToken": token} if token else None
            _, body = await api.request(
                "GET", f"/orders/v0/orders/{order_id}/orderItems", endpoint="getOrderItems", params=params
            )
            payload = body.get("payload") or {}
            if payload.get("AmazonOrderId") not in (None, order_id):
                # A page meant for another order (a repeated page upstream): ask again.
                raise UpstreamUnavailable(
                    f"getOrderItems for {order_id} answered for {payload['AmazonOrderId']}"
                )
            items.extend(payload.get("OrderItems") or [])
            token = payload.get("NextToken")
            if not token:
                return items


class RefundsStream(AmazonStream):
    """Refunds from the Finances API's ``RefundEventList``, in windows of at most 180 days."""

    name: ClassVar[str] = "refunds"
    primary_key: ClassVar[tuple[str, ...]] = (
        "AmazonOrderId",
        "PostedDate",
        "ShipmentItemAdjustmentList[0].OrderAdjustmentItemId",
    )
    cursor_field: ClassVar[str | None] = "PostedDate"
    default_mapping: ClassVar[str | None] = "mappings/refunds.json"

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        api = self.source.clients.sp_api
        channel = marketplace(partition.params["marketplace_id"]).sales_channel
        after = _parse(state["after"]) if state.get("after") else self.start()
        # Whole seconds, as the API takes them: a window shorter than that is empty, and
        # Amazon refuses PostedBefore equal to PostedAfter.
        end = (dt.datetime.now(dt.UTC) - _LAG).replace(microsecond=0)
        if end <= after:
            return
        token = state.get("next_token")
        for window_start, window_end in time_windows(after, end, _FINANCES_SPAN):
            upper = _parse(state["window_end"]) if token and state.get("window_end") else window_end
            while True:
                params = {
                    "PostedAfter": _iso(window_start),
                    "PostedBefore": _iso(upper),
                    "MaxResultsPerPage": 100,
                    **({"NextToken": token} if token else {}),
                }
                _, body = await api.request(
                    "GET", "/finances/v0/financialEvents", endpoint="listFinancialEvents", params=params
                )
                payload = body.get("payload") or {}
                events = (payload.get("FinancialEvents") or {}).get("RefundEventList") or []
                for event in events:
                    if event.get("MarketplaceName") == channel:
                        yield event
                token = payload.get("NextToken")
                if not token:
                    break
                yield Checkpoint(
                    {"after": _iso(window_start), "window_end": _iso(upper), "next_token": token}
                )
            yield Checkpoint({"after": _iso(upper)})


class InventoryStream(AmazonStream):
    """Today's FBA inventory per SKU; the listing restarts if its 30-second token expires."""

    name: ClassVar[str] = "inventory"
    primary_key: ClassVar[tuple[str, ...]] = ("snapshotDate", "sellerSku")
    default_mapping: ClassVar[str | None] = "mappings/inventory.json"
    max_restarts = 3

    def partition_defaults(self, market: Marketplace, shop_id: str) -> dict[str, Any]:
        # One FBA pool per seller and marketplace, i.e. per shop; no cost, so no currency.
        return {"warehouse": f"FBA-{shop_id}"}

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        marketplace_id = partition.params["marketplace_id"]
        today = dt.datetime.now(dt.UTC).date().isoformat()
        for attempt in range(self.max_restarts + 1):
            try:
                # A snapshot is only complete once the whole listing is read; buffer it so an
                # expired token restarts cleanly.
                summaries = await self._listing(marketplace_id)
                break
            except TerminalError as exc:
                if "expired" not in str(exc).lower() or attempt == self.max_restarts:
                    raise
        for summary in summaries:
            # The API has no snapshot date; the day it was read is what the record means.
            yield {**summary, "snapshotDate": today}
        yield Checkpoint({"date": today})

    async def _listing(self, marketplace_id: str) -> list[dict[str, Any]]:
        api = self.source.clients.sp_api
        out: list[dict[str, Any]] = []
        token = None
        while True:
            params = {
                "granularityType": "Marketplace",
                "granularityId": marketplace_id,
                "marketplaceIds": marketplace_id,
                "details": "true",
                **({"nextToken": token} if token else {}),
            }
            _, body = await api.request(
                "GET", "/fba/inventory/v1/summaries", endpoint="getInventorySummaries", params=params
            )
            out.extend((body.get("payload") or {}).get("inventorySummaries") or [])
            token = (body.get("pagination") or {}).get("nextToken")
            if not token:
                return out


class AdsStream(AmazonStream):
    """Sponsored Products daily campaign reports (reporting v3), re-reading restated days.

    A report is created, polled until complete and downloaded; its id is checkpointed as soon
    as it exists so a restarted sync polls the same report, and a duplicate-request answer
    (HTTP 425) that names an existing report is reused.
    """

    name: ClassVar[str] = "ads"
    primary_key: ClassVar[tuple[str, ...]] = ("date", "campaignId")
    cursor_field: ClassVar[str | None] = "date"
    default_mapping: ClassVar[str | None] = "mappings/ads.json"

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        options = self.source.options
        profile = await self._profile(partition.params["marketplace_id"])
        yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        if state.get("done_through"):
            first = dt.date.fromisoformat(state["done_through"]) - dt.timedelta(
                days=options.ads_lookback_days - 1
            )
        else:
            first = self.start().date()
        if state.get("window"):  # a report was pending when the last run stopped
            first = dt.date.fromisoformat(state["window"][0])
        day = first
        while day <= yesterday:
            last = min(yesterday, day + dt.timedelta(days=_REPORT_SPAN_DAYS - 1))
            window = [day.isoformat(), last.isoformat()]
            report_id = state.get("report_id") if state.get("window") == window else None
            if report_id is None:
                report_id = await self._create(profile, window)
                yield Checkpoint({**state, "window": window, "report_id": report_id})
            for row in await self._wait_and_download(profile, report_id):
                yield row
            state = {"done_through": last.isoformat()}
            yield Checkpoint(state)
            day = last + dt.timedelta(days=1)

    async def _profile(self, marketplace_id: str) -> str:
        _, profiles = await self.source.clients.ads.request("GET", "/v2/profiles", endpoint="profiles")
        for profile in profiles or []:
            if (profile.get("accountInfo") or {}).get("marketplaceStringId") == marketplace_id:
                return str(profile["profileId"])
        raise TerminalError(
            f"no Amazon Ads profile for marketplace {marketplace_id}; is advertising enabled for this seller?"
        )

    def _columns(self) -> list[str]:
        window = self.source.options.attribution_window
        return [
            "date",
            "campaignId",
            "campaignName",
            "impressions",
            "clicks",
            "cost",
            f"sales{window}d",
            f"purchases{window}d",
            f"unitsSoldClicks{window}d",
        ]

    async def _create(self, profile: str, window: list[str]) -> str:
        body = {
            "name": f"kpihub sp campaigns {window[0]}..{window[1]}",
            "startDate": window[0],
            "endDate": window[1],
            "configuration": {
                "adProduct": "SPONSORED_PRODUCTS",
                "groupBy": ["campaign"],
                "columns": self._columns(),
                "reportTypeId": "spCampaigns",
                "timeUnit": "DAILY",
                "format": "GZIP_JSON",
            },
        }
        response, answer = await self.source.clients.ads.request(
            "POST",
            "/reporting/reports",
            endpoint="createReport",
            content=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/vnd.createasyncreportrequest.v3+json",
                "Amazon-Advertising-API-Scope": profile,
            },
            accept=(425,),
        )
        if response.status_code == 425:
            found = re.search(r"duplicate of\s*:\s*(\S+)", str((answer or {}).get("detail", "")))
            if found is None:
                raise UpstreamUnavailable("Ads answered 425 without naming the duplicate report")
            return found.group(1)
        return str(answer["reportId"])

    async def _wait_and_download(self, profile: str, report_id: str) -> list[dict[str, Any]]:
        options = self.source.options
        clients = self.source.clients

        async def status(report: str) -> ReportStatus:
            _, body = await clients.ads.request(
                "GET",
                f"/reporting/reports/{report}",
                endpoint="getReport",
                headers={"Amazon-Advertising-API-Scope": profile},
            )
            state = body.get("status")
            return ReportStatus(
                done=state == "COMPLETED" and bool(body.get("url")),
                url=body.get("url"),
                failed=state in ("FAILED", "FAILURE", "CANCELLED"),
                reason=body.get("failureReason"),
            )

        ready = await wait_for_report(
            report_id,
            status,
            poll_seconds=options.report_poll_seconds,
            max_wait_seconds=options.report_max_wait_seconds,
        )
        assert ready.url is not None
        download, _ = await clients.download.request("GET", ready.url, endpoint="downloadReport")
        return decode_report(download.content, "GZIP_JSON")
