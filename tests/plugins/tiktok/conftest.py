"""Fixtures for the TikTok connector's tests: a hub that knows the plugin, and sync helpers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest
from hub_rows import stored, sync_all

from hub.connections import add_connection
from hub.plugins import load_plugins
from plugins import tiktok
from plugins.tiktok import client as tiktok_client
from sdk.http import RateBudgets, RateLimit
from sdk.simulator import SellerWorld

TABLES = ("orders", "order_items", "shipments", "refunds")
FAST = RateLimit(2000, 50)
"""Simulator and connector limits for tests: fast, and alike on both sides."""


def make_world(*, shops=3, days=10, seed=11, orders_per_day=5, refund_rate=0.3, start=None):
    return SellerWorld.generate(
        seed,
        shops=shops,
        days=days,
        start=start or dt.date(2026, 9, 1),
        platforms=("tiktok",),
        orders_per_day=orders_per_day,
        refund_rate=refund_rate,
    )


def options(seller, sim, world, **extra):
    urls = sim.base_urls()
    return {
        "shops": seller["shops"],
        # A world's first day starts at each site's local midnight; east of UTC that is the
        # evening before in UTC, so read from one day earlier.
        "start_date": (world.start - dt.timedelta(days=1)).isoformat(),
        "api_url": urls["api"],
        "auth_url": urls["auth"],
        "requests_per_second": FAST.rate,
        "burst": int(FAST.burst),
        **extra,
    }


class Crash(BaseException):
    """A process dying mid-request: nothing in the hub or the connector may swallow it."""


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to the simulator, records them, and dies on the ``crash_at``-th one."""

    def __init__(self, inner, crash_at=None):
        self.inner = inner
        self.crash_at = crash_at
        self.requests = []

    async def handle_async_request(self, request):
        self.requests.append(request)
        if len(self.requests) == self.crash_at:
            raise Crash(f"killed at request {self.crash_at}: {request.url.path}")
        return await self.inner.handle_async_request(request)


class TikTokHub:
    """The hub with the TikTok plugin, and what tests do with it."""

    def __init__(self, hub):
        self.hub = hub

    def connect_all(self, sim, world, **extra):
        creds = sim.credentials()
        names = []
        for n, seller in enumerate(creds["sellers"]):
            name = f"tt{n}"
            add_connection(
                self.hub.ready_store,
                self.hub.vault,
                self.hub.registry,
                name=name,
                plugin="tiktok",
                options=options(seller, sim, world, **extra),
                credentials={
                    "app_key": creds["app_key"],
                    "app_secret": creds["app_secret"],
                    "refresh_token": seller["refresh_token"],
                },
            )
            names.append(name)
        return names

    def sync_all(self, sim, names, transport=None, **options):
        return sync_all(self.hub, sim, names, transport, **options)

    def stored(self, table):
        return stored(self.hub, table)

    def assert_equals_truth(self, sim):
        truth = sim.truth()
        for table in TABLES:
            expected = truth[table]
            stored = self.stored(table)
            missing, extra = set(expected) - set(stored), set(stored) - set(expected)
            assert not missing and not extra, f"{table}: {len(missing)} missing, {len(extra)} extra"
            for key, record in expected.items():
                for column, want in record.model_dump().items():
                    got = stored[key][column]
                    if isinstance(want, Decimal):
                        assert Decimal(got) == want, f"{table} {key} {column}: {got} != {want}"
                    else:
                        assert got == want, f"{table} {key} {column}: {got!r} != {want!r}"


@pytest.fixture
def tiktok_hub(hub, monkeypatch):
    monkeypatch.setattr(tiktok_client, "BUDGETS", RateBudgets())
    hub.__dict__["registry"] = load_plugins(entry_points=[], extra=[("tiktok", tiktok)])
    return TikTokHub(hub)


@pytest.fixture
def kit():
    """The helpers above, for test modules (conftest is not importable under importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        FAST=FAST,
        Crash=Crash,
        RecordingTransport=RecordingTransport,
        make_world=make_world,
        options=options,
    )
