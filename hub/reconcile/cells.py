"""Reading one cell of a seller's report: a day or month, an amount, a name.

Reports are typed by people, in Excel or exported from an ERP, so each reader accepts the usual
spellings (2026-03-05, 2026/3/5, 2026年3月5日, 1,234.56, ¥1,234.56) and refuses anything else
with a reason that says what was expected. A reader raises ``ValueError`` with that reason; the
caller adds where the cell is.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["is_blank", "parse_amount", "parse_period", "text"]

_DATE = re.compile(
    r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})"
    r"(?:\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?|\s*月)?"
    r"(?:[ T]00:00(?::00)?)?"
)
_COMPACT = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})?")
_FULLWIDTH_COMMA = "\uff0c"
_AMOUNT = re.compile(r"[-+]?(?:\d{1,3}(?:[,\uff0c]\d{3})+|\d+)(?:\.\d+)?")
_SYMBOLS = "¥￥$€£"


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: Any) -> str:
    """A name or id as the report shows it: a number typed into the cell (a Shopee shop id,
    an order number) reads without the ``.0`` Excel would add."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_period(value: Any, grain: str) -> dt.date:
    """The first day of the day or month the cell names."""
    if isinstance(value, dt.datetime):
        if value.time() != dt.time():
            raise ValueError(f"{value} has a time of day; a report's date is a day")
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, int | float | Decimal):  # bool is an int too
        raise ValueError(f"{value} is a number, not a date; format the column as dates or write 2026-03-05")
    else:
        day = _parse_date_text(str(value).strip(), grain)
    return day.replace(day=1) if grain == "month" else day


def _parse_date_text(raw: str, grain: str) -> dt.date:
    found = _DATE.fullmatch(raw) or _COMPACT.fullmatch(raw)
    example = "2026-03-05 or 2026年3月5日" if grain == "day" else "2026-03 or 2026年3月"
    if found is None:
        raise ValueError(f"{raw[:40]!r} is not a date; write {example}")
    day_text = found.group("d")
    if day_text is None and grain == "day":
        raise ValueError(f"{raw[:40]!r} names a month; this report's grain is day: write {example}")
    try:
        return dt.date(int(found.group("y")), int(found.group("m")), int(day_text or 1))
    except ValueError:
        raise ValueError(f"{raw[:40]!r} is not a date of the calendar") from None


def parse_amount(value: Any) -> Decimal:
    """The exact decimal a cell holds: Excel's number as it displays it (1234.56, not the
    nearest binary fraction), or text with thousands separators or a currency sign."""
    if isinstance(value, bool):
        raise ValueError(f"{value} is not a number")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a number")
        # repr is the shortest text that reads back as the same float: what Excel shows.
        return Decimal(repr(value))
    if isinstance(value, dt.date | dt.datetime | dt.time):
        raise ValueError(f"{value} is a date, not a number")
    raw = str(value).strip().lstrip(_SYMBOLS).strip()
    if not _AMOUNT.fullmatch(raw):
        raise ValueError(f"{str(value).strip()[:40]!r} is not a number")
    try:
        return Decimal(raw.replace(",", "").replace(_FULLWIDTH_COMMA, ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"{raw[:40]!r} is not a number") from None
