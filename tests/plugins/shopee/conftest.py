"""Shared pieces of the Shopee connector tests: worlds, simulators, connections, the truth check."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal

import httpx
import pytest
from hub_env import set_hub_env
from hub_rows import stored, sync_all  # noqa: F401  (the kit fixture hands this module to tests)

from hub.connections import add_connection
from hub.context import HubContext
from hub.plugins import load_plugins
from hub.settings import Settings
from plugins import shopee
from plugins.shopee import client as shopee_client
from sdk.http import RateBudgets, RateLimit, RetryPolicy
from sdk.simulator import FaultKind, SellerWorld

TABLES = ("orders", "order_items", "shipments", "refunds", "ad_performance")
FAST = RateLimit(5000, 5000)
FAULT_KINDS = [
    FaultKind.RATE_LIMIT_429,
    FaultKind.SERVER_500,
    FaultKind.SERVER_503,
    FaultKind.TRUNCATED_JSON,
    FaultKind.MALFORMED_JSON,
    FaultKind.TOKEN_REVOKED,
]


def fault_rates(total):
    """``total`` spread over the kinds, revoked tokens rarer: a call whose token is revoked
    again right after its one refresh fails terminally, as it should, so at the same share as
    the others (1.7 %) one such double hit is expected per couple of thousand calls."""
    revoked = min(0.005, total / len(FAULT_KINDS))
    others = [kind for kind in FAULT_KINDS if kind != FaultKind.TOKEN_REVOKED]
    return {FaultKind.TOKEN_REVOKED: revoked, **{kind: (total - revoked) / len(others) for kind in others}}


def make_world(*, shops=2, days=10, seed=11, orders_per_day=4, refund_rate=0.15):
    """A Shopee seller whose last day ended yesterday (ads are read up to yesterday)."""
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days + 1)
    return SellerWorld.generate(
        seed,
        shops=shops,
        days=days,
        start=start,
        platforms=("shopee",),
        orders_per_day=orders_per_day,
        refund_rate=refund_rate,
    )


def options_for(sim, world, shop_ids=None):
    creds = sim.credentials()
    shops = {s: creds["shops"][s] for s in (shop_ids or creds["shops"])}
    return {
        "partner_id": creds["partner_id"],
        "shops": shops,
        "base_url": sim.base_urls()["api"],
        # The first local midnight east of UTC is the evening before in UTC: read a day earlier.
        "start_date": (world.start - dt.timedelta(days=1)).isoformat(),
        "rate_limit": FAST.rate,
    }


def credentials_for(sim, shop_ids=None):
    creds = sim.credentials()
    tokens = {s: creds["refresh_tokens"][s] for s in (shop_ids or creds["refresh_tokens"])}
    return {"partner_key": creds["partner_key"], "refresh_tokens": tokens}


def _with_shopee(hub, monkeypatch):
    monkeypatch.setattr(shopee_client, "BUDGETS", RateBudgets())
    fast = RetryPolicy(attempts=8, initial=0.01, maximum=0.05, jitter=0.01)
    monkeypatch.setattr(shopee_client, "RETRY", fast)
    hub.__dict__["registry"] = load_plugins(entry_points=[], extra=[("shopee", shopee)])
    return hub


@pytest.fixture
def shopee_hub(hub, monkeypatch):
    """A hub on every configured database, with the Shopee plugin."""
    return _with_shopee(hub, monkeypatch)


@pytest.fixture
def sqlite_hub(monkeypatch, tmp_path, key_file):
    """A hub on SQLite only, with the Shopee plugin: for cases whose subject is not the store."""
    set_hub_env(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'kpihub.db'}", key_file)
    ctx = HubContext(Settings())
    ctx.store.migrate()
    yield _with_shopee(ctx, monkeypatch)
    ctx.close()


def connect(hub, sim, world, *, per_connection=None):
    """Connections of ``per_connection`` shops each (all shops in one by default); their names."""
    shop_ids = sorted(sim.credentials()["shops"])
    size = per_connection or len(shop_ids)
    names = []
    for n in range(0, len(shop_ids), size):
        group = shop_ids[n : n + size]
        name = f"shopee{n // size}"
        add_connection(
            hub.ready_store,
            hub.vault,
            hub.registry,
            name=name,
            plugin="shopee",
            options=options_for(sim, world, group),
            credentials=credentials_for(sim, group),
        )
        names.append(name)
    return names


def assert_equals_truth(hub, sim):
    truth = sim.truth()
    for table in TABLES:
        expected = truth[table]
        got = stored(hub, table)
        assert set(got) == set(expected), (
            f"{table}: {len(set(expected) - set(got))} missing, {len(set(got) - set(expected))} extra"
        )
        for key, record in expected.items():
            for column, value in record.model_dump().items():
                found = got[key][column]
                if isinstance(value, Decimal) and found is not None:
                    found = Decimal(found)
                assert found == value, f"{table} {key} {column}: {found!r} != {value!r}"
    assert sum(len(truth[t]) for t in TABLES) > 0


class Crash(BaseException):
    """A process dying mid-request: nothing in the hub or the connector may swallow it."""


class CrashingTransport(httpx.AsyncBaseTransport):
    """Passes requests to the simulator; dies on the ``crash_at``-th one, or right after a
    token refresh answer (before the next request) when ``crash_after_refresh``."""

    def __init__(self, inner, crash_at=None, *, crash_after_refresh=False):
        self.inner = inner
        self.crash_at = crash_at
        self.crash_after_refresh = crash_after_refresh
        self.paths = []
        self._refreshed = False

    async def handle_async_request(self, request):
        self.paths.append(request.url.path)
        if self._refreshed:
            raise Crash(f"killed after a token refresh, before {request.url.path}")
        if len(self.paths) == self.crash_at:
            raise Crash(f"killed at request {self.crash_at}: {request.url.path}")
        response = await self.inner.handle_async_request(request)
        if self.crash_after_refresh and request.url.path.endswith("/auth/access_token/get"):
            self._refreshed = True
        return response


@pytest.fixture
def kit():
    """This module's helpers (test modules cannot import a conftest under importlib mode)."""
    return sys.modules[__name__]
