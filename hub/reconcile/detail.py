"""The report's order detail: which orders it says it counted, on which day.

A detail sheet is a fact, not a hypothesis: an order kpihub counts on a day the list covers but
that is not on it was left out of the report; an order on the list that kpihub does not have
(or has as cancelled) is in the report only; an order the list puts on another day than kpihub
was counted on that other day. The list covers a shop's day when it names any order of that
shop on that day; days it does not cover are left to the other rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Connection

from .ledger import Ledger, add_entries, lookup_orders
from .report import Problems, Report
from .scopes import Hidden, ScopeResolver

__all__ = ["Detail", "ReportOnly", "read_details", "report_only"]


@dataclass
class Detail:
    """The report's order list for one shop: the period it counts each order in."""

    listed: dict[str, dt.date] = field(default_factory=dict)
    amounts: dict[str, Decimal | None] = field(default_factory=dict)
    """The amount the report gives each listed order, in its currency (when it gives one)."""
    covered: set[dt.date] = field(default_factory=set)


@dataclass(frozen=True)
class ReportOnly:
    """An order the report lists and kpihub does not count (absent, or cancelled there)."""

    shop: str
    order_id: str
    period: dt.date
    amount: Decimal | None
    why: str


def read_details(report: Report, resolver: ScopeResolver) -> dict[str, Detail]:
    """The order list by shop key; a shop that matches nothing is an error naming its cell."""
    if report.orders is None:
        return {}
    problems = Problems(report.name, report.order_sheet)
    columns = report.order_columns or {}
    details: dict[str, Detail] = {}
    for order in report.orders:
        try:
            shop = resolver.resolve(order.shop_label)
        except Hidden:
            continue
        except ValueError as exc:
            problems.add(order.line, columns.get("shop"), "shop", str(exc))
            continue
        detail = details.setdefault(shop, Detail())
        detail.listed[order.order_id] = order.period
        detail.amounts[order.order_id] = order.amount
        detail.covered.add(order.period)
    problems.raise_any()
    return details


def report_only(
    conn: Connection, tenant_id: int, details: dict[str, Detail], ledger: Ledger
) -> list[ReportOnly]:
    """Orders the detail lists that kpihub does not count. Listed orders kpihub has on days
    outside the ledger's join it (the report counted them on another day)."""
    counted = {(e.shop, e.order_id) for e in ledger.entries if not e.is_refund and not e.cancelled}
    wanted = {(shop, order_id) for shop, d in details.items() for order_id in d.listed} - counted
    found = lookup_orders(conn, tenant_id, ledger.basis, wanted) if wanted else []
    add_entries(conn, tenant_id, ledger, [e for e in found if not e.cancelled])
    cancelled = {(e.shop, e.order_id) for e in found if e.cancelled}
    missing = wanted - {(e.shop, e.order_id) for e in found}
    only = []
    for shop, order_id in sorted(missing | cancelled):
        why = "kpihub has it as cancelled" if (shop, order_id) in cancelled else "kpihub has no such order"
        detail = details[shop]
        only.append(ReportOnly(shop, order_id, detail.listed[order_id], detail.amounts.get(order_id), why))
    return only
