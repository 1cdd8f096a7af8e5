"""Column types that behave the same on SQLite, PostgreSQL and MySQL/MariaDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["UtcDateTime"]


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database.

    SQLite and MySQL keep no offset, so storing naive UTC everywhere and re-attaching UTC on
    the way out gives every backend the same values and the same comparisons.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is dt.UTC:  # most values: no conversion needed
            return value.replace(tzinfo=None)
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a timezone first")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, one step from an aware datetime to the text SQLAlchemy stores.

        The generic processor converts to naive UTC and then formats with a ``%`` template,
        two Python calls per value; bulk writes of timestamps spent more on that than on
        SQLite. ``isoformat`` writes the same text; a probe checks that before it is used.
        """
        generic = super().bind_processor(dialect)
        if dialect.name != "sqlite" or generic is None:
            return generic

        last: tuple[dt.datetime | None, str] = (None, "")
        """The last value and its text: a batch's rows share their ingestion time. One tuple,
        read and replaced whole, so threads sharing the processor never mix two pairs."""

        def process(value: dt.datetime | None) -> str | None:
            nonlocal last
            if value is None:
                return None
            seen = last
            if seen[0] is value:
                return seen[1]
            if value.tzinfo is dt.UTC:  # most values: the text without its "+00:00", one call
                text = value.isoformat(" ", "microseconds")[:-6]
                last = (value, text)
                return text
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column; attach a timezone first")
            return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        probes = (
            dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            dt.datetime(987, 6, 5, 4, 3, 2, 1, dt.UTC),
            dt.datetime(2026, 1, 2, 3, 4, 5, 6, dt.timezone(dt.timedelta(hours=8))),
        )
        return process if all(process(p) == generic(p) for p in probes) else generic

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)
