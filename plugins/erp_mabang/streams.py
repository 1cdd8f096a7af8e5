"""Mabang streams: orders, returns, SKUs with costs, stock, shops and currency rates.

Orders and returns are read per Mabang shop (a partition whose ``defaults`` carry the hub's
platform and shop id), in ``updateTime`` / ``createDate`` windows paged by cursor; a
checkpoint after every page holds the window and the cursor, so a restarted sync continues the
same listing. SKUs, stock and rates are whole listings read again each run; stock is a daily
snapshot, so each record gets the day (GMT+8) it was read.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

from sdk import Checkpoint, Partition, RawRecord, Stream
from sdk.http import CursorPaginator, time_windows

from .amounts import ORDER_AMOUNTS, amount_problems
from .client import GMT8, gmt8_text

if TYPE_CHECKING:
    from .source import MabangSource

__all__ = [
    "CurrencyRatesStream",
    "OrdersStream",
    "ReturnsStream",
    "ShopsStream",
    "SkusStream",
    "StockStream",
]

log = logging.getLogger("kpihub.erp_mabang")

# Mabang's clock runs a little behind or ahead of ours; the newest minute is read next run.
_LAG = dt.timedelta(minutes=1)


def _pages() -> CursorPaginator:
    return CursorPaginator(cursor_path="nextCursor", more_path="hasNext", param="cursor")


class MabangStream(Stream):
    source: MabangSource

    async def listing(
        self, api: str, query: dict[str, Any], state: dict[str, Any]
    ) -> AsyncIterator[tuple[list[RawRecord], str | None]]:
        """Pages of ``api`` from the cursor in ``state``; each with the cursor after it (None: done)."""
        pages = _pages()
        pages.resume({"token": state.get("cursor")})
        while True:
            data = {**query, "maxRows": self.source.options.max_rows, "cursor": pages.token or ""}
            body = await self.source.client.call(api, data)
            more = pages.advance(body)
            yield list(body.get("data") or []), pages.token if more else None
            if not more:
                return


class ShopStream(MabangStream):
    """A stream with one partition per Mabang shop the connection maps to a hub shop."""

    def partitions(self) -> list[Partition]:
        out = []
        for mabang_id, shop in sorted(self.source.options.shops.items()):
            defaults: dict[str, Any] = {"platform": shop.platform, "shop_id": shop.shop_id}
            if shop.site:
                defaults["site"] = shop.site
            out.append(Partition(key=mabang_id, params={"shopId": mabang_id}, defaults=defaults))
        return out


class _Windowed(ShopStream):
    """A listing by time window (``<field>Start`` inclusive, ``<field>End`` exclusive)."""

    api: ClassVar[str]
    window_field: ClassVar[str]
    lookback: ClassVar[str | None] = None

    def start(self) -> dt.datetime:
        default = (dt.datetime.now(GMT8) - dt.timedelta(days=90)).date()
        first = self.source.context.since or self.source.options.start_date or default
        return dt.datetime.combine(first, dt.time(), GMT8)

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        options = self.source.options
        if "before" in state:  # a listing in progress: the same bounds, window and cursor
            after, before = _at(state["after"]), _at(state["before"])
            window_from = _at(state.get("window") or state["after"])
        else:
            after = (
                _at(state["after"]) if "after" in state and not self.source.context.since else self.start()
            )
            if self.lookback and "after" in state:
                after -= dt.timedelta(days=getattr(options, self.lookback))
            # Mabang reads windows to the second: whole seconds, so no window is empty on the wire.
            before = (dt.datetime.now(GMT8) - _LAG).replace(microsecond=0)
            window_from = after
        span = dt.timedelta(days=options.window_days)
        cursor_state = {"cursor": state.get("cursor")}
        for lower, upper in time_windows(window_from, before, span):
            query = {
                "shopId": partition.params["shopId"],
                f"{self.window_field}Start": gmt8_text(lower),
                f"{self.window_field}End": gmt8_text(upper),
            }
            async for records, cursor in self.listing(self.api, query, cursor_state):
                for record in records:
                    yield record
                position = {"window": _iso(lower), "cursor": cursor} if cursor else {"window": _iso(upper)}
                yield Checkpoint({"after": _iso(after), "before": _iso(before), **position})
            cursor_state = {}
        yield Checkpoint({"after": _iso(before)})


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


class OrdersStream(_Windowed):
    """``order-get-order-list-new`` by ``updateTime``: orders with items, money and logistics."""

    name: ClassVar[str] = "orders"
    primary_key: ClassVar[tuple[str, ...]] = ("erpOrderId",)
    cursor_field: ClassVar[str | None] = "updateTime"
    default_mapping: ClassVar[str | None] = "mappings/orders.json"
    api = "order-get-order-list-new"
    window_field = "updateTime"

    def problems(self, record: RawRecord) -> list[str]:
        found = amount_problems(record, ORDER_AMOUNTS)
        for n, item in enumerate(record.get("orderItem") or []):
            if isinstance(item, dict):
                line = {
                    **item,
                    "currencyId": record.get("currencyId"),
                    "currencyRate": record.get("currencyRate"),
                }
                found += amount_problems(line, ("sellPrice",), where=f"orderItem[{n}].")
        return found


class ReturnsStream(_Windowed):
    """``order-get-return-order-list-v2`` by ``createDate``, re-reading a lookback for status changes."""

    name: ClassVar[str] = "returns"
    primary_key: ClassVar[tuple[str, ...]] = ("returnId",)
    cursor_field: ClassVar[str | None] = "createDate"
    default_mapping: ClassVar[str | None] = "mappings/returns.json"
    api = "order-get-return-order-list-v2"
    window_field = "createDate"
    lookback = "returns_lookback_days"

    def problems(self, record: RawRecord) -> list[str]:
        return amount_problems(record, ("refundAmount",))


class _WholeListing(MabangStream):
    """A listing read whole each run, resumable by cursor within the run."""

    api: ClassVar[str]

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        async for records, cursor in self.listing(self.api, {}, state):
            for record in records:
                yield record
            yield Checkpoint({"cursor": cursor} if cursor else {})


class SkusStream(_WholeListing):
    """``stock-do-search-sku-list-new``: every SKU with category, default (purchase) and stock cost."""

    name: ClassVar[str] = "skus"
    primary_key: ClassVar[tuple[str, ...]] = ("stockSku",)
    default_mapping: ClassVar[str | None] = "mappings/skus.json"
    api = "stock-do-search-sku-list-new"


class StockStream(MabangStream):
    """``stock-get-stock-quantity``: today's stock per SKU and warehouse (own and third-party)."""

    name: ClassVar[str] = "stock"
    primary_key: ClassVar[tuple[str, ...]] = ("snapshotDate", "stockSku", "warehouseId")
    default_mapping: ClassVar[str | None] = "mappings/stock.json"
    api = "stock-get-stock-quantity"

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        today = dt.datetime.now(GMT8).date().isoformat()
        # A listing interrupted on an earlier day is stale: today's snapshot starts afresh.
        resume = state if state.get("date") == today else {}
        async for records, cursor in self.listing(self.api, {}, resume):
            for record in records:
                # The API has no snapshot date; the day (Mabang's) it was read is what it means.
                yield {**record, "snapshotDate": today}
            yield Checkpoint({"date": today, "cursor": cursor} if cursor else {"date": today})


