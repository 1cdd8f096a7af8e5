"""Ingest benchmark: orders from TikTok Shop simulator pages through the hub's sync, against dlt.

1. **Record** the pages once. Seeded ``SellerWorld``s of 8 TikTok shops each (a new seed per
   world, until there are enough orders) are served by ``TikTokSimulator`` and read through
   the real TikTok connector (signed requests, token refresh, ``page_token`` paging); each page
   of orders is kept as one JSON line of a temporary file. Shop ``i`` of every world feeds
   partition ``i``, so every size is read by the same 8 concurrent partitions.
2. **kpihub**, in a fresh process per run: a migrated store, an encrypted TikTok connection
   and ``sync_connection`` (landing of raw records, mapping to ``orders``, ``order_items`` and
   ``shipments``, validation, per-page commits with state). The connector talks, in process
   (``httpx.ASGITransport``), to a ``TikTokSimulator`` that authenticates every request as the
   real one does and answers from the recorded pages.
3. **dlt**, in a fresh process per run: the same recorded orders, as parsed JSON, through a dlt
   pipeline (its own normalisation into ``orders`` and child tables) into the same database:
   the ``sqlalchemy`` destination for SQLite, ``postgres`` for PostgreSQL.

Each run prints orders/s (source orders ÷ wall seconds of the sync or of ``pipeline.run``)
and peak RSS (``VmHWM``). kpihub runs as it does by default: past 10,000 records the sync
starts one worker process and lands part of the shops' pages there; its peak RSS is added to
the sync process's (the ``worker`` column shows that share). dlt runs with its defaults.
Targets: kpihub peak RSS under 300 MB and flat with the order count; kpihub orders/s ÷ dlt
orders/s ≥ 1.

Usage::

    python benchmarks/ingest.py [--orders 1000000] [--sizes 100000,300000,1000000]
                                [--db sqlite|postgresql|both] [--postgres-url URL] [--no-dlt]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime as dt
import json
import multiprocessing
import os
import resource
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SLOTS = 8
"""Shops per world, and partitions of the benchmark's connection."""
START = dt.date(2026, 1, 1)
DAYS = 30
ORDERS_PER_DAY = 100.0
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RSS_TARGET_MB = 300.0


@dataclass(frozen=True)
class Page:
    """One recorded page: where its orders' JSON array is in the pages file, and how many."""

    slot: int
    offset: int
    length: int
    orders: int
    cut: bool = False
    """Whether only the first ``orders`` of the page's records are wanted."""


# -- recording ---------------------------------------------------------------------------------


def _world(seed: int, days: int) -> Any:
    from sdk.simulator import SellerWorld

    return SellerWorld.generate(
        seed, shops=SLOTS, days=days, start=START, platforms=("tiktok",), orders_per_day=ORDERS_PER_DAY
    )


def _connector_options(sim: Any, seller: dict[str, Any]) -> dict[str, Any]:
    urls = sim.base_urls()
    return {
        "shops": seller["shops"],
        "start_date": (START - dt.timedelta(days=1)).isoformat(),
        "api_url": urls["api"],
        "auth_url": urls["auth"],
        "requests_per_second": 10_000,
        "burst": 1000,
        "lag_seconds": 0,
    }


async def _read_world(world: Any, out: Any, pages: list[Page], seen: set[str], wanted: int) -> int:
    """Read every shop's orders of ``world`` through the connector; append its pages to ``out``."""
    from plugins.tiktok import TikTokSource
    from plugins.tiktok.simulator import TikTokSimulator
    from sdk import Checkpoint, SourceContext
    from sdk.http import RateLimit

    sim = TikTokSimulator(world, rate_limit=RateLimit(1e6, 1e6), shops_per_seller=SLOTS)
    creds = sim.credentials()
    seller = creds["sellers"][0]
    source = TikTokSource(
        TikTokSource.Options.model_validate(_connector_options(sim, seller)),
        TikTokSource.Credentials.model_validate(
            {
                "app_key": creds["app_key"],
                "app_secret": creds["app_secret"],
                "refresh_token": seller["refresh_token"],
            }
        ),
        SourceContext(connection="record", transport=sim.transport()),
    )
    got = 0
    try:
        orders_stream = next(s for s in source.streams() if s.name == "orders")
        for slot, partition in enumerate(orders_stream.partitions()):
            page: list[dict[str, Any]] = []
            async for item in orders_stream.read(partition, {}):
                if not isinstance(item, Checkpoint):
                    if item["id"] not in seen:  # worlds of other seeds may reuse an id: keep the first
                        seen.add(item["id"])
                        page.append(item)
                    continue
                if page:
                    page = page[: wanted - got]
                    text = json.dumps(page, separators=(",", ":")).encode()
                    pages.append(Page(slot, out.tell(), len(text), len(page)))
                    out.write(text + b"\n")
                    got += len(page)
                    page = []
                if got >= wanted:
                    return got
    finally:
        await source.aclose()
    return got


