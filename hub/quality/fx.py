"""``missing_fx``: amounts in a currency with no exchange rate into the base currency.

Every amount a KPI sums is converted with the rate of its day (or, with the ``fx_rate:
month_average`` basis option, the average rate of its month); where there is none, the amount
cannot be converted and the KPI leaves it out. The amounts are the ones the engine converts:
orders, their shipping costs and order lines of orders not cancelled, their lines' costs (COGS,
in the cost's currency), completed refunds, ad rows, and stock snapshots valued at their unit cost or, without
one, at their SKU's cost. Each source is aggregated by (currency, day) in SQL first, so the
rate look-up runs once per currency and day, not once per row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.sql import Select

from ..kpi.basis import CountingBasis
from ..store.tables import of_its_order, standard_tables
from .days import base_currency, local_day_of, shop_zones
from .finding import Finding, as_date, plural

__all__ = ["SOURCES", "missing_fx"]

SOURCES = {
    "orders": ("order", "orders"),
    "shipping_cost": ("shipping cost", "shipping costs"),
    "order_items": ("order line", "order lines"),
    "sku_costs": ("line cost (COGS)", "line costs (COGS)"),
    "refunds": ("refund", "refunds"),
    "ad_performance": ("ad row", "ad rows"),
    "inventory_snapshots": ("stock row", "stock rows"),
}
"""Where amounts come from, in the order a finding lists them."""
SHOWN = 62
"""Missing days (or months) a finding lists in its details; the count covers them all."""


def _label(source: str) -> Any:
    return sa.literal_column(f"'{source}'", sa.String(32)).label("source")


def _t(table: str, alias: str) -> Any:
    return standard_tables[table].alias(alias)


def _order_join(table: Any, order: Any) -> Any:
    return table.join(order, of_its_order(order, table))


def _costed(source: str, tid: int, base: str, sold: Any) -> Select[Any]:
    """(currency, day, rows) of ``sold`` (sku, day, n) valued at the SKU cost valid that day."""
    c = _t("sku_costs", "c")
    currency = (
        sa.select(c.c.currency)
        .where(c.c.tenant_id == tid, c.c.sku == sold.c.sku, c.c.valid_from <= sold.c.day)
        .order_by(c.c.valid_from.desc())
        .limit(1)
        .correlate_except(c)
        .scalar_subquery()
    )
    costed = sa.select(sold.c.day, sold.c.n, currency.label("currency")).subquery(f"{source}_costed")
    # No cost at all (a NULL currency) is the missing_cost check's finding, not this one's.
    return (
        sa.select(_label(source), costed.c.currency, costed.c.day, sa.func.sum(costed.c.n).label("n"))
        .where(costed.c.currency != base)
        .group_by(costed.c.currency, costed.c.day)
    )


def _parts(tid: int, base: str, basis: CountingBasis, zones: frozenset[str]) -> list[Select[Any]]:
    """One (source, currency, day, n) aggregate per kind of amount, in foreign currencies only."""
    parts: list[Select[Any]] = []

    o = _t("orders", "o")
    from_, day = local_day_of(o, o, o.c.created_at, basis, zones)
    where = [o.c.tenant_id == tid, o.c.status != "cancelled"]
    parts.append(
        sa.select(
            _label("orders"), o.c.currency.label("currency"), day.label("day"), sa.func.count().label("n")
        )
        .select_from(from_)
        .where(*where, o.c.currency != base)
        .group_by(o.c.currency, day)
    )

    if "shipping_cost_currency" in o.c:
        cost_currency = o.c.shipping_cost_currency
        parts.append(
            sa.select(_label("shipping_cost"), cost_currency, day.label("day"), sa.func.count().label("n"))
            .select_from(from_)
            .where(*where, o.c.shipping_cost.is_not(None), cost_currency != base)
            .group_by(cost_currency, day)
        )

    li, lo = _t("order_items", "li"), _t("orders", "lo")
    from_, day = local_day_of(_order_join(li, lo), li, lo.c.created_at, basis, zones)
    live = [li.c.tenant_id == tid, lo.c.status != "cancelled"]
    parts.append(
        sa.select(_label("order_items"), li.c.currency, day.label("day"), sa.func.count().label("n"))
        .select_from(from_)
        .where(*live, li.c.currency != base)
        .group_by(li.c.currency, day)
    )
    sold = (
        sa.select(li.c.sku, day.label("day"), sa.func.count().label("n"))
        .select_from(from_)
        .where(*live)
        .group_by(li.c.sku, day)
        .subquery("sold")
    )
    parts.append(_costed("sku_costs", tid, base, sold))

    r = _t("refunds", "r")
    if basis.refund_dated_by == "order":
        ro = _t("orders", "ro")
        from_, day = local_day_of(_order_join(r, ro), r, ro.c.created_at, basis, zones)
    else:
        from_, day = local_day_of(r, r, r.c.created_at, basis, zones)
    parts.append(
        sa.select(_label("refunds"), r.c.currency, day.label("day"), sa.func.count().label("n"))
        .select_from(from_)
        .where(r.c.tenant_id == tid, r.c.status == "completed", r.c.currency != base)
        .group_by(r.c.currency, day)
    )

    a = _t("ad_performance", "a")
    parts.append(
        sa.select(_label("ad_performance"), a.c.currency, a.c.date.label("day"), sa.func.count().label("n"))
        .where(a.c.tenant_id == tid, a.c.currency != base)
        .group_by(a.c.currency, a.c.date)
    )

    # Every snapshot, as the engine values every one (nothing on hand times an unknown is unknown).
    s = _t("inventory_snapshots", "s")
    held = [s.c.tenant_id == tid]
    parts.append(
        sa.select(
            _label("inventory_snapshots"), s.c.currency, s.c.date.label("day"), sa.func.count().label("n")
        )
        .where(*held, s.c.unit_cost.is_not(None), s.c.currency != base)
        .group_by(s.c.currency, s.c.date)
    )
    stocked = (
        sa.select(s.c.sku, s.c.date.label("day"), sa.func.count().label("n"))
        .where(*held, s.c.unit_cost.is_(None))
        .group_by(s.c.sku, s.c.date)
        .subquery("stocked")
    )
    parts.append(_costed("inventory_snapshots", tid, base, stocked))
    return parts


def missing_fx(conn: Connection, tenant_id: int, basis: CountingBasis) -> list[Finding]:
    """One finding per currency: the days (or months) it has amounts but no rate."""
    base = base_currency(conn, tenant_id)
    amounts = sa.union_all(*_parts(tenant_id, base, basis, shop_zones(conn, tenant_id))).subquery("amounts")
    fx = _t("fx_rates", "fx")
    if basis.fx_rate == "day":
        same = fx.c.date == amounts.c.day
    else:
        same = sa.and_(
            sa.extract("year", fx.c.date) == sa.extract("year", amounts.c.day),
            sa.extract("month", fx.c.date) == sa.extract("month", amounts.c.day),
        )
    known = (
        sa.select(fx.c.rate)
        .where(
            fx.c.tenant_id == tenant_id, fx.c.currency == amounts.c.currency, fx.c.base_currency == base, same
        )
        .exists()
    )
    rows = conn.execute(
        sa.select(amounts.c.source, amounts.c.currency, amounts.c.day, amounts.c.n).where(~known)
    ).all()
    monthly = basis.fx_rate == "month_average"
    missing: dict[str, dict[Any, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for source, currency, day, n in rows:
        when = as_date(day)
        missing[currency][when.replace(day=1) if monthly else when][source] += int(n)
    return [_finding(currency, base, monthly, missing[currency]) for currency in sorted(missing)]


def _breakdown(counts: Counter[str]) -> str:
    return ", ".join(plural(counts[s], one, many) for s, (one, many) in SOURCES.items() if counts[s])


def _finding(currency: str, base: str, monthly: bool, periods: dict[Any, Counter[str]]) -> Finding:
    unit = "month" if monthly else "day"
    ordered = sorted(periods)
    total: Counter[str] = Counter()
    for counts in periods.values():
        total.update(counts)

    def shown(period: Any) -> str:
        return f"{period:%Y-%m}" if monthly else str(period)

    span = shown(ordered[0]) if len(ordered) == 1 else f"{shown(ordered[0])} to {shown(ordered[-1])}"
    return Finding(
        check="missing_fx",
        severity="error",
        count=len(ordered),
        summary=(
            f"no {currency}→{base} exchange rate for {plural(len(ordered), unit)} ({span}): "
            f"{plural(sum(total.values()), 'amount')} in {currency} cannot be converted and are left "
            f"out of the KPIs ({_breakdown(total)})"
        ),
        example=f"{currency} on {shown(ordered[0])}: {_breakdown(periods[ordered[0]])}",
        fix=(
            f"add {currency}→{base} rates for {'any day of ' if monthly else ''}these {unit}s: a files "
            "connection's fx_rates.csv (date, currency, base_currency, rate) or the ERP's currency "
            "rates; then `kpihub compute`"
        ),
        details={
            "currency": currency,
            "base_currency": base,
            "fx_rate": "month_average" if monthly else "day",
            "missing": [shown(p) for p in ordered[:SHOWN]],
            "amounts": {s: total[s] for s in SOURCES if total[s]},
        },
    )