NOT_MAPPED = "kpihubNotMapped"
"""Set on a listed shop the connection's ``shops`` option leaves out (no Mabang field has it)."""


class ShopsStream(ShopStream):
    """``sys-get-shop-list``: name, platform and currency of each mapped shop, for the shops dimension.

    The account's shops the connection does not map are kept too, quarantined by ``problems``
    with a reason that names them: nothing of theirs is read (orders, returns), and the hub's
    data-quality report (``kpihub check``) shows them until they are mapped and synced."""

    name: ClassVar[str] = "shops"
    primary_key: ClassVar[tuple[str, ...]] = ("shopId",)
    default_mapping: ClassVar[str | None] = "mappings/shops.json"
    api = "sys-get-shop-list"
    hinted = False

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        body = await self.source.client.call(self.api, {})
        listed = body.get("data") or []
        self._hint(listed)
        mapped = self.source.options.shops
        # Unmapped shops come with the first partition only, so each is landed once a run. The
        # marker keeps one quarantined even at a remap after it was mapped: it landed under
        # another shop's partition, whose defaults would give it that shop's key; a sync lands
        # it again under its own.
        first = partition.params["shopId"] == min(mapped)
        for shop in listed:
            shop_id = str(shop.get("shopId"))
            if shop_id == partition.params["shopId"]:
                yield shop
            elif first and shop_id not in mapped:
                yield {**shop, NOT_MAPPED: True}
        yield Checkpoint({})

    def problems(self, record: RawRecord) -> list[str]:
        if not record.get(NOT_MAPPED):
            return []
        return [
            f"Mabang shop {record.get('shopId')} ({record.get('platformId')}, {record.get('shopName')}) is "
            "not in the connection's `shops` option, so none of its orders or returns are read: map it "
            "to the hub's platform and shop_id there (or leave it if another connection reads that shop)"
        ]

    def _hint(self, listed: list[dict[str, Any]]) -> None:
        """Name the account's shops the connection does not map, once a run, so they can be added."""
        unmapped = [s for s in listed if str(s.get("shopId")) not in self.source.options.shops]
        if unmapped and not self.hinted:
            self.hinted = True
            named = ", ".join(
                f"{s.get('shopId')} ({s.get('platformId')}, {s.get('shopName')})" for s in unmapped
            )
            log.warning(
                "Mabang shops not read because the connection's `shops` option does not map them: %s",
                named,
            )


class CurrencyRatesStream(_WholeListing):
    """``sys-get-currency-rate-list``: each currency's rate to CNY, the ERP's base currency."""

    name: ClassVar[str] = "currency_rates"
    primary_key: ClassVar[tuple[str, ...]] = ("currencyId", "updateTime")
    default_mapping: ClassVar[str | None] = "mappings/fx_rates.json"
    api = "sys-get-currency-rate-list"