def record(path: Path, orders: int, seed: int = 7, days: int = DAYS) -> list[Page]:
    """Record ``orders`` orders as simulator pages into ``path``; return the pages in order."""
    pages: list[Page] = []
    seen: set[str] = set()
    got, world_seed = 0, seed
    with path.open("wb") as out:
        while got < orders:
            world = _world(world_seed, days)
            got += asyncio.run(_read_world(world, out, pages, seen, orders - got))
            world_seed += 1
    return pages


def select(pages: list[Page], orders: int) -> list[Page]:
    """The first pages holding exactly ``orders`` orders (the last one cut short if need be)."""
    chosen, total = [], 0
    for page in pages:
        if total >= orders:
            break
        take = min(page.orders, orders - total)
        chosen.append(Page(page.slot, page.offset, page.length, take, take < page.orders))
        total += take
    if total < orders:
        raise SystemExit(f"only {total} orders were recorded; record at least {orders}")
    return chosen


def read_page(handle: Any, page: Page) -> bytes:
    """A page's orders as a JSON array, cut to ``page.orders``."""
    handle.seek(page.offset)
    text: bytes = handle.read(page.length)
    if page.cut:
        text = json.dumps(json.loads(text)[: page.orders], separators=(",", ":")).encode()
    return text


# -- kpihub -----------------------------------------------------------------------------------


def replay_simulator(path: Path, pages: list[Page], seed: int = 7) -> Any:
    """A ``TikTokSimulator`` of ``SLOTS`` shops whose orders search answers from recorded pages.

    Authentication is the real simulator's (app key, timestamp, signature over path, query and
    body, access token, shop cipher); the returns search answers empty.
    """
    from starlette.requests import Request
    from starlette.responses import Response

    from plugins.tiktok.simulator import TikTokSimulator
    from sdk.http import RateLimit
    from sdk.simulator import route

    by_slot: dict[int, list[Page]] = {}
    for page in pages:
        by_slot.setdefault(page.slot, []).append(page)

    class ReplaySimulator(TikTokSimulator):
        def __init__(self) -> None:
            super().__init__(_world(seed, 1), rate_limit=RateLimit(1e6, 1e6), shops_per_seller=SLOTS)
            self.slot_of = {shop.cipher: n for n, shop in enumerate(self.shops)}
            self.handle = path.open("rb")

        def _page(self, items_key: str, raw: bytes, token: str, total: int) -> Response:
            head = json.dumps({"code": 0, "message": "Success", "request_id": secrets.token_hex(16).upper()})
            tail = json.dumps({"next_page_token": token, "total_count": total})
            body = b'%s, "data": {"%s": %s, %s' % (
                head[:-1].encode(),
                items_key.encode(),
                raw,
                tail[1:].encode(),
            )
            return Response(body + b"}", media_type="application/json")

        @route("/order/202309/orders/search", methods=["POST"], name="searchOrders")
        async def search_orders(self, request: Request) -> Response:
            _, shop = await self._authorise(request, shop_scoped=True)
            assert shop is not None
            mine = by_slot.get(self.slot_of[shop.cipher], [])
            n = int(request.query_params.get("page_token") or 0)
            if n >= len(mine):
                return self._page("orders", b"[]", "", 0)
            token = str(n + 1) if n + 1 < len(mine) else ""
            return self._page("orders", read_page(self.handle, mine[n]), token, len(mine))

        @route("/return_refund/202309/returns/search", methods=["POST"], name="searchReturns")
        async def search_returns(self, request: Request) -> Response:
            await self._authorise(request, shop_scoped=True)
            return self._page("return_orders", b"[]", "", 0)

    return ReplaySimulator()


