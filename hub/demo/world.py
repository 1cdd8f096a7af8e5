"""The demo seller: twelve shops on three marketplaces, one ERP, three teams of ten people.

Everything is a pure function of the seed and the day the demo runs on: the world's 90 days
end the day before yesterday (UTC), so the newest day is complete in every site's time zone
and the running month and quarter have data, as they would for a seller trying kpihub today.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sdk.records import Assignment, FxRate, Review, Staff, StandardRecord, Team
from sdk.simulator import SellerWorld
from sdk.simulator.sites import ShopSpec, new_id

__all__ = ["FULL", "SMALL", "DemoSeller", "Size", "build_seller", "daily_rates", "write_files"]


@dataclass(frozen=True)
class Size:
    """How big the demo seller is: days of history, SKUs, mean daily orders of a shop."""

    days: int
    skus: int
    orders_per_day: float


FULL = Size(days=90, skus=300, orders_per_day=2.0)
"""The demo as shown: 90 days, 300 SKUs, about 2,000 orders."""
SMALL = Size(days=30, skus=60, orders_per_day=1.0)
"""A quicker seller for CI (``--small``): every step the same, on a month of data."""

# (platform, site, shop number, days before the world's start it launched; negative: during it).
_SHOPS: tuple[tuple[str, str, int, int], ...] = (
    ("amazon", "US", 1, 900),
    ("amazon", "UK", 2, 640),
    ("amazon", "DE", 3, 420),
    ("amazon", "JP", 4, 40),
    ("shopee", "SG", 5, 700),
    ("shopee", "MY", 6, 510),
    ("shopee", "TH", 7, 300),
    ("shopee", "PH", 8, -20),
    ("tiktok", "US", 9, 380),
    ("tiktok", "UK", 10, 200),
    ("tiktok", "MY", 11, 120),
    ("tiktok", "TH", 12, -35),
)
_TEAMS = (
    ("T1", "Amazon team", "amazon"),
    ("T2", "Shopee team", "shopee"),
    ("T3", "TikTok Shop team", "tiktok"),
)
_PEOPLE = (
    ("P01", "Li Lei", "T1"),
    ("P02", "Han Meimei", "T1"),
    ("P03", "Wang Fang", "T1"),
    ("P04", "Zhang Wei", "T1"),
    ("P05", "Chen Jing", "T2"),
    ("P06", "Liu Yang", "T2"),
    ("P07", "Zhao Min", "T2"),
    ("P08", "Huang Lei", "T3"),
    ("P09", "Zhou Ting", "T3"),
    ("P10", "Wu Hao", "T3"),
)


@dataclass(frozen=True)
class DemoSeller:
    """The world the simulators serve, and the organisation the seller keeps in spreadsheets."""

    world: SellerWorld
    teams: list[Team]
    staff: list[Staff]
    assignments: list[Assignment]
    reviews: list[Review]

    @property
    def last_day(self) -> dt.date:
        return self.world.start + dt.timedelta(days=self.world.days - 1)


def _shops(start: dt.date, seed: int, orders_per_day: float) -> list[ShopSpec]:
    rng = random.Random(f"demo-shops:{seed}")
    shops = []
    for platform, site, number, launched_before in _SHOPS:
        shops.append(
            ShopSpec.on_site(
                platform,
                site,
                # Each platform's own style of shop id (Shopee's are numbers, for one).
                shop_id=new_id("shop", platform, rng),
                launched_on=start - dt.timedelta(days=launched_before),
                orders_per_day=round(rng.uniform(orders_per_day * 0.6, orders_per_day * 1.4), 1),
                name=f"{platform.title()} {site} store {number}",
            )
        )
    return shops


def _organisation(shops: list[ShopSpec], start: dt.date) -> tuple[list[Team], list[Staff], list[Assignment]]:
    teams = [Team(team_id=team_id, name=name) for team_id, name, _ in _TEAMS]
    staff = [Staff(staff_id=pid, name=name, team_id=team, role="operations") for pid, name, team in _PEOPLE]
    assignments = []
    for team_id, _, platform in _TEAMS:
        people = [pid for pid, _, team in _PEOPLE if team == team_id]
        mine = [shop for shop in shops if shop.platform == platform]
        for n, shop in enumerate(mine):
            assignments.append(
                Assignment(
                    staff_id=people[n % len(people)],
                    scope_type="shop",
                    scope_id=f"{shop.platform}:{shop.shop_id}",
                    valid_from=min(start, shop.launched_on),
                )
            )
    return teams, staff, assignments


def _reviews(world: SellerWorld, seed: int) -> list[Review]:
    """About one delivered order in six gets a review a few days after delivery, and one shop
    has a bad spell at the end (``_bad_spell``)."""
    rng = random.Random(f"demo-reviews:{seed}")
    reviews: list[Review] = []
    for order in world.orders():
        if order.delivered_at is None or rng.random() >= 1 / 6:
            continue
        created = order.delivered_at + dt.timedelta(hours=rng.randrange(6, 96))
        if created >= world.as_of:
            continue
        rating = rng.choices((5, 4, 3, 2, 1), weights=(55, 20, 10, 7, 8))[0]
        reviews.append(
            Review(
                platform=order.platform,
                shop_id=order.shop_id,
                review_id=f"R{order.order_id}",
                order_id=order.order_id,
                rating=rating,
                created_at=created,
            )
        )
    return reviews + _bad_spell(world, reviews)


BAD_SPELL_SHOP = ("amazon", "JP")
"""The shop whose latest month the demo's alert rule catches: the easternmost site (UTC+9, no
daylight saving), so its local month at any instant is the latest of every shop's."""


