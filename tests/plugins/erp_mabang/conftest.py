"""Fixtures for the Mabang connector: a hub that knows Mabang and Amazon, a simulator, helpers."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from hub_rows import stored

from hub.connections import add_connection, get_connection, open_source
from hub.plugins import load_plugins
from hub.sync import sync_connection
from plugins import amazon, erp_mabang
from plugins.amazon import client as amazon_client
from plugins.erp_mabang import client as mabang_client
from plugins.erp_mabang.client import GMT8
from sdk.http import RateBudgets, RetryPolicy
from sdk.simulator import SellerWorld

SCALE = 10
"""Simulators run their gateway limit (20/s) on a clock this much faster; connectors pace to match."""


@pytest.fixture
def mabang_hub(hub, monkeypatch):
    """The hub with the Mabang and Amazon plugins, private rate budgets and quick retries."""
    monkeypatch.setattr(mabang_client, "BUDGETS", RateBudgets())
    monkeypatch.setattr(amazon_client, "BUDGETS", RateBudgets())
    monkeypatch.setattr(
        mabang_client, "RETRY", RetryPolicy(attempts=8, initial=0.01, maximum=0.05, jitter=0.01)
    )
    hub.__dict__["registry"] = load_plugins(
        entry_points=[], extra=[("erp_mabang", erp_mabang), ("amazon", amazon)]
    )
    return hub


def make_world(*, days=20, skus=60, orders_per_day=4.0, seed=21, shops=3):
    return SellerWorld.generate(
        seed,
        shops=shops,
        days=days,
        start=dt.date(2026, 8, 1),
        platforms=("amazon", "shopee", "shopify"),
        skus=skus,
        orders_per_day=orders_per_day,
        refund_rate=0.1,
    )


def mabang_options(sim, *, base="v2", **extra):
    shops = {
        mabang_id: {"platform": platform, "shop_id": shop_id, "site": site}
        for mabang_id, (platform, shop_id, site) in sim.credentials()["shops"].items()
    }
    assert sim.world is not None
    return {
        "base_url": sim.base_urls()[base],
        "shops": shops,
        "start_date": (sim.world.start - dt.timedelta(days=1)).isoformat(),
        "requests_per_second": 15 * SCALE,
        "max_rows": 1000,
        "window_days": 30,
        **extra,
    }


def connect_mabang(hub, sim, name="mabang", **extra):
    credentials = sim.credentials()
    add_connection(
        hub.ready_store,
        hub.vault,
        hub.registry,
        name=name,
        plugin="erp_mabang",
        options=mabang_options(sim, **extra),
        credentials={"app_key": credentials["app_key"], "app_secret": credentials["app_secret"]},
    )
    return name


def sync(hub, name, transport):
    async def run():
        info = get_connection(hub.ready_store, name)
        source = open_source(hub.ready_store, hub.vault, hub.registry, info, transport=transport)
        return await sync_connection(hub.ready_store, info, source)

    return asyncio.run(run())


def today_gmt8():
    return dt.datetime.now(GMT8).date()


def assert_equals_truth(hub, truth, tables):
    for table in tables:
        expected = truth.get(table, {})
        got = stored(hub, table)
        assert set(got) == set(expected), (
            f"{table}: {len(set(expected) - set(got))} missing, {len(set(got) - set(expected))} extra"
        )
        for key, record in expected.items():
            for column, value in record.model_dump().items():
                have = got[key][column]
                if isinstance(value, Decimal) and have is not None:
                    assert Decimal(have) == value, f"{table} {key} {column}: {have} != {value}"
                else:
                    assert have == value, f"{table} {key} {column}: {have!r} != {value!r}"