def kpihub_run(url: str, path: str, pages: list[Page], workdir: str) -> dict[str, Any]:
    """Sync the recorded pages through the hub into ``url``; orders, seconds, rows, peak RSS."""
    from hub.connections import add_connection, get_connection, open_source
    from hub.context import HubContext
    from hub.plugins import load_plugins
    from hub.settings import Settings
    from hub.sync import sync_connection
    from hub.vault import create_key_file
    from plugins import tiktok

    key = Path(workdir) / f"master-{uuid.uuid4().hex[:8]}.key"
    create_key_file(key)
    os.environ["KPIHUB_DATABASE_URL"] = url
    os.environ["KPIHUB_MASTER_KEY_FILE"] = str(key)
    os.environ["KPIHUB_EGRESS_ALLOW"] = "loopback,*.simulator"  # the simulator answers in-process
    hub = HubContext(Settings())
    hub.store.migrate()
    hub.__dict__["registry"] = load_plugins(entry_points=[], extra=[("tiktok", tiktok)])
    sim = replay_simulator(Path(path), pages)
    creds = sim.credentials()
    seller = creds["sellers"][0]
    add_connection(
        hub.ready_store,
        hub.vault,
        hub.registry,
        name="bench",
        plugin="tiktok",
        options=_connector_options(sim, seller),
        credentials={
            "app_key": creds["app_key"],
            "app_secret": creds["app_secret"],
            "refresh_token": seller["refresh_token"],
        },
        egress=hub.egress,
    )
    info = get_connection(hub.ready_store, "bench")

    async def run() -> Any:
        source = open_source(
            hub.ready_store, hub.vault, hub.registry, info, transport=sim.transport(), egress=hub.egress
        )
        return await sync_connection(hub.ready_store, info, source)

    began = time.perf_counter()
    result = asyncio.run(run())
    seconds = time.perf_counter() - began
    if result.status != "succeeded":
        raise RuntimeError(f"the sync did not succeed: {result.status} {result.errors}")
    counts = _counts(hub.store.engine, ("orders", "order_items", "shipments", "raw_records"))
    hub.close()
    sim.handle.close()
    # The sync's worker process (started at KPIHUB_SYNC_WORKERS_AFTER records) counts too: the
    # peak is the two processes' peaks added up, more than they ever held at one time.
    worker_mb = result.stats.get("landing_worker_peak_rss_kb", 0) / 1024
    return {
        "seconds": seconds,
        "rows": result.rows_written,
        "counts": counts,
        "rss_mb": _peak_rss_mb() + worker_mb,
        "worker_rss_mb": worker_mb,
        "worker_pages": result.stats.get("landing_worker_pages", 0),
    }


def _counts(engine: Any, tables: tuple[str, ...]) -> dict[str, int]:
    import sqlalchemy as sa

    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables}


# -- dlt --------------------------------------------------------------------------------------


