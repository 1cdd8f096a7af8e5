"""The Mabang source: one ERP account (app key) covering many shops on many platforms."""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from sdk import Source, Stream

from .client import MabangClient
from .options import MabangCredentials, MabangOptions
from .streams import CurrencyRatesStream, OrdersStream, ReturnsStream, ShopsStream, SkusStream, StockStream

__all__ = ["MabangSource"]


class MabangSource(Source):
    """Orders with logistics, returns, SKU costs, stock per warehouse, shops and currency rates."""

    name: ClassVar[str] = "erp_mabang"
    platform: ClassVar[str] = "mabang"
    version: ClassVar[str] = "1.0.0"

    class Options(MabangOptions):
        """See ``MabangOptions``."""

    class Credentials(MabangCredentials):
        """See ``MabangCredentials``."""

    options: MabangOptions
    credentials: MabangCredentials

    @cached_property
    def client(self) -> MabangClient:
        return MabangClient(
            base_url=self.options.base_url,
            app_key=self.credentials.app_key.get_secret_value(),
            app_secret=self.credentials.app_secret.get_secret_value(),
            version=self.options.api_version,
            requests_per_second=self.options.requests_per_second,
            transport=self.context.transport,
        )

    def streams(self) -> list[Stream]:
        return [
            ShopsStream(self),
            CurrencyRatesStream(self),
            SkusStream(self),
            StockStream(self),
            OrdersStream(self),
            ReturnsStream(self),
        ]

    def mapping_defaults(self) -> dict[str, Any]:
        # An ERP covers many platforms: shop rows take theirs from the shop's partition, and
        # shop-less rows (stock, costs) must not be stamped with the ERP's name.
        return {}

    @classmethod
    def simulator(cls, seed: int) -> Any:
        """A Mabang account with three shops (Amazon US, Shopee, Shopify) and 30 days of data."""
        from .simulator import MabangSimulator

        return MabangSimulator.demo(seed)

    def stats(self) -> dict[str, int]:
        return self.client.stats() if "client" in self.__dict__ else {}

    async def check(self) -> None:
        await self.client.call("sys-get-shop-list", {})

    async def aclose(self) -> None:
        if "client" in self.__dict__:
            await self.client.aclose()
