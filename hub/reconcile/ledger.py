"""The orders and refunds behind kpihub's sales figures, read from the standard tables.

The explanation rules need each order and refund with the day kpihub counts it on, the day a
report counting another way would, and its amount converted at either day's rate. This is an
independent reading of docs/kpi.md's definitions, done in Python over the few shops and days a
report covers: GMV is Σ order amount (tax and shipping per the counting basis) of orders not
cancelled, by the local day of their creation; net sales subtract completed refunds dated by
the refund or by its order; amounts are converted with ``fx_rates`` of the day (or the month's
average) into the tenant's base currency, and an amount with no rate counts as 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Connection

from ..kpi.basis import CountingBasis
from ..store.tables import of_its_order, standard_tables

__all__ = ["Entry", "Ledger", "Shop", "add_entries", "load_ledger", "local_day", "lookup_orders"]

_CHUNK = 500


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(at: dt.datetime, zone: str) -> dt.date:
    return at.astimezone(_zone(zone)).date()


@dataclass(frozen=True)
class Shop:
    key: str
    """``platform:shop_id``, the kpi_fact scope id of a shop."""
    platform: str
    shop_id: str
    site: str | None
    name: str | None
    timezone: str


@dataclass(frozen=True)
class Entry:
    """An order (``sign`` +1) or a completed refund (``sign`` -1) as a sales figure counts it."""

    sign: int
    shop: str
    ident: str
    """The order id, or the refund id."""
    order_id: str
    currency: str
    amount: Decimal
    """An order's amount under the counting basis (tax, shipping), or the refund's amount."""
    order_at: dt.datetime | None
    """When the order was created (None for a refund whose order kpihub does not have)."""
    refund_at: dt.datetime | None = None
    cancelled: bool = False

    @property
    def is_refund(self) -> bool:
        return self.sign < 0


@dataclass
class Ledger:
    """Entries with the rules for dating and converting them, under kpihub's basis or another."""

    base_currency: str
    basis: CountingBasis
    shops: dict[str, Shop]
    rates: dict[tuple[str, dt.date], Decimal]
    entries: list[Entry]
    report_zone: str | None
    """The zone the report's days start in, when the column map names one."""

    def zone(self, shop: str, *, other: bool = False) -> str:
        """The zone kpihub counts ``shop``'s days in, or (``other``) the one a report counting
        the other way would: the tenant's zone against the shop's, and the reverse."""
        own = self.shops[shop].timezone if shop in self.shops else "UTC"
        tenant = self.basis.tenant_timezone
        kpihub = own if self.basis.day_boundary == "shop" else tenant
        if not other:
            return kpihub
        if self.report_zone is not None:
            return self.report_zone
        return tenant if self.basis.day_boundary == "shop" else own

    def instant(self, entry: Entry, *, other_dating: bool = False) -> dt.datetime | None:
        """The moment an entry is dated by: an order's creation; a refund's own, or its order's."""
        if not entry.is_refund:
            return entry.order_at
        by_order = self.basis.refund_dated_by == "order"
        return entry.order_at if by_order != other_dating else entry.refund_at

    def day(self, entry: Entry, *, other_zone: bool = False, other_dating: bool = False) -> dt.date | None:
        at = self.instant(entry, other_dating=other_dating)
        return None if at is None else local_day(at, self.zone(entry.shop, other=other_zone))

    def rate(self, currency: str, day: dt.date) -> Decimal | None:
        """The rate into the base currency kpihub converts ``currency`` with on ``day``."""
        if currency == self.base_currency:
            return Decimal(1)
        if self.basis.fx_rate == "day":
            return self.rates.get((currency, day))
        month = [
            r for (c, d), r in self.rates.items() if c == currency and d.replace(day=1) == day.replace(day=1)
        ]
        return sum(month, Decimal(0)) / len(month) if month else None

    def base(self, entry: Entry, day: dt.date) -> Decimal:
        """The entry's amount in the base currency at ``day``'s rate; 0 without a rate."""
        rate = self.rate(entry.currency, day)
        return Decimal(0) if rate is None else entry.amount * rate


def _shops(conn: Connection, tenant_id: int) -> dict[str, Shop]:
    t = standard_tables["shops"]
    rows = conn.execute(
        sa.select(t.c.platform, t.c.shop_id, t.c.site, t.c.shop_name, t.c.timezone).where(
            t.c.tenant_id == tenant_id
        )
    )
    return {
        f"{r.platform}:{r.shop_id}": Shop(
            f"{r.platform}:{r.shop_id}", r.platform, r.shop_id, r.site, r.shop_name, r.timezone
        )
        for r in rows
    }


def _order_amount(row: sa.Row[tuple[object, ...]], basis: CountingBasis) -> Decimal:
    amount = Decimal(row.gross_amount)
    if not basis.tax_included:
        amount -= Decimal(row.tax or 0)
    if not basis.shipping_included:
        amount -= Decimal(row.shipping_fee or 0)
    return amount