def dlt_run(url: str, path: str, pages: list[Page], workdir: str, schema: str) -> dict[str, Any]:
    """Load the recorded orders with a dlt pipeline into ``url``; orders, seconds, peak RSS."""
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    import dlt
    import sqlalchemy as sa

    def orders() -> Iterator[list[dict[str, Any]]]:
        with open(path, "rb") as handle:
            for page in pages:
                yield json.loads(read_page(handle, page))

    plain = sa.engine.make_url(url)
    if plain.get_backend_name() == "sqlite":
        # One SQLite file takes one writer: dlt's parallel load jobs failed on "database is
        # locked" at 300,000 orders, so they load one at a time.
        os.environ["LOAD__WORKERS"] = "1"
        destination = dlt.destinations.sqlalchemy(credentials=url)
    else:
        # dlt insists on a password; a server that trusts loopback ignores this placeholder.
        pg = plain.set(drivername="postgresql", password=plain.password or "unused")
        destination = dlt.destinations.postgres(credentials=pg.render_as_string(hide_password=False))
    pipeline = dlt.pipeline(
        pipeline_name=f"ingest_{uuid.uuid4().hex[:8]}",
        pipelines_dir=str(Path(workdir) / "dlt"),
        destination=destination,
        dataset_name=schema,
        progress=None,
    )
    resource = dlt.resource(orders, name="orders", write_disposition="append")
    began = time.perf_counter()
    pipeline.run(resource())
    seconds = time.perf_counter() - began
    with pipeline.sql_client() as client:
        loaded = client.execute_sql("SELECT COUNT(*) FROM orders")[0][0]
    return {"seconds": seconds, "loaded": loaded, "rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not ``ru_maxrss``: Linux carries that over
    from the parent across fork and exec, so a child would report at least its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the best there is


# -- driver -----------------------------------------------------------------------------------


def in_child(func: Any, *args: Any) -> Any:
    """``func(*args)`` in a fresh interpreter, so each run's peak RSS is its own."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(func, *args).result()


class Database:
    """A fresh database per run: a SQLite file, or a private PostgreSQL schema dropped after."""

    def __init__(self, kind: str, pg_url: str, workdir: Path) -> None:
        self.kind, self.pg_url, self.workdir = kind, pg_url, workdir
        self.schemas: list[str] = []

    def url(self, label: str) -> tuple[str, str]:
        """A URL for a fresh database and the schema name a dlt dataset should use there."""
        import sqlalchemy as sa

        schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
        if self.kind == "sqlite":
            return f"sqlite:///{self.workdir / (schema + '.db')}", schema
        engine = sa.create_engine(self.pg_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        self.schemas.append(schema)
        url = sa.engine.make_url(self.pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False), schema

    def drop(self) -> None:
        import sqlalchemy as sa

        if not self.schemas:
            return
        engine = sa.create_engine(self.pg_url)
        with engine.begin() as conn:
            for schema in self.schemas:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
        self.schemas.clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="the largest size")
    parser.add_argument(
        "--sizes", help="comma-separated sizes (default: 10 %%, 30 %% and 100 %% of --orders)"
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("KPIHUB_TEST_POSTGRES_URL") or DEFAULT_PG)
    parser.add_argument("--no-dlt", action="store_true", help="skip the peer")
    args = parser.parse_args()
    sizes = sorted(
        {int(s) for s in args.sizes.split(",")}
        if args.sizes
        else {args.orders // 10, args.orders * 3 // 10, args.orders}
    )
    if sizes[0] < 1:
        parser.error("--orders and --sizes must be positive")
    peer = not args.no_dlt
    if peer:
        try:
            import dlt  # noqa: F401
        except ImportError:
            print("dlt is not installed (pip install -e '.[bench]'): measuring kpihub alone")
            peer = False
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]

    with tempfile.TemporaryDirectory(prefix="kpihub-ingest-") as tmp:
        workdir = Path(tmp)
        pages_path = workdir / "pages.jsonl"
        began = time.perf_counter()
        recorded = record(pages_path, sizes[-1])
        print(
            f"recorded {sizes[-1]:,} orders in {len(recorded):,} pages "
            f"({pages_path.stat().st_size / 1e6:,.0f} MB) "
            f"from the TikTok Shop simulator in {time.perf_counter() - began:.1f} s"
        )
        print(
            f"{'db':<11} {'orders':>10} {'kpihub s':>9} {'orders/s':>9} {'rows':>10} {'peak RSS':>9}"
            f" {'worker':>7} {'dlt s':>8} {'orders/s':>9} {'peak RSS':>9} {'kpihub ÷ dlt':>12}"
        )
        failures: list[str] = []
        peaks: dict[str, list[float]] = {}
        for kind in kinds:
            db = Database(kind, args.postgres_url, workdir)
            for size in sizes:
                chosen = select(recorded, size)
                try:
                    url, _ = db.url("kpihub")
                    ours = in_child(kpihub_run, url, str(pages_path), chosen, tmp)
                    if ours["counts"]["orders"] != size:
                        failures.append(f"{kind} {size}: kpihub stored {ours['counts']['orders']} orders")
                    theirs = None
                    if peer:
                        url, schema = db.url("dlt")
                        theirs = in_child(dlt_run, url, str(pages_path), chosen, tmp, schema)
                        if theirs["loaded"] != size:
                            failures.append(f"{kind} {size}: dlt loaded {theirs['loaded']} orders")
                finally:
                    db.drop()
                rate = size / ours["seconds"]
                peaks.setdefault(kind, []).append(ours["rss_mb"])
                line = (
                    f"{kind:<11} {size:>10,} {ours['seconds']:>9.1f} {rate:>9,.0f} {ours['rows']:>10,}"
                    f" {ours['rss_mb']:>7.0f}MB {ours['worker_rss_mb']:>5.0f}MB"
                )
                if theirs is not None:
                    peer_rate = size / theirs["seconds"]
                    line += (
                        f" {theirs['seconds']:>8.1f} {peer_rate:>9,.0f} {theirs['rss_mb']:>7.0f}MB"
                        f" {rate / peer_rate:>12.2f}"
                    )
                    if rate < peer_rate:
                        failures.append(f"{kind} {size}: kpihub {rate:,.0f} orders/s < dlt {peer_rate:,.0f}")
                print(line, flush=True)
            for file in workdir.glob("bench_*.db"):
                file.unlink()
        for kind, values in peaks.items():
            verdict = "PASS" if max(values) < RSS_TARGET_MB and max(values) <= 1.2 * min(values) else "FAIL"
            if verdict == "FAIL":
                failures.append(f"{kind}: kpihub peak RSS {', '.join(f'{v:.0f}' for v in values)} MB")
            print(
                f"{kind}: kpihub peak RSS by size {', '.join(f'{v:.0f} MB' for v in values)}: {verdict}"
                f" (target under {RSS_TARGET_MB:.0f} MB and within 20 % across sizes)"
            )
    print("PASS" if not failures else "FAIL: " + "; ".join(failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
