"""Kill-and-resume, single-use refresh tokens and the daily quota pause, through the real hub."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools

import httpx
import pytest
import sqlalchemy as sa

from hub.connections import get_connection, open_source
from hub.store.tables import connections, sync_runs
from hub.sync import engine
from plugins.shopee import ShopeeSource
from plugins.shopee.signing import sign
from plugins.shopee.simulator import ShopeeSimulator
from sdk import SourceContext


class Clock:
    """The simulator's clock, moved forward by tests (tokens expire after 4 simulated hours)."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        import time

        return time.monotonic() + self.offset


def _tiny(kit, shops=2):
    return kit.make_world(shops=shops, days=4, seed=21, orders_per_day=3, refund_rate=0.3)


@functools.cache
def _clean_request_count():
    """How many requests an uninterrupted read of the tiny world makes (no store involved)."""
    import importlib

    kit = importlib.import_module("tests.plugins.shopee.conftest")
    world = _tiny(kit)
    sim = ShopeeSimulator(world, rate_limit=kit.FAST)
    recorder = kit.CrashingTransport(sim.transport())
    source = ShopeeSource(
        ShopeeSource.Options(**kit.options_for(sim, world)),
        ShopeeSource.Credentials(**kit.credentials_for(sim)),
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


def _stored_tokens(hub, name):
    info = get_connection(hub.ready_store, name)
    source = open_source(hub.ready_store, hub.vault, hub.registry, info)
    return {shop: source.credentials.refresh_token(shop) for shop in source.options.shops}


def _refresh_directly(sim, shop_id, refresh_token):
    """Spend ``refresh_token`` at the simulator as any client would; the answer's body."""
    import time

    timestamp = int(time.time())
    path = "/api/v2/auth/access_token/get"
    params = {
        "partner_id": sim.partner_id,
        "timestamp": timestamp,
        "sign": sign(sim.partner_key, sim.partner_id, path, timestamp),
    }
    body = {"refresh_token": refresh_token, "partner_id": sim.partner_id, "shop_id": int(shop_id)}

    async def call():
        async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_urls()["api"]) as client:
            return (await client.post(path, params=params, json=body)).json()

    return asyncio.run(call())


def _expire_access_tokens(clock):
    clock.offset += 5 * 3600  # past the 4-hour access tokens: the next run must refresh


@pytest.mark.parametrize("point", range(6))
def test_killed_at_several_points_resumes_to_the_truth(sqlite_hub, kit, point):
    total = _clean_request_count()
    crash_at = 1 + round(point * (total - 1) / 5)
    clock = Clock()
    world = _tiny(kit)
    sim = ShopeeSimulator(world, rate_limit=kit.FAST, clock=clock)
    names = kit.connect(sqlite_hub, sim, world)
    crashing = kit.CrashingTransport(sim.transport(), crash_at=crash_at)

    with pytest.raises(kit.Crash):
        kit.sync_all(sqlite_hub, sim, names, transport=crashing)
    [resumed] = kit.sync_all(sqlite_hub, sim, names)

    assert resumed.status == "succeeded", resumed.errors
    kit.assert_equals_truth(sqlite_hub, sim)
    _expire_access_tokens(clock)
    [again] = kit.sync_all(sqlite_hub, sim, names)
    assert again.status == "succeeded", "no shop is locked out: the kept refresh tokens still work"
    assert again.stats["tokens_issued"] == 2, "each shop refreshed with the refresh token the vault holds"


def test_killed_between_a_token_refresh_and_its_use(sqlite_hub, kit):
    clock = Clock()
    world = _tiny(kit, shops=1)  # one shop: the kill falls on its first call after the refresh
    sim = ShopeeSimulator(world, rate_limit=kit.FAST, clock=clock)
    names = kit.connect(sqlite_hub, sim, world)
    original = dict(sim.refresh_tokens)
    crashing = kit.CrashingTransport(sim.transport(), crash_after_refresh=True)

    with pytest.raises(kit.Crash):
        kit.sync_all(sqlite_hub, sim, names, transport=crashing)

    assert crashing.paths[-2].endswith("/auth/access_token/get"), "killed right after a refresh answer"
    kept = _stored_tokens(sqlite_hub, names[0])
    spent = [shop for shop in kept if kept[shop] != original[shop]]
    assert len(spent) == 1, "the refreshed shop's new refresh token was saved before anything else"
    [shop] = spent
    assert _refresh_directly(sim, shop, original[shop])["error"] == "error_auth", "the old one is spent"
    with sqlite_hub.ready_store.begin() as conn:
        stored_row = str(conn.execute(sa.select(connections.c.credentials)).scalar_one())
    assert kept[shop] not in stored_row and sim.partner_key not in stored_row, "kept encrypted"

    [resumed] = kit.sync_all(sqlite_hub, sim, names)
    assert resumed.status == "succeeded", resumed.errors
    kit.assert_equals_truth(sqlite_hub, sim)
    _expire_access_tokens(clock)
    [again] = kit.sync_all(sqlite_hub, sim, names)
    assert again.status == "succeeded" and again.stats["tokens_issued"] == 1


