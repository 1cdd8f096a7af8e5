"""The TikTok Shop connector passes the SDK's source kit against its simulator."""

from __future__ import annotations

import datetime as dt

from hub.testing import kpihub_mapper  # noqa: F401 - the fixture the kit maps records with
from plugins.tiktok import TikTokSource
from plugins.tiktok.simulator import TikTokSimulator
from sdk.http import RateLimit
from sdk.simulator import SellerWorld
from sdk.testing import KitCase, SourceKit


class TestTikTokContract(SourceKit):
    source = TikTokSource
    token_refresh = True
    fault_rate = 0.2

    def case(self, tmp_path):
        start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)
        world = SellerWorld.generate(
            23, shops=1, days=20, start=start, platforms=("tiktok",), orders_per_day=4, refund_rate=0.5
        )
        sim = TikTokSimulator(world, rate_limit=RateLimit(2000, 1000))
        creds = sim.credentials()
        seller = creds["sellers"][0]
        urls = sim.base_urls()
        return KitCase(
            options={
                "shops": seller["shops"],
                "start_date": (world.start - dt.timedelta(days=1)).isoformat(),
                "api_url": urls["api"],
                "auth_url": urls["auth"],
                "requests_per_second": 2000,
                "burst": 1000,
                "page_size": 10,  # more pages, so the fault test has requests to disturb
            },
            credentials={
                "app_key": creds["app_key"],
                "app_secret": creds["app_secret"],
                "refresh_token": seller["refresh_token"],
            },
            simulator=sim,
            invalid_options=[{"shops": [], "api_url": "not a url", "page_size": 1000}],
        )
