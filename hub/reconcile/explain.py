"""Finding the orders, refunds and rates that explain a difference, and proving they do.

Each rule is a way the report may have counted differently from kpihub, and says for every
order and refund where the report would count it and for how much:

- *order detail* (a fact, when the report lists its orders): an order kpihub counts that the
  report's list for that day lacks, one the report lists that kpihub lacks (or has cancelled),
  one the report lists on another day;
- *another zone*: the report's days start in another time zone (China time, say, where kpihub
  uses each shop's site zone), so orders and refunds near midnight fall on another day;
- *another refund dating*: the report dates refunds by their order's day where kpihub dates
  them by their own, or the reverse;
- *another rate*: the report converted the same orders at another exchange rate. This one can
  make any remainder vanish, so it is claimed only last, only when the report's order count for
  the same scope and period agrees with kpihub's (the same orders were counted), only for one
  foreign currency, only for a rate within 10 % of kpihub's, and only when the report's other
  amount there (GMV beside net sales) comes out at the same rate, to within its rounding.

An entry's *effect* is what it adds to the difference (kpihub - report). The smallest set of
rules whose effects, with the facts, add up to the difference within the tolerance is the
explanation; a set that does not is never shown, and the row stays unexplained with only the
facts the order detail gives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ..kpi.periods import bucket
from . import wording
from .detail import Detail, ReportOnly
from .ledger import Entry, Ledger
from .results import Explanation, RowResult
from .wording import Implied, Seen

__all__ = ["RATE_BAND", "RULE_METRICS", "Explainer"]

RULE_METRICS = ("gmv", "orders", "net_sales")
"""The metrics the rules know how to take apart into orders and refunds."""
RATE_BAND = Decimal("0.10")
"""How far (as a share of kpihub's rate) an implied rate may be and still be called a rate."""
_KPIHUB_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class _Case:
    """A figure to explain: a metric of some shops (None: every shop) in a period."""

    metric: str
    shops: set[str] | None
    period: dt.date
    difference: Decimal
    tolerance: Decimal
    precision: Decimal
    """How exactly the report gives its figure: half a unit of its last decimal place, plus
    the ten-thousandth kpihub rounds a conversion to."""


def _case(row: RowResult, shops: set[str] | None) -> _Case:
    figure = row.report if row.report is not None else Decimal(0)
    exponent = figure.as_tuple().exponent
    half = Decimal(5).scaleb((exponent if isinstance(exponent, int) else 0) - 1)
    return _Case(
        row.metric_id, shops, row.period, row.difference or Decimal(0), row.tolerance, half + _KPIHUB_PLACES
    )


def _sum(found: list[Explanation]) -> Decimal:
    return sum((e.effect for e in found), Decimal(0))


class Explainer:
    """The rules, over one ledger, for the rows of one report."""

    def __init__(
        self, ledger: Ledger, grain: str, details: dict[str, Detail], report_only: Iterable[ReportOnly]
    ) -> None:
        self.ledger, self.grain, self.details = ledger, grain, details
        self.report_only = list(report_only)
        self.by_shop: dict[str, list[Entry]] = {}
        for entry in ledger.entries:
            self.by_shop.setdefault(entry.shop, []).append(entry)

    # -- the two sides ----------------------------------------------------------------------------

    def _value(self, metric: str, entry: Entry, day: dt.date | None) -> Decimal:
        if day is None:
            return Decimal(0)
        return Decimal(1) if metric == "orders" else self.ledger.base(entry, day)

    def _seen(self, metric: str, entry: Entry, day: dt.date | None, zone: str) -> Seen:
        period = None if day is None else bucket(self.grain, day)
        return Seen(period, day, self._value(metric, entry, day), zone)

    def kpihub(self, metric: str, entry: Entry) -> Seen:
        """Where and for how much kpihub counts ``entry``."""
        return self._seen(metric, entry, self.ledger.day(entry), self.ledger.zone(entry.shop))

    def report(self, metric: str, entry: Entry, *, zone: bool, dating: bool) -> Seen:
        """Where and for how much the report counts ``entry``: as its order list says, or else
        as kpihub would in the other zone (``zone``) or with refunds dated the other way."""
        detail = self.details.get(entry.shop)
        if detail is not None and not entry.is_refund:
            own = self.kpihub(metric, entry)
            if entry.order_id in detail.listed:
                period = detail.listed[entry.order_id]
                day = period if self.grain == "day" else own.day
                return Seen(period, day, self._value(metric, entry, day), None, from_detail=True)
            if own.period in detail.covered:
                return Seen(None, None, Decimal(0), None, from_detail=True)
        day = self.ledger.day(entry, other_zone=zone, other_dating=dating)
        return self._seen(metric, entry, day, self.ledger.zone(entry.shop, other=zone))

    def entries(self, metric: str, shops: set[str] | None) -> list[Entry]:
        chosen = [e for shop, found in self.by_shop.items() if shops is None or shop in shops for e in found]
        return [e for e in chosen if not e.cancelled and (metric == "net_sales" or not e.is_refund)]

    # -- a row ------------------------------------------------------------------------------------

    def explain(
        self,
        row: RowResult,
        shops: set[str] | None,
        *,
        orders_agree: bool,
        siblings: Iterable[RowResult] = (),
    ) -> None:
        """Set ``row``'s explanations and, for a row the report has, its status: ``explained``
        or ``unexplained``. A row the report lacks keeps its status (``not_in_report``).

        ``orders_agree`` says whether the report's order count for the same scope and period
        agrees with kpihub's; ``siblings`` are the report's other amounts there (GMV beside net
        sales), which a rate must explain too.
        """
        difference = row.difference
        if row.metric_id not in RULE_METRICS or difference is None:
            row.status = "unexplained"
            row.note = row.note or f"kpihub has no rules that take {row.metric_id} apart into orders"
            return
        case = _case(row, shops)
        sides = self._sides(case)
        total = sum((e.sign * s.value for e, s in sides if s.period == case.period), Decimal(0))
        if abs(total - (row.kpihub or Decimal(0))) > row.tolerance:
            row.status = "unexplained" if row.report is not None else row.status
            row.note = (
                f"kpihub's orders and refunds add up to {wording.money(total)} here, not to its KPI value; "
                "the KPIs are older than the data: run kpihub compute, then reconcile again"
            )
            return
        if row.report is None:  # a day the report does not cover: all of kpihub's figure
            found = [
                wording.missing(self.ledger, e, s, uncovered=True)
                for e, s in sides
                if s.period == case.period
            ]
            row.explanations = [x for x in found if x.effect]
            return
        entries = [e for e, _ in sides]
        zones = any(self.ledger.zone(e.shop) != self.ledger.zone(e.shop, other=True) for e in entries)
        dating = case.metric == "net_sales" and any(e.is_refund for e in entries)
        combos = [
            (z, d) for z in (False, True) for d in (False, True) if (zones or not z) and (dating or not d)
        ]
        for zone, dated in combos:
            found = self._attempt(case, zone=zone, dating=dated)
            if abs(difference - _sum(found)) <= row.tolerance:
                row.explanations, row.status = found, "explained"
                return
        for zone, dated in combos:
            rate = self._rate(case, orders_agree, list(siblings), zone=zone, dating=dated)
            if rate is not None:
                row.explanations, row.status = rate, "explained"
                return
        row.explanations = self._attempt(case, zone=False, dating=False)
        row.status = "unexplained"

    def _sides(self, case: _Case) -> list[tuple[Entry, Seen]]:
        return [(e, self.kpihub(case.metric, e)) for e in self.entries(case.metric, case.shops)]

    def _attempt(self, case: _Case, *, zone: bool, dating: bool) -> list[Explanation]:
        """The facts of the order detail and the effects of counting the other way (in another
        zone, with refunds dated the other way) on ``case``'s figure."""
        only = self.report_only
        found = [
            wording.report_only(self.ledger, case.metric, r.shop, r.order_id, r.period, r.amount, r.why)
            for r in only
            if (case.shops is None or r.shop in case.shops) and r.period == case.period
        ]
        for entry, own in self._sides(case):
            other = self.report(case.metric, entry, zone=zone, dating=dating)
            effect = entry.sign * (
                (own.value if own.period == case.period else Decimal(0))
                - (other.value if other.period == case.period else Decimal(0))
            )
            if effect:
                found.append(wording.describe(self.ledger, entry, own, other, effect, dating=dating))
        return found

    def _implied(self, case: _Case, *, zone: bool, dating: bool) -> Implied | None:
        """The one rate at which the report's figure is the same orders converted, if any."""
        found = self._attempt(case, zone=zone, dating=dating)
        counted = [
            (e, self.report(case.metric, e, zone=zone, dating=dating))
            for e in self.entries(case.metric, case.shops)
        ]
        counted = [(e, s) for e, s in counted if s.period == case.period and s.day is not None]
        foreign = {e.currency for e, _ in counted} - {self.ledger.base_currency}
        if len(foreign) != 1:
            return None
        currency = foreign.pop()
        mine = [(e, s.day) for e, s in counted if e.currency == currency and s.day is not None]
        amount = sum((e.sign * e.amount for e, _ in mine), Decimal(0))
        converted = sum(
            (e.sign * e.amount * (self.ledger.rate(currency, day) or 0) for e, day in mine), Decimal(0)
        )
        if not amount or converted / amount <= 0:
            return None
        rest = case.difference - _sum(found)
        days = sorted({day for _, day in mine})
        return Implied(
            currency, amount, converted / amount, converted / amount - rest / amount, rest, found, days
        )

    def _rate(
        self, case: _Case, orders_agree: bool, siblings: list[RowResult], *, zone: bool, dating: bool
    ) -> list[Explanation] | None:
        if case.metric == "orders" or not orders_agree:
            return None
        implied = self._implied(case, zone=zone, dating=dating)
        if implied is None or abs(implied.rate - implied.kpihub_rate) > implied.kpihub_rate * RATE_BAND:
            return None
        for sibling in siblings:
            # The report's other amount here must come out at the same rate, to within what its
            # figures' rounding leaves undetermined: a rate is known to precision ÷ amount.
            other_case = _case(sibling, case.shops)
            other = self._implied(other_case, zone=zone, dating=dating)
            if other is None or other.currency != implied.currency:
                return None
            slack = case.precision / abs(implied.amount) + other_case.precision / abs(other.amount)
            if abs(other.rate - implied.rate) > slack:
                return None
        return [*implied.found, wording.rate(self.ledger, implied)]
