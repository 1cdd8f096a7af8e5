"""Grains, scopes and the calendar arithmetic the engine does in Python (the database uses dim_date)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import Connection

from ..store.kpi_tables import dim_date

__all__ = ["GRAINS", "SCOPES", "bucket", "ensure_dim_date", "period_end", "successors"]

GRAINS = ("day", "week", "month", "quarter", "year")
SCOPES = ("tenant", "platform", "site", "shop", "category", "sku", "team", "person")


def bucket(grain: str, day: dt.date) -> dt.date:
    """The first day of the ``grain`` period ``day`` falls in (weeks start on Monday)."""
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if grain == "year":
        return dt.date(day.year, 1, 1)
    raise ValueError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")


def period_end(grain: str, start: dt.date) -> dt.date:
    """The last day of the period starting on ``start``."""
    if grain == "day":
        return start
    if grain == "week":
        return start + dt.timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    month = start.month - 1 + months
    return dt.date(start.year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def year_ago(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def successors(grain: str, periods: Iterable[dt.date]) -> set[dt.date]:
    """Periods whose growth compares with one of ``periods``: the next one and a year later."""
    found: set[dt.date] = set()
    for start in periods:
        found.add(bucket(grain, period_end(grain, start) + dt.timedelta(days=1)))
        # Any period whose start, a year back, lands inside ``start``'s period (29 Feb maps to 28).
        for offset in range(-7, (period_end(grain, start) - start).days + 8):
            day = start + dt.timedelta(days=offset)
            candidates = []
            if (day.month, day.day) != (2, 29):
                candidates.append(day.replace(year=day.year + 1))
            if (day.month, day.day) == (2, 28) and calendar.isleap(day.year + 1):
                candidates.append(dt.date(day.year + 1, 2, 29))
            for candidate in candidates:
                later = bucket(grain, candidate)
                if bucket(grain, year_ago(later)) == start:
                    found.add(later)
    return found


def ensure_dim_date(conn: Connection, first: dt.date, last: dt.date) -> None:
    """Make ``dim_date`` hold every day of the years from ``first``'s previous to ``last``'s next."""
    years = set(range(first.year - 1, last.year + 2))
    have = set(conn.execute(sa.select(dim_date.c.year).distinct()).scalars())
    rows = []
    for year in sorted(years - have):
        day = dt.date(year, 1, 1)
        while day.year == year:
            rows.append(
                {
                    "date": day,
                    "week": bucket("week", day),
                    "month": bucket("month", day),
                    "quarter": bucket("quarter", day),
                    "year": year,
                    "year_start": bucket("year", day),
                    "iso_week": day.isocalendar().week,
                    "month_of_year": day.month,
                    "quarter_of_year": (day.month - 1) // 3 + 1,
                    "prev_day": day - dt.timedelta(days=1),
                    "year_ago": year_ago(day),
                }
            )
            day += dt.timedelta(days=1)
    if rows:
        conn.execute(dim_date.insert(), rows)
