"""The Amazon source: one seller account in one region, its marketplaces as shops."""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from sdk import Source, Stream

from .client import AmazonClients
from .options import AmazonCredentials, AmazonOptions
from .streams import AdsStream, InventoryStream, OrdersStream, OrdersV0Stream, RefundsStream

__all__ = ["AmazonSource"]


class AmazonSource(Source):
    """SP-API orders, refunds and FBA inventory, and Sponsored Products ad reports."""

    name: ClassVar[str] = "amazon"
    platform: ClassVar[str] = "amazon"
    version: ClassVar[str] = "1.0.0"

    class Options(AmazonOptions):
        """See ``AmazonOptions``."""

    class Credentials(AmazonCredentials):
        """See ``AmazonCredentials``."""

    options: AmazonOptions
    credentials: AmazonCredentials

    @cached_property
    def clients(self) -> AmazonClients:
        return AmazonClients(self, self.options, self.credentials)

    def streams(self) -> list[Stream]:
        orders = OrdersV0Stream(self) if self.options.orders_api == "v0" else OrdersStream(self)
        return [orders, RefundsStream(self), InventoryStream(self), AdsStream(self)]

    def mapping_defaults(self) -> dict[str, Any]:
        # One currency and site per marketplace; partitions say which.
        return {"platform": self.platform}

    @classmethod
    def simulator(cls, seed: int) -> Any:
        """Four Amazon shops (US, UK, DE, JP-like sites drawn by seed) with 30 days of data."""
        import datetime as dt

        from sdk.simulator import SellerWorld

        from .simulator import AmazonSimulator

        start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)
        world = SellerWorld.generate(seed, shops=4, days=30, start=start, platforms=("amazon",))
        return AmazonSimulator(world)

    def stats(self) -> dict[str, int]:
        return self.clients.stats() if "clients" in self.__dict__ else {}

    async def check(self) -> None:
        await self.clients.lwa.refresh(self.clients.sp_api.http)

    async def aclose(self) -> None:
        if "clients" in self.__dict__:
            await self.clients.aclose()
