"""The demo works whatever day it runs: its world is built from the day, and what its alert rule
watches (a shop's month above 20 % negative reviews) must be there on every day.

The world is checked directly on many days (cheap); the whole demo runs in-process with the
clock moved by time-machine to a few fixed days: a month's first and last day, a year's end,
and days both before and after the day these tests were written, so no day the suite runs on
is special. The demo's hub reads time through Python, so time-machine moves all of it; the
processes the demo spawns (landing writers, pushes) keep the real clock, which they only use
to stamp when they wrote.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from hub.demo import SMALL, run_demo
from hub.demo.world import build_seller

# Days around every kind of boundary: first and last of a month, February, a quarter's and a
# year's end, a leap day.
DAYS = [
    dt.date(2026, 1, 1),
    dt.date(2026, 2, 28),
    dt.date(2026, 3, 1),
    dt.date(2026, 3, 31),
    dt.date(2026, 6, 30),
    dt.date(2026, 7, 1),
    dt.date(2026, 9, 2),
    dt.date(2026, 10, 31),
    dt.date(2026, 11, 7),
    dt.date(2026, 12, 1),
    dt.date(2026, 12, 7),
    dt.date(2026, 12, 31),
    dt.date(2027, 1, 1),
    dt.date(2027, 1, 2),
    dt.date(2027, 1, 31),
    dt.date(2027, 3, 1),
    dt.date(2028, 2, 29),
    dt.date(2028, 3, 1),
]


def _negative_share_by_shop_month(seller) -> tuple[dict[tuple[str, dt.date], float], dt.date]:
    """Share of 1-2 star reviews per (shop, local month), and the latest month any shop has."""
    zones = {shop.shop_id: ZoneInfo(shop.timezone) for shop in seller.world.shops}
    counts: dict[tuple[str, dt.date], list[int]] = defaultdict(lambda: [0, 0])
    for review in seller.reviews:
        month = review.created_at.astimezone(zones[review.shop_id]).date().replace(day=1)
        counts[(review.shop_id, month)][0] += review.rating <= 2
        counts[(review.shop_id, month)][1] += 1
    shares = {key: bad / total for key, (bad, total) in counts.items()}
    return shares, max(month for _, month in shares)


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_a_shop_breaches_the_alert_rule_in_the_latest_month(today):
    seller = build_seller(7, size=SMALL, today=today)
    shares, latest = _negative_share_by_shop_month(seller)
    breaching = [shop for (shop, month), share in shares.items() if month == latest and share > 0.2]
    assert breaching, f"no shop above 20 % negative reviews in {latest} when the demo runs on {today}"
    # Reviews stay inside the world's time: none after the moment the world is observed.
    assert all(r.created_at < seller.world.as_of for r in seller.reviews)


@pytest.mark.parametrize(
    "today",
    [dt.date(2026, 10, 31), dt.date(2027, 1, 1), dt.date(2027, 3, 1)],
    ids=str,
)
def test_the_demo_raises_and_delivers_its_alert_on_any_day(tmp_path, today):
    workdir = tmp_path / "work"
    with time_machine.travel(dt.datetime.combine(today, dt.time(10), dt.UTC), tick=True):
        result = run_demo(workdir, 7, size=SMALL)
    assert result.alerts, f"no alert raised when the demo runs on {today}"
    received = [
        json.loads(line) for line in (workdir / "webhook-received.jsonl").read_text().splitlines() if line
    ]
    messages = " ".join(entry["payload"]["message"] for entry in received)
    engine = sa.create_engine(f"sqlite:///{workdir / 'default' / 'outputs' / 'client.db'}")
    with engine.connect() as conn:
        pushed = conn.execute(sa.text("SELECT alert_id, scope_id FROM kpi_alert")).all()
    engine.dispose()
    assert len(pushed) == len(result.alerts)
    for alert_id, scope_id in pushed:
        assert f"alert {alert_id}," in messages and scope_id in messages
