"""The TikTok connector against its simulator, through the real hub: equal to the ground truth."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import pytest
import sqlalchemy as sa

from hub.connections import get_connection, open_source
from hub.store.tables import raw_records, sync_runs
from hub.store.wal import log_frames
from hub.sync import remap_connection
from plugins.tiktok import TikTokSource
from plugins.tiktok.simulator import TikTokSimulator
from sdk import SourceContext
from sdk.simulator import FaultKind, FaultPlan, SellerWorld

FAULT_KINDS = [
    FaultKind.RATE_LIMIT_429,
    FaultKind.RATE_LIMIT_429_NO_RETRY_AFTER,
    FaultKind.SERVER_500,
    FaultKind.SERVER_503,
    FaultKind.TRUNCATED_JSON,
    FaultKind.MALFORMED_JSON,
    FaultKind.TOKEN_REVOKED,
    FaultKind.REPEAT_PAGE,
]
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""Heavier cases run on SQLite; the equality and quarantine tests cover every database."""
NOT_RETRIED = (FaultKind.TOKEN_REVOKED, FaultKind.REPEAT_PAGE)  # a refresh; a page read twice


def _faults(seed, rate):
    return FaultPlan(seed, {kind: rate / len(FAULT_KINDS) for kind in FAULT_KINDS}, retry_after=0.01)


def test_sync_equals_ground_truth(tiktok_hub, kit):
    world = kit.make_world(shops=5, days=8, seed=11)
    sim = TikTokSimulator(world, rate_limit=kit.FAST)
    names = tiktok_hub.connect_all(sim, world, page_size=7, returns_page_size=10)

    results = tiktok_hub.sync_all(sim, names)

    assert [r.status for r in results] == ["succeeded"] * 2, [r.errors for r in results]
    tiktok_hub.assert_equals_truth(sim)
    truth = sim.truth()
    assert len(truth["orders"]) > 100 and truth["refunds"] and truth["shipments"]
    assert sim.stats["searchOrders"].requests > 2 * 5, "several pages per shop"
    assert sim.throttled == 0, "the connector's budgets keep it under the simulator's limits"


@SQLITE_ONLY
def test_a_second_sync_reads_only_what_changed(tiktok_hub, kit):
    world = kit.make_world(shops=2, days=5, seed=12)
    sim = TikTokSimulator(world, rate_limit=kit.FAST)
    names = tiktok_hub.connect_all(sim, world)
    tiktok_hub.sync_all(sim, names)

    [again] = tiktok_hub.sync_all(sim, names)

    assert again.status == "succeeded" and again.rows_read == 0
    tiktok_hub.assert_equals_truth(sim)


@SQLITE_ONLY
def test_twenty_shops_ninety_days_with_faults_equal_the_truth(tiktok_hub, kit):
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=91)
    world = SellerWorld.generate(
        90, shops=20, days=90, start=start, platforms=("tiktok",), orders_per_day=1, refund_rate=0.1
    )
    faults = _faults(9, 0.10)
    sim = TikTokSimulator(world, rate_limit=kit.FAST, faults=faults)
    names = tiktok_hub.connect_all(sim, world)

    results = tiktok_hub.sync_all(sim, names)

    assert len(names) == 5 and [r.status for r in results] == ["succeeded"] * 5, [
        r.errors for r in results if r.errors
    ]
    tiktok_hub.assert_equals_truth(sim)
    assert len(sim.truth()["orders"]) > 1000
    requests = sum(stats.requests for stats in sim.stats.values())
    assert sum(faults.injected.values()) >= 0.05 * requests
    assert sum(r.stats.get("retries", 0) for r in results) >= sum(
        n for kind, n in faults.injected.items() if kind not in NOT_RETRIED
    ), "each run reports its retries"
    assert sum(r.stats.get("token_refreshes", 0) for r in results) >= faults.injected[FaultKind.TOKEN_REVOKED]


