"""How close 20 Shopee shops sharing one partner app come to the app's per-API rate, with no 429.

Shopee publishes no numeric limits; the connector's ``rate_limit`` option (requests per second
per API, shared by every shop of the app) is meant to be set to whatever the app was granted.
This script serves a world of ``--shops`` Shopee shops with ``ShopeeSimulator`` limiting every
API to ``--rate`` requests/s (burst = rate) per partner app, configures the connector with the
same rate, and reads every shop's streams concurrently through the SDK (records counted and
dropped: the HTTP pacing alone). ``payment.get_escrow_detail`` (one call per paid order) is
the busiest API and so the one judged.

Figures:

- achieved / allowed for the escrow API = (requests - burst used) / (last - first request) /
  rate, burst used being ``burst - 1`` (the connector keeps one token as headroom);
- ``error_rate_limit`` answers from the simulator's own budget (not injected faults);
- time / floor = wall time of the whole read / floor, where floor adds up, stream by stream
  (orders, returns, ads, read one after another as a sync does), the busiest API's
  (requests - burst) / rate: each API has its own budget, so within a stream the busiest one
  sets the pace. Token refreshes overlap the first listings and are left out.

Targets: achieved / allowed >= 0.95, no ``error_rate_limit``, time / floor <= 1.10. PASS/FAIL
is printed; the exit status is 0 unless the read itself fails.

    python benchmarks/shopee_rate_budget.py [--shops 20] [--rate 50] [--days 5]
        [--orders-per-day 5] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time

from plugins.shopee import ShopeeSource
from plugins.shopee import client as shopee_client
from plugins.shopee.simulator import ShopeeSimulator
from sdk import SourceContext
from sdk.http import RateBudgets, RateLimit
from sdk.simulator import SellerWorld

BUSIEST = "payment.get_escrow_detail"
PHASES = (
    ("order.get_order_list", "order.get_order_detail", BUSIEST),
    ("returns.get_return_list", "returns.get_return_detail"),
    ("ads.get_all_cpc_ads_daily_performance",),
)
MIN_RATIO = 0.95
MAX_TIME_RATIO = 1.10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--orders-per-day", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=args.days + 1)
    world = SellerWorld.generate(
        args.seed,
        shops=args.shops,
        days=args.days,
        start=start,
        platforms=("shopee",),
        orders_per_day=args.orders_per_day,
    )
    sim = ShopeeSimulator(world, rate_limit=RateLimit(args.rate, args.rate))
    shopee_client.BUDGETS = RateBudgets()
    creds = sim.credentials()
    source = ShopeeSource(
        ShopeeSource.Options(
            partner_id=creds["partner_id"],
            shops=creds["shops"],
            base_url=sim.base_urls()["api"],
            start_date=start - dt.timedelta(days=1),
            rate_limit=args.rate,
        ),
        ShopeeSource.Credentials(partner_key=creds["partner_key"], refresh_tokens=creds["refresh_tokens"]),
        SourceContext("benchmark", transport=sim.transport()),
    )

    async def read_shop(stream, partition) -> int:
        return sum([1 async for item in stream.read(partition, {}) if isinstance(item, dict)])

    async def read_all() -> int:
        total = 0
        for stream in source.streams():  # streams in turn, shops concurrently: as a sync does
            total += sum(await asyncio.gather(*(read_shop(stream, p) for p in stream.partitions())))
        await source.aclose()
        return total

    began, cpu = time.perf_counter(), time.process_time()
    records = asyncio.run(read_all())
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu

    stats = sim.stats[BUSIEST]
    burst_used = args.rate - 1
    span = stats.times[-1] - stats.times[0]
    achieved = (stats.requests - burst_used) / span / args.rate if span > 0 else float("nan")
    floor = sum(
        max(0.0, max(sim.stats[api].requests for api in phase) - args.rate) / args.rate for phase in PHASES
    )
    throttled = sim.throttled
    if floor <= 0 or span <= 0:
        # Every call fit in the first burst: nothing was paced, so there is nothing to judge.
        requests = sum(s.requests for s in sim.stats.values())
        print(f"requests {requests} fit in one burst: world too small to judge")
        return 0
    print(f"shops {args.shops}, days {args.days}, rate {args.rate:g}/s per API, seed {args.seed}")
    print(f"records read {records}; requests {sum(s.requests for s in sim.stats.values())}")
    print(f"{BUSIEST}: {stats.requests} requests, achieved / allowed {achieved:.3f}")
    print(f"time / floor {wall / floor:.3f} (wall {wall:.1f} s, floor {floor:.1f} s)")
    print(f"CPU / wall {cpu / wall:.0%}")
    print(f"error_rate_limit answers {throttled}")
    ok = achieved >= MIN_RATIO and throttled == 0 and wall / floor <= MAX_TIME_RATIO
    print("PASS" if ok else "FAIL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
