"""Who sits under whom for a period: company → teams → people → shops → categories.

Built from the standard dimensions: ``teams``, ``staff`` (a person's team), ``assignments``
(a person ↔ shop, valid from and to) and ``shops`` (launch date, hence the shop's phase). A shop's
categories are those it sold in a given period (``order_items`` ⋈ ``skus``). Decomposition
walks this tree top-down and the roll-up check walks it bottom-up.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Connection, and_, func, select

from ..store.tables import standard_tables
from .basis import current_basis

__all__ = ["LEVELS", "OrgTree", "category_scope", "load_org", "prior_category_values", "shop_phase"]

LEVELS = ("tenant", "team", "person", "shop", "category")
"""The decomposition levels, top-down."""


def category_scope(shop_key: str, category: str) -> str:
    """The scope id of a category within a shop: ``platform:shop_id/category``."""
    return f"{shop_key}/{category}"


def shop_phase(launched_on: dt.date | None, period_start: dt.date, new_shop_days: int) -> str:
    """``new`` for a shop launched fewer than ``new_shop_days`` days before the period starts.

    A shop whose launch date is unknown counts as mature: it has been selling long enough for
    nobody to have recorded when it started.
    """
    if launched_on is not None and (period_start - launched_on).days < new_shop_days:
        return "new"
    return "mature"


@dataclass
class OrgTree:
    """The organisation during one period, and what did not fit in it."""

    teams: list[str] = field(default_factory=list)
    people: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    shops: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    phases: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def children(self, scope_type: str, scope_id: str) -> tuple[str, list[str]] | None:
        """The level below ``scope_type`` and the ids under ``scope_id`` (None below shops)."""
        if scope_type == "tenant":
            return "team", list(self.teams)
        if scope_type == "team":
            return "person", list(self.people.get(scope_id, []))
        if scope_type == "person":
            return "shop", list(self.shops.get(scope_id, []))
        return None


def _overlap(start: dt.date, end: dt.date, valid_from: dt.date, valid_to: dt.date | None) -> int:
    """Days of [start, end) covered by an assignment valid from ``valid_from`` to ``valid_to``."""
    last = min(end - dt.timedelta(days=1), valid_to or end)
    return max(0, (last - max(start, valid_from)).days + 1)


def load_org(
    conn: Connection, tid: int, start: dt.date, end: dt.date, *, new_shop_days: int | None = None
) -> OrgTree:
    """The tree for the period [start, end). A shop belongs to whoever holds it longest in it.

    A shop is new for ``new_shop_days`` after its launch; by default, as many days as the
    tenant's counting basis says (the same threshold ``dim_shop.phase`` uses).
    """
    if new_shop_days is None:
        new_shop_days = current_basis(conn, tid).settings.new_shop_days
    teams, staff, assignments, shops = (
        standard_tables[name] for name in ("teams", "staff", "assignments", "shops")
    )
    tree = OrgTree()
    tree.teams = list(
        conn.execute(
            select(teams.c.team_id).where(teams.c.tenant_id == tid).order_by(teams.c.team_id)
        ).scalars()
    )
    known_teams = set(tree.teams)
    for person, team in conn.execute(
        select(staff.c.staff_id, staff.c.team_id).where(staff.c.tenant_id == tid).order_by(staff.c.staff_id)
    ):
        if team in known_teams:
            tree.people[team].append(person)
        else:
            tree.notes.append(f"person {person} belongs to no known team; left out of the decomposition")

    by_shop_id: dict[str, list[str]] = defaultdict(list)
    for platform, shop_id, launched_on in conn.execute(
        select(shops.c.platform, shops.c.shop_id, shops.c.launched_on).where(shops.c.tenant_id == tid)
    ):
        key = f"{platform}:{shop_id}"
        by_shop_id[shop_id].append(key)
        tree.phases[key] = shop_phase(launched_on, start, new_shop_days)

    owners: dict[str, tuple[int, dt.date, str]] = {}
    rows = conn.execute(
        select(
            assignments.c.staff_id, assignments.c.scope_id, assignments.c.valid_from, assignments.c.valid_to
        )
        .where(and_(assignments.c.tenant_id == tid, assignments.c.scope_type == "shop"))
        .order_by(assignments.c.staff_id, assignments.c.scope_id, assignments.c.valid_from)
    )
    for person, shop, valid_from, valid_to in rows:
        days = _overlap(start, end, valid_from, valid_to)
        if days == 0:
            continue
        keys = [shop] if ":" in shop else by_shop_id.get(shop, [])
        if len(keys) != 1:
            problem = (
                "is in no shop of the shops dimension" if not keys else "names shops on several platforms"
            )
            tree.notes.append(
                f"the assignment of {person} to shop {shop} {problem}; write it as platform:shop_id"
            )
            continue
        held = owners.get(keys[0])
        if held is None or (days, valid_from) > held[:2]:
            owners[keys[0]] = (days, valid_from, person)
    for shop_key in sorted(owners):
        tree.shops[owners[shop_key][2]].append(shop_key)
    return tree


def prior_category_values(
    conn: Connection, tid: int, start: dt.date, end: dt.date, *, measure: str = "amount"
) -> dict[str, dict[str, Decimal]]:
    """Item sales (``amount`` or ``quantity``) per shop and category in [start, end), cancelled orders out."""
    items, orders, skus = (standard_tables[name] for name in ("order_items", "orders", "skus"))
    column = items.c.quantity if measure == "quantity" else items.c.amount
    since = dt.datetime.combine(start, dt.time(), dt.UTC)
    until = dt.datetime.combine(end, dt.time(), dt.UTC)
    query = (
        select(orders.c.platform, orders.c.shop_id, skus.c.category, func.sum(column))
        .select_from(
            items.join(
                orders,
                and_(
                    orders.c.tenant_id == items.c.tenant_id,
                    orders.c.platform == items.c.platform,
                    orders.c.shop_id == items.c.shop_id,
                    orders.c.order_id == items.c.order_id,
                ),
            ).join(skus, and_(skus.c.tenant_id == items.c.tenant_id, skus.c.sku == items.c.sku))
        )
        .where(
            items.c.tenant_id == tid,
            orders.c.status != "cancelled",
            orders.c.created_at >= since,
            orders.c.created_at < until,
            skus.c.category.is_not(None),
        )
        .group_by(orders.c.platform, orders.c.shop_id, skus.c.category)
    )
    values: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for platform, shop_id, category, total in conn.execute(query):
        values[f"{platform}:{shop_id}"][category] = Decimal(str(total or 0))
    return values
