"""What a data-quality check reports: ``Finding``, and the names of the checks.

A finding is one thing that makes KPI numbers incomplete or doubtful, counted, with an
example a person can look up and the command or setting that fixes it. Each finding is about
one shop, one connection, the tenant's shared inputs (exchange rates, SKU costs, stock held
for no shop), or KPI values that add up several shops; the admin API shows a key limited to
some shops only the findings about its shops and the tenant's shared inputs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection

from ..kpi.basis import CountingBasis
from ..redaction import scrub

__all__ = [
    "CHECK_NAMES",
    "Check",
    "CheckUnavailable",
    "Finding",
    "Scope",
    "Severity",
    "as_date",
    "clip",
    "day_span",
    "plural",
    "shop_key",
]

CHECK_NAMES = (
    "missing_fx",
    "missing_cost",
    "missing_fees",
    "missing_shipping_cost",
    "stock_without_cost",
    "missing_delivery_dates",
    "unknown_shop",
    "quarantined",
    "stale_data",
    "sync_failed",
    "low_coverage",
)
"""Every check, in the order the report lists them (docs/data-quality.md describes each)."""

Severity = Literal["error", "warning"]
"""``error``: a KPI value leaves something out; ``warning``: a value may be late or shifted."""
Scope = Literal["tenant", "shop", "connection", "aggregate"]


@dataclass(frozen=True)
class Finding:
    """One data-quality problem: what is wrong, how much of it, an example and the fix."""

    check: str
    severity: Severity
    count: int
    """How many of the check's unit there are: days, SKUs, orders, records, connections, values."""
    summary: str
    example: str | None
    fix: str
    details: dict[str, Any] = field(default_factory=dict)
    scope: Scope = "tenant"
    """What it is about: the tenant's shared inputs, a shop, a connection, or KPI values of
    several shops together (``aggregate``)."""
    scope_id: str | None = None
    """``platform:shop_id`` for a shop, the connection's name for a connection."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Check = Callable[[Connection, int, CountingBasis], list[Finding]]
"""A check: (connection, tenant id, counting basis) -> its findings, aggregated in SQL."""


class CheckUnavailable(Exception):
    """A check that cannot run on this store yet (e.g. a column the engine has not added)."""


def shop_key(platform: str | None, shop_id: str | None) -> str:
    return f"{platform}:{shop_id}"


def as_date(value: Any) -> dt.date:
    """A day as the database returned it (SQLite may give the text of a computed date)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def day_span(first: dt.date, last: dt.date) -> str:
    return str(first) if first == last else f"{first} to {last}"


def clip(value: object, limit: int) -> str:
    """Text (or a record as JSON) cut to ``limit`` characters, with credentials in URLs masked."""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    )
    text = scrub(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"
