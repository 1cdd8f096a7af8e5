"""The Shopee source: one partner app reading one or more authorised shops."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

from pydantic import SecretStr

from sdk import CredentialError, Source, SourceContext, Stream
from sdk.http import ApiClient, TokenSet

from .client import ShopAuth, shop_client
from .options import ShopeeCredentials, ShopeeOptions, refresh_tokens
from .streams import AdsStream, OrdersStream, ReturnsStream

__all__ = ["ShopeeSource"]


class ShopeeSource(Source):
    """Shopee Open Platform v2: orders (with escrow), returns and daily CPC ads, per shop."""

    name: ClassVar[str] = "shopee"
    platform: ClassVar[str] = "shopee"
    version: ClassVar[str] = "1.0.0"

    class Options(ShopeeOptions):
        """See ``ShopeeOptions``."""

    class Credentials(ShopeeCredentials):
        """See ``ShopeeCredentials``."""

    options: ShopeeOptions
    credentials: ShopeeCredentials

    def __init__(
        self, options: Source.Options, credentials: Source.Credentials, context: SourceContext
    ) -> None:
        super().__init__(options, credentials, context)
        self._clients: dict[str, ApiClient] = {}
        self._auths: dict[str, ShopAuth] = {}
        self._save_lock = asyncio.Lock()

    def streams(self) -> list[Stream]:
        streams: list[Stream] = [OrdersStream(self), ReturnsStream(self)]
        if self.options.ads:
            streams.append(AdsStream(self))
        return streams

    def mapping_defaults(self) -> dict[str, Any]:
        # Shop, site and currency come from each shop's partition.
        return {"platform": self.platform}

    def client(self, shop_id: str) -> ApiClient:
        """The signed, budgeted client of one shop of the connection."""
        found = self._clients.get(shop_id)
        if found is not None:
            return found
        refresh = self.credentials.refresh_token(shop_id)
        if refresh is None:
            raise CredentialError(
                f"no refresh token for shop {shop_id}; add it to the connection's refresh_tokens "
                "(authorise the shop with shop/auth_partner and exchange the code with auth/token/get)"
            )
        kept = self.credentials.access_token(shop_id)
        auth = ShopAuth(
            partner_id=self.options.partner_id,
            partner_key=self.credentials.partner_key.get_secret_value(),
            shop_id=shop_id,
            refresh_token=refresh,
            access_token=kept[0] if kept else None,
            expires_at=kept[1] if kept else 0.0,
            persist=lambda tokens: self._persist(shop_id, tokens),
        )
        self._auths[shop_id] = auth
        found = self._clients[shop_id] = shop_client(
            self.options.url(), auth, rate_limit=self.options.rate_limit, transport=self.context.transport
        )
        return found

    async def _persist(self, shop_id: str, tokens: TokenSet) -> None:
        """Save a shop's new tokens before they are used: the old refresh token is spent.

        Shops refresh concurrently; each save writes every shop's latest tokens, one at a time.
        """
        async with self._save_lock:
            refresh = refresh_tokens(self.credentials.refresh_tokens)
            access = (
                json.loads(self.credentials.access_tokens.get_secret_value())
                if self.credentials.access_tokens
                else {}
            )
            if tokens.refresh_token:
                refresh[shop_id] = tokens.refresh_token
            access[shop_id] = {"token": tokens.access_token, "expires_at": tokens.expires_at}
            updated = self.credentials.model_copy(
                update={
                    "refresh_tokens": SecretStr(json.dumps(refresh, sort_keys=True)),
                    "access_tokens": SecretStr(json.dumps(access, sort_keys=True)),
                }
            )
            if self.context.save_credentials is not None:
                await self.context.save_credentials(updated)
            self.credentials = updated

    @classmethod
    def simulator(cls, seed: int) -> Any:
        """Four Shopee shops (sites drawn by seed) with 30 days of data, on loopback."""
        import datetime as dt

        from sdk.simulator import SellerWorld

        from .simulator import ShopeeSimulator

        start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=31)
        world = SellerWorld.generate(seed, shops=4, days=30, start=start, platforms=("shopee",))
        return ShopeeSimulator(world)

    def stats(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for api in self._clients.values():
            for name, count in api.stats.items():
                total[name] = total.get(name, 0) + count
        total["tokens_issued"] = sum(auth.refreshes for auth in self._auths.values())
        return total

    async def check(self) -> None:
        for shop_id in sorted(self.options.shops):
            await self.client(shop_id).request(
                "GET", "/api/v2/shop/get_shop_info", endpoint="shop.get_shop_info"
            )

    async def aclose(self) -> None:
        for api in self._clients.values():
            await api.aclose()