def _order_entry(row: sa.Row[tuple[object, ...]], basis: CountingBasis) -> Entry:
    return Entry(
        sign=1,
        shop=f"{row.platform}:{row.shop_id}",
        ident=str(row.order_id),
        order_id=str(row.order_id),
        currency=str(row.currency),
        amount=_order_amount(row, basis),
        order_at=row.created_at,
        cancelled=row.status == "cancelled",
    )


def _in_shops(columns: Any, shops: set[str] | None) -> list[sa.ColumnElement[bool]]:
    if shops is None:
        return []
    pairs = [key.split(":", 1) for key in shops]
    # A rough filter the indexes can use; the exact pairs are kept in Python.
    return [columns.platform.in_({p for p, _ in pairs}), columns.shop_id.in_({s for _, s in pairs})]


def load_ledger(
    conn: Connection,
    tenant_id: int,
    base_currency: str,
    basis: CountingBasis,
    *,
    shops: set[str] | None,
    first: dt.date,
    last: dt.date,
    report_zone: str | None,
) -> Ledger:
    """Orders and completed refunds of ``shops`` (None: every shop) dated, in any zone, between
    ``first`` and ``last``, with the shop dimension and the exchange rates they need."""
    orders, refunds = standard_tables["orders"], standard_tables["refunds"]
    # Local days reach 14 hours either side of UTC; a day more on each side is room for that.
    start = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(), dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=2), dt.time(), dt.UTC)
    wanted = (lambda key: True) if shops is None else shops.__contains__
    entries = [
        _order_entry(row, basis)
        for row in conn.execute(
            sa.select(orders).where(
                orders.c.tenant_id == tenant_id,
                orders.c.created_at >= start,
                orders.c.created_at < end,
                *_in_shops(orders.c, shops),
            )
        )
        if wanted(f"{row.platform}:{row.shop_id}")
    ]
    joined = refunds.outerjoin(orders, of_its_order(orders, refunds))
    query = (
        sa.select(refunds, orders.c.created_at.label("order_at"))
        .select_from(joined)
        .where(
            refunds.c.tenant_id == tenant_id,
            refunds.c.status == "completed",
            sa.or_(
                sa.and_(refunds.c.created_at >= start, refunds.c.created_at < end),
                sa.and_(orders.c.created_at >= start, orders.c.created_at < end),
            ),
            *_in_shops(refunds.c, shops),
        )
    )
    for row in conn.execute(query):
        if wanted(f"{row.platform}:{row.shop_id}"):
            entries.append(
                Entry(
                    sign=-1,
                    shop=f"{row.platform}:{row.shop_id}",
                    ident=str(row.refund_id),
                    order_id=str(row.order_id),
                    currency=str(row.currency),
                    amount=Decimal(row.amount),
                    order_at=row.order_at,
                    refund_at=row.created_at,
                )
            )
    currencies = {e.currency for e in entries} - {base_currency}
    return Ledger(
        base_currency,
        basis,
        _shops(conn, tenant_id),
        _rates(conn, tenant_id, base_currency, currencies, start, end),
        entries,
        report_zone,
    )


def _rates(
    conn: Connection, tenant_id: int, base: str, currencies: set[str], start: dt.datetime, end: dt.datetime
) -> dict[tuple[str, dt.date], Decimal]:
    if not currencies:
        return {}
    fx = standard_tables["fx_rates"]
    # Whole months either side: a month-average rate needs every day of its month.
    first = start.date().replace(day=1)
    last = (end.date().replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    rows = conn.execute(
        sa.select(fx.c.currency, fx.c.date, fx.c.rate).where(
            fx.c.tenant_id == tenant_id,
            fx.c.base_currency == base,
            fx.c.currency.in_(sorted(currencies)),
            fx.c.date >= first,
            fx.c.date < last,
        )
    )
    return {(r.currency, r.date): Decimal(r.rate) for r in rows}


def lookup_orders(
    conn: Connection, tenant_id: int, basis: CountingBasis, keys: Iterable[tuple[str, str]]
) -> list[Entry]:
    """The orders with these (shop key, order id), wherever their dates fall."""
    orders = standard_tables["orders"]
    keys = sorted(set(keys))
    found = []
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        rows = conn.execute(
            sa.select(orders).where(
                orders.c.tenant_id == tenant_id, orders.c.order_id.in_({o for _, o in chunk})
            )
        )
        wanted = set(chunk)
        found += [_order_entry(r, basis) for r in rows if (f"{r.platform}:{r.shop_id}", r.order_id) in wanted]
    return found


def add_entries(conn: Connection, tenant_id: int, ledger: Ledger, entries: list[Entry]) -> None:
    """Add entries found outside the ledger's days, with the exchange rates of their days."""
    known = {(e.shop, e.ident, e.sign) for e in ledger.entries}
    fresh = [e for e in entries if (e.shop, e.ident, e.sign) not in known]
    if not fresh:
        return
    ledger.entries.extend(fresh)
    instants = [e.order_at for e in fresh if e.order_at is not None]
    currencies = {e.currency for e in fresh} - {ledger.base_currency}
    if instants and currencies:
        start = min(instants) - dt.timedelta(days=1)
        end = max(instants) + dt.timedelta(days=2)
        ledger.rates.update(_rates(conn, tenant_id, ledger.base_currency, currencies, start, end))