@SQLITE_ONLY
def test_orders_changing_during_a_sync_are_read_by_the_next(tiktok_hub, kit):
    world = kit.make_world(shops=2, days=10, seed=17)
    faults = FaultPlan(3, {FaultKind.UPDATE_RECORDS: 0.3}, update_fraction=0.05)
    sim = TikTokSimulator(world, rate_limit=kit.FAST, faults=faults)
    names = tiktok_hub.connect_all(sim, world, page_size=4, lag_seconds=0)

    [first] = tiktok_hub.sync_all(sim, names)
    assert first.status == "succeeded" and faults.injected[FaultKind.UPDATE_RECORDS] > 0
    with pytest.raises(AssertionError, match="orders"):
        tiktok_hub.assert_equals_truth(sim)  # orders moved on after they were read
    time.sleep(1.1)  # TikTok's times are whole seconds: changes of this second are read next second
    with faults.paused():
        [second] = tiktok_hub.sync_all(sim, names)

    assert second.status == "succeeded" and second.rows_read > 0, "the changed orders were read again"
    tiktok_hub.assert_equals_truth(sim)


def _tiny_world(kit):
    return kit.make_world(shops=2, days=16, seed=21, orders_per_day=1, refund_rate=0.5)


_COUNTS: dict[str, int] = {}