def test_a_refused_refresh_token_stops_the_connection_without_showing_it(sqlite_hub, kit):
    world = _tiny(kit)
    sim = ShopeeSimulator(world, rate_limit=kit.FAST)
    names = kit.connect(sqlite_hub, sim, world)
    shop = sorted(sim.refresh_tokens)[0]
    sim.tokens.revoke_refresh(sim.refresh_tokens[shop])

    [result] = kit.sync_all(sqlite_hub, sim, names)

    assert result.status in ("failed", "partial")
    [error] = result.errors
    assert error["kind"] == "CredentialError" and error["transient"] is False
    assert f"shop {shop}" in error["error"] and "authorise the shop again" in error["error"]
    assert "connection 'shopee0'" in error["error"]
    for token in sim.refresh_tokens.values():
        assert token not in error["error"]


def test_a_spent_daily_quota_pauses_the_connection_until_midnight_utc8(sqlite_hub, kit, monkeypatch):
    world = kit.make_world(shops=1, days=6, seed=8)
    truth = ShopeeSimulator(world).truth()["orders"].values()
    # The orders stream's calls (a refresh, a listing, the details, an escrow per paid order)
    # use up the day's quota exactly; the returns stream's first call is refused.
    orders_calls = 2 + -(-len(truth) // 50) + sum(1 for o in truth if o.platform_fees is not None)
    sim = ShopeeSimulator(world, rate_limit=kit.FAST, daily_limit=orders_calls)
    names = kit.connect(sqlite_hub, sim, world)

    [stopped] = kit.sync_all(sqlite_hub, sim, names)

    assert stopped.status == "partial"
    assert stopped.errors[0]["stream"] == "returns"
    [error] = [e for e in stopped.errors if e["kind"] == "QuotaExhausted"]
    now8 = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    midnight = dt.datetime.combine(now8.date() + dt.timedelta(days=1), dt.time(), now8.tzinfo)
    resume = midnight.astimezone(dt.UTC)
    assert error["resume_at"] == resume.isoformat(timespec="seconds")
    assert f"paused until {error['resume_at']}" in error["error"] and "00:00 UTC+8" in error["error"]
    assert len(stopped.errors) == 1, "the run stopped at the first spent quota"
    kept = len(kit.stored(sqlite_hub, "orders"))
    assert kept == len(truth), "what was committed before the quota ran out is kept"

    calls = sum(stats.requests for stats in sim.stats.values())
    [skipped] = kit.sync_all(sqlite_hub, sim, names)
    assert skipped.status == "skipped" and "paused until" in skipped.errors[0]["error"]
    assert sum(stats.requests for stats in sim.stats.values()) == calls, "a paused connection calls nothing"

    sim.daily_limit = None  # a new day at Shopee
    monkeypatch.setattr(engine, "_now", lambda: resume + dt.timedelta(minutes=1))
    [resumed] = kit.sync_all(sqlite_hub, sim, names)
    assert resumed.status == "succeeded", resumed.errors
    kit.assert_equals_truth(sqlite_hub, sim)
    with sqlite_hub.ready_store.begin() as conn:
        statuses = conn.execute(sa.select(sync_runs.c.status).order_by(sync_runs.c.id)).scalars().all()
    assert statuses[-3:] == [stopped.status, "skipped", "succeeded"]


def test_kpihub_sync_says_when_a_paused_connection_resumes(sqlite_hub, kit):
    from typer.testing import CliRunner

    from hub.cli import app
    from sdk.simulator import running

    world = kit.make_world(shops=1, days=6, seed=8)
    sim = ShopeeSimulator(world, rate_limit=kit.FAST, daily_limit=15)
    with running(sim) as origin:
        sim_urls = sim.base_urls(origin)
        names = kit.connect(sqlite_hub, sim, world)
        info = get_connection(sqlite_hub.ready_store, names[0])
        with sqlite_hub.ready_store.begin() as conn:
            conn.execute(
                sa.update(connections)
                .where(connections.c.id == info.id)
                .values(options={**info.options, "base_url": sim_urls["api"]})
            )

        first = CliRunner().invoke(app, ["sync", names[0]])
        second = CliRunner().invoke(app, ["sync", names[0]])

    assert first.exit_code == 1 and second.exit_code == 1
    assert "Shopee answered error_limit" in first.stderr and "is paused until" in first.stderr
    assert "skipped" in second.stdout and "is paused until" in second.stderr
    assert "Traceback" not in first.output + second.output
