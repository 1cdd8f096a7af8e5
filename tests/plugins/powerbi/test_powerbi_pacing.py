"""1,200,000 rows into one push-dataset table: paced so the simulator never answers 429 for a
documented limit, and every row arrives exactly once.

The simulator's clock runs ``SCALE`` times faster than the wall clock, so the hour-long row
budget (1,000,000 rows an hour) binds within seconds: the push must wait for it.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from sdk import TableBatch, TableSchema

ROWS = 1_200_000
SCALE = 250.0
SCHEMA = TableSchema("kpi_fact", {"id": "int", "metric_id": "str", "value": "float"}, ("id",), rows=ROWS)


def rows():
    for i in range(ROWS):
        yield {"id": i, "metric_id": f"m{i % 7}", "value": i * 0.5}


def test_a_push_of_1_2_million_rows_is_paced_and_lands_exactly_once(powerbi):
    sim, make_sink = powerbi(time_scale=SCALE, keep_bodies=False)
    sink = make_sink()

    async def scenario():
        try:
            await sink.prepare([SCHEMA])
            batch = TableBatch("kpi_fact", SCHEMA.columns, SCHEMA.key, rows(), total=ROWS)
            return await sink.push(batch, full=True)
        finally:
            await sink.aclose()

    assert asyncio.run(scenario()) == ROWS
    assert sim.throttled_by == Counter() and sim.throttled == 0, "a documented limit answered 429"
    assert not sim.rejections
    held = sim.dataset("kpihub").tables["kpi_fact"].rows
    ids = Counter(row["id"] for row in held)
    assert len(held) == ROWS and len(ids) == ROWS and set(ids.values()) == {1}
    assert all(row["value"] == row["id"] * 0.5 for row in held[::997])
    posts = sim.stats["post_rows"]
    assert posts.requests == ROWS // 10_000 and posts.statuses == Counter({200: ROWS // 10_000})
    # Paced: the sink waited for the hourly row budget, and the last batch went in after the
    # first one's hour was over, not before.
    assert sink.pacer.waited > 0
    assert posts.times[-1] - posts.times[0] >= 3600
