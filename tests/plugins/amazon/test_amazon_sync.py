"""The Amazon connector against the simulator, through the real hub: equal to its ground truth."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa
from hub_rows import stored as _stored
from hub_rows import sync_all as _sync_all

from hub.connections import add_connection, get_connection, open_source
from hub.plugins import load_plugins
from hub.store.tables import connections, sync_runs
from hub.sync import sync_connection
from plugins import amazon
from plugins.amazon import AmazonSource
from plugins.amazon import client as amazon_client
from plugins.amazon.simulator import DEFAULT_LIMITS, AmazonSimulator
from sdk import SourceContext
from sdk.http import RateBudgets, RateLimit
from sdk.simulator import FaultKind, FaultPlan, SellerWorld

FAULT_KINDS = [
    FaultKind.RATE_LIMIT_429,
    FaultKind.RATE_LIMIT_429_NO_RETRY_AFTER,
    FaultKind.SERVER_500,
    FaultKind.SERVER_503,
    FaultKind.TRUNCATED_JSON,
    FaultKind.MALFORMED_JSON,
    FaultKind.TOKEN_REVOKED,
]
TABLES = ("orders", "order_items", "refunds", "ad_performance", "inventory_snapshots")
SCALE = 200.0  # rates x200 so a 20-day world syncs in seconds; bursts as documented


def _world(shops=4, days=20, seed=11):
    return SellerWorld.generate(
        seed,
        shops=shops,
        days=days,
        start=dt.date(2026, 9, 1),
        platforms=("amazon",),
        orders_per_day=6,
        refund_rate=0.1,
    )


def _scaled_limits():
    return {name: RateLimit(limit.rate * SCALE, limit.burst) for name, limit in DEFAULT_LIMITS.items()}


@pytest.fixture
def amazon_hub(hub, monkeypatch):
    monkeypatch.setattr(amazon_client, "BUDGETS", RateBudgets())
    hub.__dict__["registry"] = load_plugins(entry_points=[], extra=[("amazon", amazon)])
    return hub


def _connect_all(hub, sim, world, orders_api="2026-01-01"):
    creds = sim.credentials()
    urls = sim.base_urls()
    names = []
    for n, seller in enumerate(creds["sellers"]):
        name = f"amz{n}"
        add_connection(
            hub.ready_store,
            hub.vault,
            hub.registry,
            name=name,
            plugin="amazon",
            options=_options(seller, urls, world, orders_api),
            credentials={
                "lwa_client_id": creds["lwa_client_id"],
                "lwa_client_secret": creds["lwa_client_secret"],
                "refresh_token": seller["refresh_token"],
            },
        )
        names.append(name)
    return names


def assert_equals_truth(hub, sim):
    truth = sim.truth(ad_window=14)
    for table in TABLES:
        expected = truth.get(table, {})
        stored = _stored(hub, table)
        assert set(stored) == set(expected), (
            f"{table}: {len(set(expected) - set(stored))} missing, {len(set(stored) - set(expected))} extra"
        )
        for key, record in expected.items():
            want = record.model_dump()
            got = {column: stored[key][column] for column in want}
            for column, value in want.items():
                if isinstance(value, Decimal):
                    assert got[column] == value, f"{table} {key} {column}: {got[column]} != {value}"
                else:
                    assert got[column] == value, f"{table} {key} {column}: {got[column]!r} != {value!r}"


@pytest.mark.parametrize("orders_api", ["2026-01-01", "v0"])
def test_sync_equals_ground_truth_with_zero_429s(amazon_hub, orders_api):
    world = _world()
    sim = AmazonSimulator(world, limits=_scaled_limits())
    names = _connect_all(amazon_hub, sim, world, orders_api)

    results = _sync_all(amazon_hub, sim, names)

    assert [r.status for r in results] == ["succeeded"] * len(names), [r.errors for r in results]
    assert_equals_truth(amazon_hub, sim)
    throttled = {name: stats.throttled for name, stats in sim.stats.items() if stats.throttled}
    assert throttled == {}, "budgets keep every call under the documented limits"


@pytest.mark.parametrize("orders_api", ["2026-01-01", "v0"])
def test_sync_with_faults_on_ten_percent_of_requests(amazon_hub, orders_api):
    world = _world(shops=3, days=12, seed=5)
    faults = FaultPlan(7, {kind: 0.10 / len(FAULT_KINDS) for kind in FAULT_KINDS}, retry_after=0.01)
    sim = AmazonSimulator(world, limits=_scaled_limits(), faults=faults)
    names = _connect_all(amazon_hub, sim, world, orders_api)

    results = _sync_all(amazon_hub, sim, names)

    assert [r.status for r in results] == ["succeeded"] * len(names), [r.errors for r in results]
    assert_equals_truth(amazon_hub, sim)
    requests = sum(stats.requests for stats in sim.stats.values())
    assert sum(faults.injected.values()) >= 0.05 * requests > 3, "faults were really injected"
    with amazon_hub.ready_store.begin() as conn:
        recorded = conn.execute(sa.select(sync_runs.c.stats)).scalars().all()
    retries = sum(stats.get("retries", 0) for stats in recorded)
    refreshes = sum(stats.get("token_refreshes", 0) for stats in recorded)
    injected = faults.injected
    retried_faults = sum(n for kind, n in injected.items() if kind != FaultKind.TOKEN_REVOKED)
    assert retries >= retried_faults, "every injected fault was retried"
    assert refreshes >= injected.get(FaultKind.TOKEN_REVOKED, 0), "every revoked token was refreshed"


def test_revoked_refresh_token_stops_only_that_connection(amazon_hub):
    world = _world(shops=3, days=5, seed=3)
    sim = AmazonSimulator(world, limits=_scaled_limits())
    names = _connect_all(amazon_hub, sim, world)
    sim.tokens.revoke_refresh(sim.credentials()["sellers"][1]["refresh_token"])

    results = _sync_all(amazon_hub, sim, names)

    assert [r.status for r in results] == ["succeeded", "failed", "succeeded"]
    [error] = results[1].errors
    assert error["kind"] == "CredentialError" and error["transient"] is False
    assert "connection 'amz1'" in error["error"] and "authorise the app again" in error["error"]
    assert "Atzr|" not in error["error"], "the refresh token itself is never in the message"


class Crash(BaseException):
    """A process dying mid-request: nothing in the hub or the connector may swallow it."""


class CrashingTransport(httpx.AsyncBaseTransport):
    """Passes requests to the simulator and dies on the ``crash_at``-th one."""

    def __init__(self, inner, crash_at=None):
        self.inner = inner
        self.crash_at = crash_at
        self.paths = []
        self.queries = []

    async def handle_async_request(self, request):
        self.paths.append(request.url.path)
        self.queries.append(request.url.query.decode())
        if len(self.paths) == self.crash_at:
            raise Crash(f"killed at request {self.crash_at}: {request.url.path}")
        return await self.inner.handle_async_request(request)


def _tiny_world():
    return SellerWorld.generate(
        21,
        shops=1,
        days=4,
        start=dt.date(2026, 9, 1),
        platforms=("amazon",),
        orders_per_day=4,
        refund_rate=0.3,
    )


def _options(seller, urls, world, orders_api="2026-01-01"):
    return {
        "orders_api": orders_api,
        "seller_id": seller["seller_id"],
        "region": seller["region"].lower(),
        "marketplaces": seller["marketplaces"],
        # The world's first day starts at each site's local midnight: east of UTC that is the
        # evening before in UTC, so read from one day earlier.
        "start_date": (world.start - dt.timedelta(days=1)).isoformat(),
        "sp_api_url": urls["sp_api"],
        "ads_url": urls["ads"],
        "lwa_url": urls["lwa"] + "/auth/o2/token",
        "report_poll_seconds": 0.01,
        "rate_limit_scale": SCALE,
        "attribution_window": 14,
    }


@functools.cache
def _clean_request_count():
    """How many requests an uninterrupted sync of the tiny world makes (read without a store)."""
    world = _tiny_world()
    sim = AmazonSimulator(world, limits=_scaled_limits())
    recorder = CrashingTransport(sim.transport())
    creds = sim.credentials()
    [seller] = creds["sellers"]
    source = AmazonSource(
        AmazonSource.Options(**_options(seller, sim.base_urls(), world)),
        AmazonSource.Credentials(
            lwa_client_id=creds["lwa_client_id"],
            lwa_client_secret=creds["lwa_client_secret"],
            refresh_token=seller["refresh_token"],
        ),
        SourceContext("count", transport=recorder),
    )

    async def read_all():
        for stream in source.streams():
            for partition in stream.partitions():
                async for _ in stream.read(partition, {}):
                    pass
        await source.aclose()

    asyncio.run(read_all())
    return len(recorder.paths)


@pytest.mark.parametrize("point", range(20))
def test_killed_at_any_request_resumes_to_the_truth_and_the_same_report(amazon_hub, point):
    crash_at = 1 + round(point * (_clean_request_count() - 1) / 19)  # 20 points over every request
    world = _tiny_world()
    sim = AmazonSimulator(world, limits=_scaled_limits())
    names = _connect_all(amazon_hub, sim, world)
    crashing = CrashingTransport(sim.transport(), crash_at=crash_at)

    try:
        _sync_all(amazon_hub, sim, names, transport=crashing)
        killed = False
    except Crash:
        killed = True
    results = _sync_all(amazon_hub, sim, names)

    assert killed, f"the sync made fewer than {crash_at} requests: {len(crashing.paths)}"
    assert [r.status for r in results] == ["succeeded"], results[0].errors
    assert_equals_truth(amazon_hub, sim)
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    windows = -(-((yesterday - world.start).days + 1) // 31)  # 31-day report windows, rounded up
    assert sim.reports_created == windows, "a resumed sync polls the report it created, not a new one"


@pytest.mark.parametrize("fault_rate", [0.0, 0.10], ids=["clean", "faults"])
def test_twenty_shops_ninety_days_equal_the_truth(amazon_hub, fault_rate):
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=91)
    world = SellerWorld.generate(
        90, shops=20, days=90, start=start, platforms=("amazon",), orders_per_day=1, refund_rate=0.08
    )
    fast = {name: RateLimit(limit.rate * 2000, limit.burst) for name, limit in DEFAULT_LIMITS.items()}
    faults = FaultPlan(9, {kind: fault_rate / len(FAULT_KINDS) for kind in FAULT_KINDS}, retry_after=0.01)
    sim = AmazonSimulator(world, limits=fast, faults=faults if fault_rate else None)
    names = _connect_all(amazon_hub, sim, world)
    for name in names:  # the same app, limits scaled alike
        info = get_connection(amazon_hub.ready_store, name)
        with amazon_hub.ready_store.begin() as conn:
            conn.execute(
                sa.update(connections)
                .where(connections.c.id == info.id)
                .values(options={**info.options, "rate_limit_scale": 2000.0})
            )

    results = _sync_all(amazon_hub, sim, names)

    assert [r.status for r in results] == ["succeeded"] * 20, [r.errors for r in results if r.errors]
    assert_equals_truth(amazon_hub, sim)
    assert len(sim.truth()["orders"]) > 1000
    if fault_rate:
        requests = sum(stats.requests for stats in sim.stats.values())
        assert sum(faults.injected.values()) >= 0.05 * requests
        assert sum(r.stats.get("retries", 0) for r in results) >= sum(
            n for kind, n in faults.injected.items() if kind != FaultKind.TOKEN_REVOKED
        ), "each run reports its retries"


def test_documented_limits_are_never_exceeded(amazon_hub):
    """Amazon's own usage plans, unscaled: a full sync of a small seller sees no 429."""
    world = _world(shops=3, days=6, seed=13)
    sim = AmazonSimulator(world)  # DEFAULT_LIMITS: the documented rates and bursts
    names = _connect_all(amazon_hub, sim, world)
    for name in names:
        info = get_connection(amazon_hub.ready_store, name)
        with amazon_hub.ready_store.begin() as conn:
            conn.execute(
                sa.update(connections)
                .where(connections.c.id == info.id)
                .values(options={**info.options, "rate_limit_scale": 1.0})
            )

    results = _sync_all(amazon_hub, sim, names)

    assert [r.status for r in results] == ["succeeded"] * 3, [r.errors for r in results]
    assert_equals_truth(amazon_hub, sim)
    assert {name: st.throttled for name, st in sim.stats.items() if st.throttled} == {}


