"""Paired-metric guardrails: an improvement bought by its pair's decline is flagged, not praised.

The seed's warning (新手常忽略指标之间的关联性): ACoS can be cut by bidding less, which
also loses impressions; a refund rate falls when fewer risky orders are sold; margin rises
when volume is given up. Each pair names a metric and its partner; comparing a period with
the one before, the metric is flagged when it improved while its partner worsened by at
least ``tolerance`` and by more than the metric improved ("ACoS fell 10 %, impressions fell
30 %"). A partner may be a metric or a metric's numerator or denominator in ``kpi_fact``
(impressions are the denominator of CTR).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, and_, select

from ..store.kpi_tables import kpi_fact

__all__ = ["DEFAULT_PAIRS", "Flag", "Pair", "check_pair", "load_flags"]


@dataclass(frozen=True)
class Pair:
    """``metric_id`` is watched; ``partner`` is ``metric_id`` or ``metric_id.numerator|denominator``."""

    metric_id: str
    partner: str
    label: str
    direction: str = "higher_is_better"
    partner_direction: str = "higher_is_better"


DEFAULT_PAIRS = (
    Pair("acos", "ctr.denominator", "impressions", direction="lower_is_better"),
    Pair("refund_rate", "net_sales", "sales", direction="lower_is_better"),
    Pair("gross_margin", "units", "units"),
)


@dataclass(frozen=True)
class Flag:
    """A metric that improved at the cost of its pair."""

    metric_id: str
    partner: str
    metric_change: float
    partner_change: float

    @property
    def message(self) -> str:
        return (
            f"{self.metric_id} improved ({self.metric_change:+.1%}) at the cost of {self.partner} "
            f"({self.partner_change:+.1%})"
        )


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return (now - before) / abs(before)


def check_pair(
    pair: Pair,
    direction: str,
    metric: tuple[float | None, float | None],
    partner: tuple[float | None, float | None],
    *,
    tolerance: float = 0.05,
) -> Flag | None:
    """Compare (now, before) of a metric and of its partner; a ``Flag`` if the trade-off shows."""
    metric_change, partner_change = _change(*metric), _change(*partner)
    if metric_change is None or partner_change is None:
        return None
    gain = -metric_change if direction == "lower_is_better" else metric_change
    loss = partner_change if pair.partner_direction == "lower_is_better" else -partner_change
    if gain > 0 and loss >= tolerance and loss > gain:
        return Flag(pair.metric_id, pair.label, metric_change, partner_change)
    return None


def _values(
    conn: Connection, tid: int, grain: str, starts: Iterable[dt.date], scope_type: str, metric_ids: set[str]
) -> dict[tuple[str, dt.date, str], tuple[float | None, float | None, float | None]]:
    rows = conn.execute(
        select(
            kpi_fact.c.metric_id,
            kpi_fact.c.period_start,
            kpi_fact.c.scope_id,
            kpi_fact.c.value,
            kpi_fact.c.numerator,
            kpi_fact.c.denominator,
        ).where(
            and_(
                kpi_fact.c.tenant_id == tid,
                kpi_fact.c.grain == grain,
                kpi_fact.c.period_start.in_(list(starts)),
                kpi_fact.c.scope_type == scope_type,
                kpi_fact.c.metric_id.in_(sorted(metric_ids)),
            )
        )
    )
    return {(r.metric_id, r.period_start, r.scope_id): (r.value, r.numerator, r.denominator) for r in rows}


def load_flags(
    conn: Connection,
    tid: int,
    *,
    grain: str,
    start: dt.date,
    before: dt.date,
    scope_type: str,
    directions: Mapping[str, str] | None = None,
    pairs: Iterable[Pair] = DEFAULT_PAIRS,
    tolerance: float = 0.05,
) -> dict[tuple[str, str], Flag]:
    """Flags by (scope id, metric id) for every scope of ``scope_type``, ``start`` against ``before``.

    ``directions`` (from ``dim_metric``) overrides a pair's own idea of which way is better.
    """
    pairs = list(pairs)
    wanted = {p.metric_id for p in pairs} | {p.partner.split(".")[0] for p in pairs}
    values = _values(conn, tid, grain, (start, before), scope_type, wanted)
    scopes = {scope for (_, _, scope) in values}
    flags = {}
    for scope in sorted(scopes):
        for pair in pairs:
            partner_metric, _, part = pair.partner.partition(".")
            index = {"": 0, "numerator": 1, "denominator": 2}[part]

            def read(metric: str, period: dt.date, i: int, scope: str = scope) -> float | None:
                found = values.get((metric, period, scope))
                return None if found is None else found[i]

            flag = check_pair(
                pair,
                (directions or {}).get(pair.metric_id, pair.direction),
                (read(pair.metric_id, start, 0), read(pair.metric_id, before, 0)),
                (read(partner_metric, start, index), read(partner_metric, before, index)),
                tolerance=tolerance,
            )
            if flag is not None:
                flags[(scope, pair.metric_id)] = flag
    return flags
