"""The Shopee connector passes the SDK's source kit against its simulator."""

from __future__ import annotations

import datetime as dt

from hub.testing import kpihub_mapper  # noqa: F401 - the fixture the kit maps records with
from plugins.shopee import ShopeeSource
from plugins.shopee.simulator import ShopeeSimulator
from sdk.http import RateLimit
from sdk.simulator import SellerWorld
from sdk.testing import KitCase, SourceKit


class TestShopeeContract(SourceKit):
    source = ShopeeSource
    token_refresh = True

    def case(self, tmp_path):
        # The world follows the weekday its first day falls on, so it changes from day to day;
        # over 10 days every weekday's world has refunds for the returns stream (over 7, most
        # had none, and the kit failed on those days).
        start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=11)
        world = SellerWorld.generate(
            21, shops=1, days=10, start=start, platforms=("shopee",), orders_per_day=4, refund_rate=0.5
        )
        sim = ShopeeSimulator(world, rate_limit=RateLimit(2000, 2000))
        creds = sim.credentials()
        return KitCase(
            options={
                "partner_id": creds["partner_id"],
                "shops": creds["shops"],
                "base_url": sim.base_urls()["api"],
                "start_date": (world.start - dt.timedelta(days=1)).isoformat(),
                "rate_limit": 2000,
            },
            credentials={"partner_key": creds["partner_key"], "refresh_tokens": creds["refresh_tokens"]},
            simulator=sim,
            invalid_options=[{"partner_id": 1, "shops": {"1": "SG"}, "host": "mars"}],
        )
