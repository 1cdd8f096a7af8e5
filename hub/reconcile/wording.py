"""The explanations, as data and as one sentence each, for the orders, refunds and rates found.

Every sentence names the order or refund, its amount in its own currency and in the base
currency, and both days (or both rates), so a finance team can check it by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .ledger import Entry, Ledger, local_day
from .results import Explanation

__all__ = ["Implied", "Seen", "describe", "missing", "money", "rate", "report_only"]

_RATE_PLACES = Decimal("0.000001")
_KPIHUB_RATE_PLACES = Decimal("0.0000000001")


@dataclass(frozen=True)
class Seen:
    """Where one side (kpihub, or the report) counts an entry, and for how much."""

    period: dt.date | None
    day: dt.date | None
    value: Decimal
    zone: str | None
    from_detail: bool = False
    """The report's order list says so (not a rule's guess)."""


@dataclass(frozen=True)
class Implied:
    """The rate a report's figure implies for its one foreign currency."""

    currency: str
    amount: Decimal
    kpihub_rate: Decimal
    rate: Decimal
    rest: Decimal
    """What the rate accounts for: the difference less the facts and the other rules."""
    found: list[Explanation]
    days: list[dt.date]


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _what(entry: Entry) -> str:
    return f"refund {entry.ident} of order {entry.order_id}" if entry.is_refund else f"order {entry.ident}"


def _amount(ledger: Ledger, entry: Entry, day: dt.date | None) -> str:
    if entry.currency == ledger.base_currency:
        return f"{money(entry.amount)} {entry.currency}"
    base = ledger.base(entry, day) if day is not None else Decimal(0)
    return f"{money(entry.amount)} {entry.currency} = {money(base)} {ledger.base_currency}"


def missing(ledger: Ledger, entry: Entry, own: Seen, *, uncovered: bool) -> Explanation:
    """An order or refund kpihub counts that the report does not."""
    why = (
        "on a day the report has no row for"
        if uncovered
        else "but the report's order list for that day lacks it"
    )
    return Explanation(
        "missing_from_report",
        entry.sign * own.value,
        f"kpihub counts {_what(entry)} ({_amount(ledger, entry, own.day)}) on {own.day} {why}",
        shop=entry.shop,
        order_id=entry.order_id,
        refund_id=entry.ident if entry.is_refund else None,
        amount=entry.amount,
        currency=entry.currency,
        kpihub_day=own.day,
        kpihub_zone=own.zone,
    )


def report_only(
    ledger: Ledger, metric: str, shop: str, order_id: str, period: dt.date, amount: Decimal | None, why: str
) -> Explanation:
    """An order the report lists that kpihub does not count."""
    unit = Decimal(1) if metric == "orders" else amount
    shown = "" if amount is None else f" ({money(amount)} {ledger.base_currency})"
    return Explanation(
        "missing_from_kpihub",
        -(unit or Decimal(0)),
        f"the report lists order {order_id}{shown} on {period}, but {why}"
        + ("" if unit is not None else "; the report gives no amount for it"),
        shop=shop,
        order_id=order_id,
        amount=amount,
        currency=ledger.base_currency if amount is not None else None,
        report_day=period,
    )


def describe(
    ledger: Ledger, entry: Entry, own: Seen, other: Seen, effect: Decimal, *, dating: bool
) -> Explanation:
    """An order or refund the two sides count on different days (or not at all, per the list)."""
    if other.period is None and other.from_detail:
        return missing(ledger, entry, own, uncovered=False)
    what, amount = _what(entry), _amount(ledger, entry, own.day)
    kind = "another_day"
    if entry.is_refund and dating:
        kind = "another_period"
        ours, theirs = (
            ("refund", "order") if ledger.basis.refund_dated_by == "refund" else ("order", "refund")
        )
        text = (
            f"{what} ({amount}): kpihub dates it by its {ours}, {own.day}; "
            f"the report by its {theirs}, {other.day}"
        )
    elif other.from_detail:
        text = f"{what} ({amount}): kpihub counts it on {own.day}, the report's order list on {other.day}"
    else:
        text = (
            f"{what} ({amount}) falls on {own.day} in {own.zone}, where kpihub counts it, "
            f"and on {other.day} in {other.zone}, where the report does"
        )
    zone = own.zone or "UTC"
    return Explanation(
        kind,
        effect,
        text,
        shop=entry.shop,
        order_id=entry.order_id,
        refund_id=entry.ident if entry.is_refund else None,
        amount=entry.amount,
        currency=entry.currency,
        kpihub_day=own.day,
        report_day=other.day,
        kpihub_zone=own.zone,
        report_zone=other.zone,
        order_day=None if entry.order_at is None else local_day(entry.order_at, zone),
        refund_day=None if entry.refund_at is None else local_day(entry.refund_at, zone),
    )


def rate(ledger: Ledger, implied: Implied) -> Explanation:
    """The same orders converted at the rate the report's figure implies."""
    days = implied.days
    when = (
        f"the rate of {days[0]}" if len(days) == 1 else f"the rates of {days[0]} to {days[-1]} (on average)"
    )
    currency, base = implied.currency, ledger.base_currency
    report_rate = implied.rate.quantize(_RATE_PLACES)
    text = (
        f"the report converts {money(implied.amount)} {currency} at {report_rate} {base} per {currency} "
        f"(the rate its figure implies); kpihub at {implied.kpihub_rate.quantize(_RATE_PLACES)}, "
        f"{when} in fx_rates"
    )
    return Explanation(
        "another_rate",
        implied.rest,
        text,
        amount=implied.amount,
        currency=currency,
        kpihub_rate=implied.kpihub_rate.quantize(_KPIHUB_RATE_PLACES).normalize(),
        report_rate=report_rate.normalize(),
    )
