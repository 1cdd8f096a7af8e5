"""The TikTok Shop source: one seller authorisation of an app, its shops as partitions."""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from sdk import ConfigError, Source, Stream

from .client import TikTokClient
from .options import TikTokCredentials, TikTokOptions
from .streams import OrdersStream, ReturnsStream

__all__ = ["TikTokSource"]


class TikTokSource(Source):
    """TikTok Shop Partner API (202309): orders with lines and packages, and returns."""

    name: ClassVar[str] = "tiktok"
    platform: ClassVar[str] = "tiktok"
    version: ClassVar[str] = "1.0.0"

    class Options(TikTokOptions):
        """See ``TikTokOptions``."""

    class Credentials(TikTokCredentials):
        """See ``TikTokCredentials``."""

    options: TikTokOptions
    credentials: TikTokCredentials

    @cached_property
    def client(self) -> TikTokClient:
        return TikTokClient(self, self.options, self.credentials)

    def streams(self) -> list[Stream]:
        return [OrdersStream(self), ReturnsStream(self)]

    def mapping_defaults(self) -> dict[str, Any]:
        # Shop, site and currency differ per shop; partitions carry them.
        return {"platform": self.platform}

    @classmethod
    def simulator(cls, seed: int) -> Any:
        """Four TikTok shops (sites drawn by seed) of two sellers, with 30 days of data."""
        import datetime as dt

        from sdk.simulator import SellerWorld

        from .simulator import TikTokSimulator

        start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)
        world = SellerWorld.generate(seed, shops=4, days=30, start=start, platforms=("tiktok",))
        return TikTokSimulator(world)

    def stats(self) -> dict[str, int]:
        return self.client.stats() if "client" in self.__dict__ else {}

    async def check(self) -> None:
        """List the authorised shops; every configured cipher must be among them."""
        data = await self.client.call("GET", "/authorization/202309/shops", endpoint="authorization.shops")
        granted = {shop.get("cipher") for shop in data.get("shops") or []}
        missing = [shop.cipher for shop in self.options.shops if shop.cipher not in granted]
        if missing:
            raise ConfigError(
                f"shop ciphers {missing} are not authorised for this seller; "
                "take them from GET /authorization/202309/shops"
            )

    async def aclose(self) -> None:
        if "client" in self.__dict__:
            await self.client.aclose()
