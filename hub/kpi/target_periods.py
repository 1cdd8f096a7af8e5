"""Periods that targets and scorecards are set for: months, quarters and years.

A period is named by its first day (``period_start``, as in ``kpi_fact``) and written for
people as ``2026-03``, ``2026-Q1`` or ``2026``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal, get_args

from sdk import ConfigError

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "TARGET_GRAINS",
    "TargetGrain",
    "check_day",
    "check_grain",
    "days_elapsed",
    "days_in_period",
    "parse_period",
    "period_end",
    "period_label",
    "period_start",
    "previous_period",
    "supported",
]

TargetGrain = Literal["month", "quarter", "year"]
TARGET_GRAINS: tuple[str, ...] = get_args(TargetGrain)

FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2100, 12, 31)
"""The days a period or date given by a user may fall on, both included.

The platforms' data starts after 2000, so nothing earlier can have a value; and whatever is
computed from a day must stay a date: the end of its period (the first day after it), the
period before it, a year ago. Near ``date.min`` or ``date.max`` those overflow and would fail
every later run of the tenant, so a day outside is refused where it comes in.
"""

_LABEL = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")


def check_grain(grain: str) -> TargetGrain:
    """``grain`` if targets can be set for it, else a ``ConfigError`` naming the choices."""
    if grain not in TARGET_GRAINS:
        raise ConfigError(f"grain {grain!r} is not one of {', '.join(TARGET_GRAINS)}")
    return grain  # type: ignore[return-value]


def supported(day: dt.date) -> bool:
    """Whether ``day`` lies in the supported range (``FIRST_DAY`` … ``LAST_DAY``)."""
    return FIRST_DAY <= day <= LAST_DAY


def check_day(day: dt.date, what: str = "date") -> dt.date:
    """``day`` if it lies in the supported range, else a ``ConfigError`` naming the range."""
    if isinstance(day, dt.datetime):
        day = day.date()
    if not supported(day):
        raise ConfigError(
            f"{what} {day.isoformat()} is outside the supported range: use a date from "
            f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
        )
    return day


def period_start(grain: str, day: dt.date) -> dt.date:
    """The first day of the ``grain`` period that contains ``day``."""
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if grain == "year":
        return dt.date(day.year, 1, 1)
    raise ConfigError(f"grain {grain!r} is not one of {', '.join(TARGET_GRAINS)}")


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_end(grain: str, start: dt.date) -> dt.date:
    """The first day after the period that starts on ``start``."""
    months = {"month": 1, "quarter": 3, "year": 12}[check_grain(grain)]
    return _add_months(start, months)


def previous_period(grain: str, start: dt.date) -> dt.date:
    months = {"month": 1, "quarter": 3, "year": 12}[check_grain(grain)]
    return _add_months(start, -months)


def days_in_period(grain: str, start: dt.date) -> int:
    return (period_end(grain, start) - start).days


def days_elapsed(grain: str, start: dt.date, as_of: dt.date) -> int:
    """Days of the period covered by data up to and including ``as_of`` (0 … days in period)."""
    return max(0, min((as_of - start).days + 1, days_in_period(grain, start)))


def period_label(grain: str, start: dt.date) -> str:
    """``2026-03`` for a month, ``2026-Q1`` for a quarter, ``2026`` for a year."""
    if grain == "month":
        return f"{start.year}-{start.month:02d}"
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def parse_period(grain: str, text: str | dt.date, *, any_year: bool = False) -> dt.date:
    """The first day of a period written as a label (``2026-Q1``) or as its first day.

    A date that is not the first day of a ``grain`` period is refused rather than moved, so a
    typo cannot silently set a target for another period; so is a period outside the supported
    range, unless ``any_year`` (only to find a row stored before the range was enforced).
    """
    check_grain(grain)
    if isinstance(text, dt.datetime):
        text = text.date()
    if isinstance(text, dt.date):
        day = text
    else:
        value = text.strip()
        match = _LABEL.match(value)
        if match:
            year, month, quarter = match.groups()
            _check_year(value, any_year)
            if grain == "month" and month:
                return dt.date(int(year), int(month), 1)
            if grain == "quarter" and quarter:
                return dt.date(int(year), 3 * (int(quarter) - 1) + 1, 1)
            if grain == "year" and not month and not quarter:
                return dt.date(int(year), 1, 1)
            raise ConfigError(f"period {value!r} is not a {grain}; write {_example(grain)}")
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            _check_year(value, any_year)
            raise ConfigError(f"period {value!r} is not a {grain}; write {_example(grain)}") from None
    if not any_year:
        check_day(day, "period")
    start = period_start(grain, day)
    if start != day:
        raise ConfigError(
            f"{day.isoformat()} is not the first day of a {grain}; write {_example(grain)} "
            f"or {start.isoformat()}"
        )
    return start


def _check_year(value: str, any_year: bool) -> None:
    """Refuse a period whose year (its first four digits) is outside the supported range, or
    with ``any_year`` is no year a date can have."""
    first, last = (dt.MINYEAR, dt.MAXYEAR) if any_year else (FIRST_DAY.year, LAST_DAY.year)
    if value[:4].isdigit() and not first <= int(value[:4]) <= last:
        raise ConfigError(
            f"period {value!r} is outside the supported range: use a year from {first} to {last}"
        )


def _example(grain: str) -> str:
    return {"month": "e.g. 2026-03", "quarter": "e.g. 2026-Q1", "year": "e.g. 2026"}[grain]
