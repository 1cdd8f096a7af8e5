"""What a reconciliation found: per metric, scope and period, both values, their difference, and
for each difference the orders and refunds that explain it.

``difference`` is kpihub's value minus the report's. Each explanation's ``effect`` is the part
of that difference it accounts for, so a difference is *explained* when the effects add up to it
within the tolerance. Amounts are ``Decimal`` throughout; ``as_dict`` writes them as strings so
JSON keeps every digit.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

__all__ = ["KINDS", "STATUSES", "Explanation", "Reconciliation", "RowResult", "plain"]

STATUSES = ("matched", "explained", "unexplained", "not_in_report", "unknown_in_kpihub")
"""``matched``: within the tolerance. ``explained``: a difference its explanations account for.
``unexplained``: a difference they do not (fully) account for. ``not_in_report``: kpihub has a
value for a scope and period the report covers but has no row for. ``unknown_in_kpihub``: kpihub
publishes the value as unknown (an input was missing)."""

KINDS = ("missing_from_report", "missing_from_kpihub", "another_day", "another_rate", "another_period")


def plain(value: Any) -> Any:
    """``value`` as JSON holds it: decimals and dates as text."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Explanation:
    """One order, refund or rate behind a difference, and how much of it that accounts for."""

    kind: str
    effect: Decimal
    """The part of the difference (kpihub - report) this accounts for, in the metric's unit."""
    text: str
    shop: str | None = None
    order_id: str | None = None
    refund_id: str | None = None
    amount: Decimal | None = None
    """In ``currency``, the order's or refund's own currency (for a rate: the amount converted)."""
    currency: str | None = None
    kpihub_day: dt.date | None = None
    report_day: dt.date | None = None
    kpihub_zone: str | None = None
    report_zone: str | None = None
    kpihub_rate: Decimal | None = None
    report_rate: Decimal | None = None
    order_day: dt.date | None = None
    refund_day: dt.date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}


@dataclass
class RowResult:
    """One metric of one scope and period: both values and what explains their difference."""

    metric_id: str
    scope_type: str
    scope_id: str
    scope_label: str | None
    """How the report names the scope (a shop's name), when it has a column for it."""
    period: dt.date
    kpihub: Decimal | None
    report: Decimal | None
    tolerance: Decimal
    unit: str = "currency"
    """The metric's unit: ``currency`` (the base currency), ``count``, ``ratio``…"""
    status: str = "matched"
    explanations: list[Explanation] = field(default_factory=list)
    cell: str | None = None
    """Where the report's value is (``销售日报!C7``); none for a row the report lacks."""
    note: str | None = None

    @property
    def difference(self) -> Decimal | None:
        if self.kpihub is None:
            return None
        return self.kpihub - (self.report if self.report is not None else Decimal(0))

    @property
    def unexplained(self) -> Decimal | None:
        """What the explanations leave of the difference."""
        difference = self.difference
        if difference is None:
            return None
        return difference - sum((e.effect for e in self.explanations), Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric_id": self.metric_id,
            "scope_type": self.scope_type,
            "scope_id": self.scope_id,
            "scope_label": self.scope_label,
            "period": plain(self.period),
            "kpihub": plain(self.kpihub),
            "report": plain(self.report),
            "difference": plain(self.difference),
            "tolerance": plain(self.tolerance),
            "unit": self.unit,
            "status": self.status,
            "unexplained": plain(self.unexplained) if self.status != "matched" else None,
            "cell": self.cell,
            "note": self.note,
            "explanations": [e.as_dict() for e in self.explanations],
        }


@dataclass
class Reconciliation:
    """The whole comparison of one report with kpihub."""

    report: str
    tenant: str
    scope: str
    grain: str
    currency: str
    """The tenant's base currency, in which kpihub's amounts (and the report's) are."""
    basis_version: int | None
    report_zone: str | None
    """The time zone the report's days are taken to start in, for the other-day rule."""
    rows: list[RowResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(row.status for row in self.rows)
        return {status: found.get(status, 0) for status in STATUSES}

    @property
    def differences(self) -> list[RowResult]:
        return [row for row in self.rows if row.status != "matched"]

    @property
    def matched(self) -> bool:
        """Whether every value the report and kpihub both cover agrees."""
        return not self.differences

    def summary(self) -> str:
        counts = self.counts
        parts = [f"{counts[s]:,} {s.replace('_', ' ')}" for s in STATUSES if counts[s] or s == "matched"]
        return f"{len(self.rows):,} values compared: " + ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "report": self.report,
            "tenant": self.tenant,
            "scope": self.scope,
            "grain": self.grain,
            "currency": self.currency,
            "basis_version": self.basis_version,
            "report_zone": self.report_zone,
            "matched": self.matched,
            "counts": self.counts,
            "notes": list(self.notes),
            "rows": [row.as_dict() for row in self.rows],
        }
