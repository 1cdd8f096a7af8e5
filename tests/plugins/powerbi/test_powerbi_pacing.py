"""1,200,000 rows into one push-dataset table: paced so the simulator never answers 429 for a
documented limit, and every row arrives exactly once.

The sink and the simulator share a virtual clock that moves only when the sink waits for a
window, so the hour-long row budget (1,000,000 rows an hour) binds however fast or slow the
machine converts and sends rows: the push must wait for it, and the simulator judges every
POST by the same clock.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from plugins.powerbi import PowerBISink
from plugins.powerbi.simulator import PowerBISimulator
from sdk import TableBatch, TableSchema
from sdk.simulator import running

ROWS = 1_200_000
SCHEMA = TableSchema("kpi_fact", {"id": "int", "metric_id": "str", "value": "float"}, ("id",), rows=ROWS)


class VirtualClock:
    """Simulated seconds that pass only when someone sleeps on them."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def rows():
    for i in range(ROWS):
        yield {"id": i, "metric_id": f"m{i % 7}", "value": i * 0.5}


def test_a_push_of_1_2_million_rows_is_paced_and_lands_exactly_once():
    clock = VirtualClock()
    sim = PowerBISimulator(keep_bodies=False, clock=clock)
    creds = sim.credentials()
    with running(sim) as origin:
        sink = PowerBISink(
            PowerBISink.Options(
                tenant=creds["tenant"],
                workspace_id=creds["workspace_id"],
                api_url=origin,
                identity_url=origin,
            ),
            PowerBISink.Credentials(client_id=creds["client_id"], client_secret=creds["client_secret"]),
            clock=clock,
            sleep=clock.sleep,
        )

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
    # Paced: the first 1,000,000 rows went at once, the rest only once the first POSTs' hour
    # was over; the sink waited for it instead of being refused.
    times = posts.times
    assert times[99] - times[0] < 1 and times[100] - times[0] >= 3600
    assert sink.pacer.waited >= 3600 - 1
