"""What the precedence rule (``hub.sync.precedence``) costs the write path.

Syncs a Mabang account (``--shops`` shops, ``--days`` days, ``--orders`` orders a day per
shop) from the in-process simulator into a temporary SQLite store, then remaps it
``--repeat`` times with the rule on and off and prints the ratio of the median remap times.
A remap derives every kept raw record again through the same ``RowBatch.write`` a sync uses,
without HTTP, so the ratio is the write path's own. With ``--marketplace`` an Amazon
connection holds the Amazon shop's orders first, so Mabang's rows really defer.

    python benchmarks/mabang_merge_overhead.py [--shops 3] [--days 60] [--orders 30]
                                               [--repeat 3] [--marketplace]

Target: remap with the rule ÷ remap without ≤ 1.5.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from hub.connections import add_connection, get_connection, open_source
from hub.context import HubContext
from hub.settings import Settings
from hub.store.tables import standard_tables
from hub.sync import precedence, remap_connection, sync_connection
from hub.vault import create_key_file
from plugins.amazon.simulator import DEFAULT_LIMITS, AmazonSimulator
from plugins.erp_mabang.simulator import MabangSimulator
from sdk.http import RateLimit
from sdk.simulator import SellerWorld

TARGET = 1.5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", type=int, default=3)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--orders", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--marketplace", action="store_true")
    return parser.parse_args(argv)


def _sync(ctx: HubContext, name: str, transport: object) -> None:
    store = ctx.ready_store
    info = get_connection(store, name)
    source = open_source(store, ctx.vault, ctx.registry, info, transport=transport, egress=ctx.egress)  # type: ignore[arg-type]
    result = asyncio.run(sync_connection(store, info, source))
    if result.status != "succeeded":
        raise RuntimeError(f"{name}: sync {result.status}: {result.errors[:1]}")


def _remap_seconds(ctx: HubContext) -> float:
    store = ctx.ready_store
    info = get_connection(store, "mabang")
    source = open_source(store, ctx.vault, ctx.registry, info, egress=ctx.egress)
    start = time.perf_counter()
    result = remap_connection(store, info, source)
    seconds = time.perf_counter() - start
    if result.status != "succeeded":
        raise RuntimeError(f"remap {result.status}: {result.errors[:1]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = dt.date(2026, 6, 1)
    world = SellerWorld.generate(
        5,
        shops=args.shops,
        days=args.days,
        start=start,
        platforms=("amazon", "shopee", "shopify"),
        skus=200,
        orders_per_day=args.orders,
    )
    mabang = MabangSimulator(world)
    with tempfile.TemporaryDirectory(prefix="kpihub-bench-") as tmp:
        key_file = Path(tmp) / "master.key"
        create_key_file(key_file)
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'kpihub.db'}",
            master_key_file=key_file,
            load_plugins="erp_mabang,amazon",
            egress_allow="loopback,*.simulator",  # the simulators answer in-process
        )
        ctx = HubContext(settings)
        try:
            ctx.store.migrate()
            creds = mabang.credentials()
            shops = {
                k: {"platform": p, "shop_id": s, "site": site} for k, (p, s, site) in creds["shops"].items()
            }
            add_connection(
                ctx.ready_store,
                ctx.vault,
                ctx.registry,
                name="mabang",
                plugin="erp_mabang",
                options={
                    "base_url": mabang.base_urls()["v2"],
                    "shops": shops,
                    "start_date": (start - dt.timedelta(days=1)).isoformat(),
                    "window_days": 31,
                    "max_rows": 1000,
                    "requests_per_second": 15,
                },
                credentials={"app_key": creds["app_key"], "app_secret": creds["app_secret"]},
                egress=ctx.egress,
            )
            if args.marketplace:
                _add_amazon(ctx, world, start)
            _sync(ctx, "mabang", mabang.transport())
            with ctx.ready_store.begin() as conn:
                orders = conn.execute(
                    sa.select(sa.func.count()).select_from(standard_tables["orders"])
                ).scalar_one()
            on = [_remap_seconds(ctx) for _ in range(args.repeat)]
            applies = precedence.MergeWriter.applies
            precedence.MergeWriter.applies = property(lambda self: False)  # type: ignore[method-assign, assignment]
            try:
                off = [_remap_seconds(ctx) for _ in range(args.repeat)]
            finally:
                precedence.MergeWriter.applies = applies  # type: ignore[method-assign]
        finally:
            ctx.close()
    ratio = statistics.median(on) / statistics.median(off)
    print(f"orders stored: {orders}; marketplace connection: {'yes' if args.marketplace else 'no'}")
    print(
        f"remap with the rule:    median {statistics.median(on):.2f} s of {', '.join(f'{s:.2f}' for s in on)}"
    )
    listed = ", ".join(f"{s:.2f}" for s in off)
    print(f"remap without the rule: median {statistics.median(off):.2f} s of {listed}")
    print(f"with ÷ without = {ratio:.2f} (target ≤ {TARGET}): {'PASS' if ratio <= TARGET else 'FAIL'}")
    return 0


def _add_amazon(ctx: HubContext, world: SellerWorld, start: dt.date) -> None:
    limits = {name: RateLimit(limit.rate * 1000, limit.burst) for name, limit in DEFAULT_LIMITS.items()}
    sim = AmazonSimulator(world, limits=limits)
    creds = sim.credentials()
    urls = sim.base_urls()
    for n, seller in enumerate(creds["sellers"]):
        name = f"amazon{n}"
        add_connection(
            ctx.ready_store,
            ctx.vault,
            ctx.registry,
            name=name,
            plugin="amazon",
            options={
                "seller_id": seller["seller_id"],
                "region": seller["region"].lower(),
                "marketplaces": seller["marketplaces"],
                "start_date": (start - dt.timedelta(days=1)).isoformat(),
                "sp_api_url": urls["sp_api"],
                "ads_url": urls["ads"],
                "lwa_url": urls["lwa"] + "/auth/o2/token",
                "report_poll_seconds": 0.01,
                "rate_limit_scale": 1000,
            },
            credentials={
                "lwa_client_id": creds["lwa_client_id"],
                "lwa_client_secret": creds["lwa_client_secret"],
                "refresh_token": seller["refresh_token"],
            },
            egress=ctx.egress,
        )
        _sync(ctx, name, sim.transport())


if __name__ == "__main__":
    sys.exit(main())
