"""How close the Power BI sink's pacing comes to the push-dataset limits, against its simulator.

The simulator (on loopback, its clock sped up ``time_scale`` times) enforces the documented
limits with 429s; the sink paces itself to the same limits. Two runs, each binding one limit:

- **per minute**: ``--posts`` POSTs of 100 rows (120 POSTs a minute per dataset binds);
- **per hour**: 1,200,000 rows in POSTs of 10,000 (1,000,000 rows an hour binds).

Figures, from the simulator's own request log (arrival times, simulated seconds). A sliding
window of ``L`` POSTs (or ``L`` POSTs' worth of rows) per ``W`` seconds lets POST ``j`` in at
the earliest ``W`` after POST ``j - L``; a sink that uses the whole budget keeps exactly that
gap. So:

- **achieved ÷ allowed** = ``W / mean(t[j] - t[j - L])`` over every POST ``j > L``: the rate
  the sink kept once the window was full, over the allowed one. This measures the pacing; it
  does not charge the time the sink needs to send the first ``L`` POSTs (row conversion,
  JSON, HTTP: the sink's own throughput, which ``wall`` shows).
- **floor ÷ time**: the span an instantaneous sender would need, over the span achieved
  (both throughput and pacing).
- **429s**: must be 0 (no limit the sink knows may answer 429).

Target (issue 7): achieved ÷ allowed ≥ 0.95.

    python benchmarks/powerbi_pacing.py [--posts 600] [--minute-scale 10] [--hour-scale 100]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time

from plugins.powerbi import PowerBISink
from plugins.powerbi.limits import POSTS_PER_MINUTE, ROWS_PER_HOUR
from plugins.powerbi.simulator import PowerBISimulator
from sdk import TableBatch, TableSchema
from sdk.simulator import running

SCHEMA = {"id": "int", "metric_id": "str", "value": "float"}


def run(rows: int, per_post: int, scale: float) -> tuple[PowerBISimulator, PowerBISink, float]:
    sim = PowerBISimulator(time_scale=scale, keep_bodies=False)
    schema = TableSchema("kpi_fact", SCHEMA, ("id",), rows=rows)
    with running(sim) as origin:
        creds = sim.credentials()
        sink = PowerBISink(
            PowerBISink.Options(
                tenant=creds["tenant"],
                workspace_id=creds["workspace_id"],
                api_url=origin,
                identity_url=origin,
                time_scale=scale,
                rows_per_post=per_post,
            ),
            PowerBISink.Credentials(client_id=creds["client_id"], client_secret=creds["client_secret"]),
        )

        async def push() -> float:
            try:
                await sink.prepare([schema])
                data = ({"id": i, "metric_id": f"m{i % 7}", "value": i / 2} for i in range(rows))
                started = time.perf_counter()
                await sink.push(TableBatch("kpi_fact", SCHEMA, ("id",), data, total=rows), full=True)
                return time.perf_counter() - started
            finally:
                await sink.aclose()

        wall = asyncio.run(push())
    held = sim.dataset("kpihub").tables["kpi_fact"].rows
    if len(held) != rows or len({r["id"] for r in held}) != rows:
        raise SystemExit(f"rows lost or doubled: {len(held)} held for {rows} sent")
    return sim, sink, wall


def kept(times: list[float], limit: int, window: float) -> float:
    """``window`` over the mean gap between POST ``j`` and POST ``j - limit``."""
    gaps = [times[j] - times[j - limit] for j in range(limit, len(times))]
    return window / (sum(gaps) / len(gaps))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=600)
    parser.add_argument("--minute-scale", type=float, default=10.0)
    parser.add_argument("--hour-scale", type=float, default=100.0)
    args = parser.parse_args()

    sim, sink, wall = run(args.posts * 100, 100, args.minute_scale)
    times = sim.stats["post_rows"].times
    span = times[-1] - times[0]
    ratio = kept(times, POSTS_PER_MINUTE, 60.0)
    floor = 60.0 * (math.ceil(len(times) / POSTS_PER_MINUTE) - 1)
    print(f"per minute: {len(times)} POSTs of 100 rows, clock x{args.minute_scale:g}, {wall:.1f} s wall")
    print(f"  span {span:.1f} s (floor {floor:.0f} s)")
    throttled = sim.throttled_by.total()
    print(f"  achieved ÷ allowed {ratio:.3f}, floor ÷ time {floor / span:.3f}, 429s {throttled}")
    print(f"  {'PASS' if ratio >= 0.95 and not sim.throttled_by else 'FAIL'}")

    rows = 1_200_000
    sim, sink, wall = run(rows, 10_000, args.hour_scale)
    times = sim.stats["post_rows"].times
    span = times[-1] - times[0]
    floor = 3600.0 * (math.ceil(rows / ROWS_PER_HOUR) - 1)
    print(f"per hour: {rows:,} rows in {len(times)} POSTs, clock x{args.hour_scale:g}, {wall:.1f} s wall")
    ratio = kept(times, ROWS_PER_HOUR // 10_000, 3600.0)
    print(f"  span {span:.0f} s (floor {floor:.0f} s), waited {sink.pacer.waited:.0f} s for the windows")
    throttled = sim.throttled_by.total()
    print(f"  achieved ÷ allowed {ratio:.3f}, floor ÷ time {floor / span:.3f}, 429s {throttled}")
    ok = ratio >= 0.95 and not sim.throttled_by
    print(f"  {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
