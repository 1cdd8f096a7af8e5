"""The Amazon connector passes the SDK's source kit against its simulator."""

from __future__ import annotations

import datetime as dt

from hub.testing import kpihub_mapper  # noqa: F401 - the fixture the kit maps records with
from plugins.amazon import AmazonSource
from plugins.amazon.simulator import DEFAULT_LIMITS, AmazonSimulator
from sdk.http import RateLimit
from sdk.simulator import SellerWorld
from sdk.testing import KitCase, SourceKit

SCALE = 200.0  # documented rates x200 so the kit's runs take seconds


class TestAmazonContract(SourceKit):
    source = AmazonSource
    token_refresh = True

    def case(self, tmp_path):
        world = SellerWorld.generate(
            21,
            shops=1,
            days=14,
            start=dt.date(2026, 9, 1),
            platforms=("amazon",),
            orders_per_day=4,
            refund_rate=0.5,
        )
        limits = {name: RateLimit(limit.rate * SCALE, limit.burst) for name, limit in DEFAULT_LIMITS.items()}
        sim = AmazonSimulator(world, limits=limits)
        creds = sim.credentials()
        [seller] = creds["sellers"]
        urls = sim.base_urls()
        return KitCase(
            options={
                "seller_id": seller["seller_id"],
                "region": seller["region"].lower(),
                "marketplaces": seller["marketplaces"],
                "start_date": (world.start - dt.timedelta(days=1)).isoformat(),
                "sp_api_url": urls["sp_api"],
                "ads_url": urls["ads"],
                "lwa_url": urls["lwa"] + "/auth/o2/token",
                "report_poll_seconds": 0.01,
                "rate_limit_scale": SCALE,
            },
            credentials={
                "lwa_client_id": creds["lwa_client_id"],
                "lwa_client_secret": creds["lwa_client_secret"],
                "refresh_token": seller["refresh_token"],
            },
            simulator=sim,
            invalid_options=[{"seller_id": "A1", "region": "mars", "marketplaces": {"ATVPDKIKX0DER": "us"}}],
        )