def _clean_request_count(kit):
    """How many requests an uninterrupted sync of the tiny world makes (read without a store)."""
    if "tiny" in _COUNTS:
        return _COUNTS["tiny"]
    world = _tiny_world(kit)
    sim = TikTokSimulator(world, rate_limit=kit.FAST)
    recorder = kit.RecordingTransport(sim.transport())
    creds = sim.credentials()
    [seller] = creds["sellers"]
    source = TikTokSource(
        TikTokSource.Options(**kit.options(seller, sim, world, page_size=3, returns_page_size=10)),
        TikTokSource.Credentials(
            app_key=creds["app_key"], app_secret=creds["app_secret"], refresh_token=seller["refresh_token"]
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
    _COUNTS["tiny"] = len(recorder.requests)
    return _COUNTS["tiny"]


@SQLITE_ONLY
@pytest.mark.parametrize("point", range(6))
def test_killed_mid_sync_resumes_to_the_truth(tiktok_hub, kit, point):
    count = _clean_request_count(kit)
    crash_at = 1 + round(point * (count - 1) / 5)  # the token refresh, the last request, and between
    world = _tiny_world(kit)
    sim = TikTokSimulator(world, rate_limit=kit.FAST)
    names = tiktok_hub.connect_all(sim, world, page_size=3, returns_page_size=10)
    crashing = kit.RecordingTransport(sim.transport(), crash_at=crash_at)

    with pytest.raises(kit.Crash):
        tiktok_hub.sync_all(sim, names, transport=crashing)
    results = tiktok_hub.sync_all(sim, names)

    assert [r.status for r in results] == ["succeeded"], results[0].errors
    tiktok_hub.assert_equals_truth(sim)
    assert sim.truth()["refunds"] and sim.truth()["shipments"], "both streams carry data"
    assert sim.tokens.refused == {}, "no refresh was refused: the connection is not locked out"


@SQLITE_ONLY
def test_killed_right_after_a_token_refresh_reuses_the_persisted_token(tiktok_hub, kit):
    world = _tiny_world(kit)
    sim = TikTokSimulator(world, rate_limit=kit.FAST)
    [name] = tiktok_hub.connect_all(sim, world)
    crashing = kit.RecordingTransport(sim.transport(), crash_at=2)  # 1: token refresh, 2: first API call

    with pytest.raises(kit.Crash):
        tiktok_hub.sync_all(sim, [name], transport=crashing)
    assert crashing.requests[0].url.path.endswith("/token/refresh")
    [result] = tiktok_hub.sync_all(sim, [name])

    assert result.status == "succeeded", result.errors
    assert sim.stats["tokenRefresh"].requests == 1, "the token granted before the crash was kept and used"
    tiktok_hub.assert_equals_truth(sim)


def test_a_record_breaking_the_amount_identities_is_quarantined(tiktok_hub, kit):
    world = kit.make_world(shops=1, days=4, seed=31)
    sim = TikTokSimulator(world, rate_limit=kit.FAST)
    broken = world.orders("tiktok")[3]
    sim.tamper_payment(broken.order_id, total_amount="99999.99")
    [name] = tiktok_hub.connect_all(sim, world)

    [result] = tiktok_hub.sync_all(sim, [name])

    assert result.status == "succeeded" and result.rows_rejected == 1
    tiktok_hub.assert_equals_truth(sim)  # the truth leaves the tampered order out; all else landed
    with tiktok_hub.hub.ready_store.begin() as conn:
        errors = conn.execute(
            sa.select(raw_records.c.record_key, raw_records.c.error, raw_records.c.data).where(
                raw_records.c.error.is_not(None)
            )
        ).all()
    [(key, error, data)] = errors
    assert json.loads(key) == [broken.order_id] and data["payment"]["total_amount"] == "99999.99"
    assert "payment.total_amount is 99999.99" in error
    assert "sub_total + shipping_fee + tax + retail_delivery_fee" in error

    info = get_connection(tiktok_hub.hub.ready_store, name)
    source = open_source(tiktok_hub.hub.ready_store, tiktok_hub.hub.vault, tiktok_hub.hub.registry, info)
    remapped = remap_connection(tiktok_hub.hub.ready_store, info, source)
    assert remapped.status == "succeeded" and remapped.rows_rejected == 1, "remap keeps it quarantined"
    tiktok_hub.assert_equals_truth(sim)


@SQLITE_ONLY
def test_runs_report_requests_and_token_refreshes(tiktok_hub, kit):
    world = kit.make_world(shops=1, days=2, seed=41)
    sim = TikTokSimulator(world, rate_limit=kit.FAST)
    [name] = tiktok_hub.connect_all(sim, world)

    tiktok_hub.sync_all(sim, [name])

    with tiktok_hub.hub.ready_store.begin() as conn:
        [stats] = conn.execute(sa.select(sync_runs.c.stats)).scalars().all()
    assert stats["requests"] == sum(s.requests for n, s in sim.stats.items() if not n.startswith("token"))
    assert stats["tokens_issued"] == 1


WORKERS = {"workers": 1, "workers_after": 0}
"""Land pages in a worker process from the first page (large runs start one by themselves)."""


def _shareable(tiktok_hub):
    if tiktok_hub.hub.ready_store.engine.dialect.name not in ("sqlite", "postgresql"):
        pytest.skip("syncs land pages in worker processes on SQLite and PostgreSQL only")


def test_pages_landed_in_a_worker_process_equal_the_truth(tiktok_hub, kit):
    """Half the shops' pages land in a worker process; the check (the plugin's code) still
    quarantines a record there, with the same reasons."""
    _shareable(tiktok_hub)
    world = kit.make_world(shops=4, days=6, seed=41)
    sim = TikTokSimulator(world, rate_limit=kit.FAST)
    broken = world.orders("tiktok")[-1]
    sim.tamper_payment(broken.order_id, total_amount="99999.99")
    [name] = tiktok_hub.connect_all(sim, world, page_size=5)

    [result] = tiktok_hub.sync_all(sim, [name], **WORKERS)

    assert result.status == "succeeded" and result.rows_rejected == 1, result.errors
    assert result.stats["landing_workers"] == 1
    pages = sim.stats["searchOrders"].requests + sim.stats["searchReturns"].requests
    assert 0 < result.stats["landing_worker_pages"] < pages, "some pages, not all, landed there"
    assert result.stats["landing_worker_peak_rss_kb"] > 0
    tiktok_hub.assert_equals_truth(sim)
    with tiktok_hub.hub.ready_store.begin() as conn:
        [(key, error)] = conn.execute(
            sa.select(raw_records.c.record_key, raw_records.c.error).where(raw_records.c.error.is_not(None))
        ).all()
    assert json.loads(key) == [broken.order_id] and "payment.total_amount is 99999.99" in error
    database = tiktok_hub.hub.ready_store.sqlite_file
    if database is not None:
        # The run copied its SQLite log beside its writers and emptied it at the end: what is
        # left is the run's own closing record, not the hundreds of pages it landed.
        assert log_frames(database) < 20


@pytest.mark.parametrize("landing", [{}, WORKERS], ids=["here", "in a worker"])
def test_a_page_the_database_refuses_stops_only_its_shop(tiktok_hub, kit, landing):
    """Each shop whose page is refused stops there, wherever its pages land (every shop has
    one here, so both lanes meet one); the next sync reads each shop on from that page and
    ends equal to the truth."""
    from hub_rows import accept_records, refuse_records

    if landing:
        _shareable(tiktok_hub)
    world = kit.make_world(shops=4, days=6, seed=42)
    sim = TikTokSimulator(world, rate_limit=kit.FAST)
    by_shop = {
        shop.shop_id: [o.order_id for o in world.orders("tiktok") if o.shop_id == shop.shop_id]
        for shop in world.shops
    }
    refused = {shop: orders[7] for shop, orders in by_shop.items()}
    with tiktok_hub.hub.ready_store.begin() as conn:
        refuse_records(
            conn, [json.dumps([order]) for order in refused.values()], "the store refused the page"
        )
    [name] = tiktok_hub.connect_all(sim, world, page_size=5)

    [result] = tiktok_hub.sync_all(sim, [name], **landing)

    assert result.status == "partial", result.errors
    assert [e["kind"] for e in result.errors] == ["StoreError"], "a stream fails once, with its first failure"
    assert "refused the page" in result.errors[0]["error"]
    if landing:
        assert result.stats["landing_worker_pages"] > 0
    stored = tiktok_hub.stored("orders")
    for shop, orders in by_shop.items():
        kept = [order for order in orders if ("tiktok", shop, order) in stored]
        assert len(kept) < len(orders) and refused[shop] not in kept, shop
    assert len(stored) >= 5, "the pages before the refused ones are kept"
    with tiktok_hub.hub.ready_store.begin() as conn:
        accept_records(conn)

    [again] = tiktok_hub.sync_all(sim, [name], **landing)

    assert again.status == "succeeded", again.errors
    tiktok_hub.assert_equals_truth(sim)


def test_pages_land_here_when_the_worker_process_dies(tiktok_hub, kit, monkeypatch):
    """A worker that dies (killed, out of memory) breaks its pool: the pages handed to it land
    in the sync's own process instead, and nothing is lost."""
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    from hub.sync.workers import LandingWorkers

    _shareable(tiktok_hub)
    world = kit.make_world(shops=4, days=6, seed=43)
    sim = TikTokSimulator(world, rate_limit=kit.FAST)
    [name] = tiktok_hub.connect_all(sim, world, page_size=5)
    real_land, broken = LandingWorkers.land, []

    def land(self, job, pages, check):
        if not broken:  # the first pages handed over find the worker killed
            for process in multiprocessing.active_children():
                process.kill()
                process.join()
        try:
            return real_land(self, job, pages, check)
        except BrokenProcessPool:
            broken.append(len(pages))
            raise

    monkeypatch.setattr(LandingWorkers, "land", land)

    [result] = tiktok_hub.sync_all(sim, [name], **WORKERS)

    assert broken, "the pool broke under the sync"
    assert result.status == "succeeded", result.errors
    assert "landing_worker_pages" not in result.stats, "no page landed in the dead worker"
    tiktok_hub.assert_equals_truth(sim)
