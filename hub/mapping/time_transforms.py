"""Built-in transforms that read timestamps and dates.

Platforms send times as ISO 8601 with or without an offset, as local wall-clock text, or as
epoch seconds or milliseconds. Every standard timestamp is an aware UTC datetime, so a naive
value is read in the mapping's ``timezone`` (the shop's, usually) before it is converted.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator

from .numbers import to_decimal_value
from .transforms import Transform, TransformArgs

__all__ = ["TIME_TRANSFORMS", "DateArgs", "TimestampArgs"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROS_PER_UNIT = {"epoch_seconds": 1_000_000, "epoch_millis": 1_000}


_PROBE = dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.UTC)


def _check_format(value: str | None, *, epoch: bool) -> str | None:
    if value is None or (epoch and value in _MICROS_PER_UNIT):
        return value
    if "%" in value:
        # A directive strptime does not know fails on every record; catch it when the mapping
        # is saved: a format must read back what it writes.
        try:
            dt.datetime.strptime(_PROBE.strftime(value), value)
        except ValueError as exc:
            raise ValueError(f"format {value!r} cannot be read with strptime: {exc}") from None
        return value
    choices = "a strptime format such as '%Y-%m-%d %H:%M:%S'"
    if epoch:
        choices += ", 'epoch_seconds' or 'epoch_millis'"
    raise ValueError(f"unknown format {value!r}; use {choices}, or leave it out for ISO 8601")


class TimestampArgs(TransformArgs):
    """``format``: strptime format, ``epoch_seconds`` or ``epoch_millis``; ISO 8601 if omitted.
    ``timezone``: IANA zone a value without an offset is read in."""

    format: str | None = None
    timezone: str = "UTC"

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        return _check_format(value, epoch=True)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}, e.g. 'Asia/Shanghai' or 'UTC'") from None
        return value


class DateArgs(TransformArgs):
    """``format``: strptime format; ISO 8601 (``YYYY-MM-DD``) if omitted."""

    format: str | None = None

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        return _check_format(value, epoch=False)


def _from_epoch(value: Any, unit: str) -> dt.datetime:
    if type(value) is int:  # the usual case, exact without going through Decimal
        return _EPOCH + dt.timedelta(microseconds=value * _MICROS_PER_UNIT[unit])
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"cannot read {value!r} as {unit}: expected a number")
    try:
        number = to_decimal_value(value)
    except ValueError:
        raise ValueError(f"cannot read {value!r} as {unit}: expected a number") from None
    # Decimal, not float, so 1700000000123 ms lands on the exact microsecond.
    micros = (number * _MICROS_PER_UNIT[unit]).to_integral_value(ROUND_HALF_EVEN)
    return _EPOCH + dt.timedelta(microseconds=int(micros))


def parse_timestamp(value: Any, args: TimestampArgs, context: Any) -> dt.datetime:
    """Read a timestamp and return it as an aware datetime in UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif args.format in _MICROS_PER_UNIT:
        return _from_epoch(value, args.format)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if args.format is None:
                parsed = dt.datetime.fromisoformat(text)
            else:
                parsed = dt.datetime.strptime(text, args.format)
        except ValueError:
            expected = "ISO 8601" if args.format is None else f"format {args.format!r}"
            raise ValueError(f"cannot parse {value!r} as a timestamp ({expected})") from None
    else:
        raise ValueError(
            f"cannot parse {type(value).__name__} {value!r} as a timestamp; "
            "for numbers use format epoch_seconds or epoch_millis"
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(args.timezone))
    return parsed.astimezone(dt.UTC)


def parse_date(value: Any, args: DateArgs, context: Any) -> dt.date:
    """Read a calendar date; a datetime (already in UTC after parse_timestamp) keeps its date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"cannot parse {type(value).__name__} {value!r} as a date")
    text = value.strip()
    try:
        if args.format is None:
            return dt.date.fromisoformat(text)
        return dt.datetime.strptime(text, args.format).date()
    except ValueError:
        expected = "ISO 8601 YYYY-MM-DD" if args.format is None else f"format {args.format!r}"
        raise ValueError(f"cannot parse {value!r} as a date ({expected})") from None


TIME_TRANSFORMS: tuple[Transform[Any], ...] = (
    Transform(
        "parse_timestamp",
        parse_timestamp,
        TimestampArgs,
        "datetime",
        description="Text or epoch number to an aware UTC datetime.",
    ),
    Transform("parse_date", parse_date, DateArgs, "date", description="Text to a calendar date."),
)