def _bad_spell(world: SellerWorld, reviews: list[Review]) -> list[Review]:
    """One-star reviews that put the bad-spell shop's latest month above 50 % negative.

    The demo's alert rule (negative reviews over 20 % of a shop's month, for the latest month
    any shop has) must fire on whatever day the demo runs. Random reviews do that only on some
    days, so the demo plants its breach: as many one-star reviews as the shop has reviews in
    that month, plus one, all at the moment of the world's newest review. That moment's local
    month in the easternmost time zone is the newest month any shop has reviews in.
    """
    platform, site = BAD_SPELL_SHOP
    shop = next(s for s in world.shops if s.platform == platform and s.site == site)
    zone = ZoneInfo(shop.timezone)
    moment = max((r.created_at for r in reviews), default=world.as_of - dt.timedelta(hours=1))
    month = moment.astimezone(zone).date().replace(day=1)
    in_month = sum(
        1
        for r in reviews
        if r.shop_id == shop.shop_id and r.created_at.astimezone(zone).date().replace(day=1) == month
    )
    return [
        Review(
            platform=shop.platform,
            shop_id=shop.shop_id,
            review_id=f"R-spell-{n}",
            rating=1,
            created_at=moment,
        )
        for n in range(in_month + 1)
    ]


def build_seller(seed: int, *, size: Size = FULL, today: dt.date | None = None) -> DemoSeller:
    """The demo seller for ``seed``; its days end the day before yesterday (UTC) of ``today``."""
    today = today or dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=size.days + 1)
    shops = _shops(start, seed, size.orders_per_day)
    world = SellerWorld.generate(
        seed, shops=shops, days=size.days, start=start, skus=size.skus, refund_rate=0.06, cancel_rate=0.03
    )
    teams, staff, assignments = _organisation(shops, start)
    return DemoSeller(world, teams, staff, assignments, _reviews(world, seed))


def _row(record: StandardRecord) -> dict[str, object]:
    return {k: ("" if v is None else str(v)) for k, v in record.model_dump(mode="json").items()}


RATES_AHEAD = 30
"""Days the rate sheet runs on past the world's last day."""


def daily_rates(seller: DemoSeller, rates: Mapping[str, str], base: str) -> list[FxRate]:
    """The finance team's daily rate sheet into ``base`` from the day before the world's first
    day on. The rates are the ERP's, so a day both report agrees whichever is read last."""
    first = seller.world.start - dt.timedelta(days=1)
    # Stock is dated the day it is read, which is after the world's last day (a second run
    # may come days later): the sheet runs on a few weeks past the last day.
    days = [first + dt.timedelta(days=n) for n in range(seller.world.days + RATES_AHEAD)]
    return [
        FxRate(date=day, currency=code, base_currency=base, rate=Decimal(rate))
        for day in days
        for code, rate in sorted(rates.items())
        if code != base
    ]


def write_files(seller: DemoSeller, directory: Path, rates: list[FxRate]) -> None:
    """The seller's own files: the shop register, teams, staff, assignments, daily exchange
    rates (CSV) and the marketplaces' review exports (JSONL), read by a ``files`` connection."""
    directory.mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[StandardRecord]] = {
        "fx_rates": list(rates),
        "shops": list(seller.world.shop_dims()),
        "teams": list(seller.teams),
        "staff": list(seller.staff),
        "assignments": list(seller.assignments),
    }
    for table, records in tables.items():
        rows = [_row(r) for r in records]
        with (directory / f"{table}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    with (directory / "reviews.jsonl").open("w", encoding="utf-8") as fh:
        for review in seller.reviews:
            fh.write(json.dumps(review.model_dump(mode="json")) + "\n")