def test_since_re_reads_from_a_date(amazon_hub):
    world = _world(shops=1, days=10, seed=17)
    sim = AmazonSimulator(world, limits=_scaled_limits())
    [name] = _connect_all(amazon_hub, sim, world)
    _sync_all(amazon_hub, sim, [name])
    since = world.start + dt.timedelta(days=6)
    recorder = CrashingTransport(sim.transport())

    async def resync():
        info = get_connection(amazon_hub.ready_store, name)
        source = open_source(
            amazon_hub.ready_store, amazon_hub.vault, amazon_hub.registry, info, transport=recorder
        )
        return await sync_connection(amazon_hub.ready_store, info, source, since=since)

    result = asyncio.run(resync())

    assert result.status == "succeeded"
    expected = sum(1 for o in world.orders() if o.updated_at.date() >= since)
    assert result.rows_read >= expected > 0, "orders updated since the date are read again"
    assert f"lastUpdatedAfter={since.isoformat()}T00%3A00%3A00Z" in " ".join(recorder.queries)
    assert_equals_truth(amazon_hub, sim)


def test_mapping_preview_applies_each_marketplace_s_defaults(amazon_hub):
    """Preview maps kept raw records as a sync would: the partition's shop, site and currency."""
    import json

    from typer.testing import CliRunner

    from hub.cli import app

    world = _world(shops=2, days=3, seed=19)
    sim = AmazonSimulator(world, limits=_scaled_limits())
    names = _connect_all(amazon_hub, sim, world)
    _sync_all(amazon_hub, sim, names)

    shown = CliRunner().invoke(app, ["mapping", "preview", names[0], "orders", "--limit", "5"])

    assert shown.exit_code == 0, shown.output
    results = json.loads(shown.stdout)
    assert results and all(not r["errors"] for r in results)
    shop = sim.credentials()["sellers"][0]["marketplaces"]
    assert {row["row"]["shop_id"] for r in results for row in r["rows"]} == set(shop.values())
