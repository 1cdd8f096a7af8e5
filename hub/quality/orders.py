"""``missing_fees``, ``missing_shipping_cost`` and ``unknown_shop``: orders whose costs or whose
shop the KPIs do not know.

Only orders that count are looked at: those not cancelled, as every sales KPI counts them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from ..kpi.basis import CountingBasis
from ..store.tables import standard_tables
from .days import is_zone
from .finding import CheckUnavailable, Finding, Severity, as_date, day_span, plural, shop_key
from .unknown import unknown_per_shop

__all__ = ["missing_fees", "missing_shipping_cost", "unknown_shop"]

SHOP_REGISTER = (
    "the shop register: a files connection's shops.csv (platform, shop_id, site, shop_name, "
    "timezone, currency, launched_on) or the shop's marketplace connection"
)


def missing_fees(conn: Connection, tenant_id: int, basis: CountingBasis) -> list[Finding]:
    """Per shop: orders whose platform fees are unknown (null), which gross margin subtracts.

    Nothing to find when the counting basis leaves platform fees out of the margin."""
    if not basis.margin_includes_platform_fees:
        return []
    return _unknown_amount(conn, tenant_id, basis, "missing_fees", "platform_fees", "platform fees")


def missing_shipping_cost(conn: Connection, tenant_id: int, basis: CountingBasis) -> list[Finding]:
    """Per shop: orders whose shipping cost (the seller's, not the buyer's fee) is unknown.

    Nothing to find when the counting basis leaves shipping out of the margin."""
    if "shipping_cost" not in standard_tables["orders"].c:
        raise CheckUnavailable("orders have no shipping_cost column yet")
    if not basis.margin_includes_shipping:
        return []
    return _unknown_amount(conn, tenant_id, basis, "missing_shipping_cost", "shipping_cost", "shipping cost")


def _unknown_amount(
    conn: Connection, tenant_id: int, basis: CountingBasis, check: str, column: str, label: str
) -> list[Finding]:
    gaps = unknown_per_shop(
        conn,
        tenant_id,
        basis,
        "orders",
        column,
        dated_by="created_at",
        ident="order_id",
        where=lambda o: [o.c.status != "cancelled"],
    )
    findings = []
    for (platform, shop_id), gap in gaps.items():
        name = gap.connections[0] if gap.connections else "CONNECTION"
        one = gap.unknown == 1
        findings.append(
            Finding(
                check=check,
                severity="error",
                count=gap.unknown,
                summary=(
                    f"{plural(gap.unknown, 'order')} of {gap.rows:,} ({gap.span}) "
                    f"{'has' if one else 'have'} no known {label}: gross margin is incomplete for "
                    f"{'this order' if one else 'these orders'}"
                ),
                example=f"order {gap.example}",
                fix=(
                    f"map the source's {label} onto orders.{column} (`kpihub mapping show {name} orders`, "
                    f"then `kpihub mapping set …` and `kpihub remap {name}`); the newest orders' "
                    f"{label} often arrive only once they settle, with a later sync"
                ),
                details={"orders": gap.rows, "unknown": gap.unknown, "connections": gap.connections},
                scope="shop",
                scope_id=shop_key(platform, shop_id),
            )
        )
    return findings


def unknown_shop(conn: Connection, tenant_id: int, basis: CountingBasis) -> list[Finding]:
    """Per shop with orders: no row in the shop dimension, or no time zone the engine can use.

    A shop with no row (an ERP's shop not mapped to its marketplace's, say) has its days counted
    in UTC and no site, phase or team; one whose time zone is not an IANA name has no local
    days at all; one whose row holds only its id (the ``UTC`` default and no site: the row
    the sync adds for a connection's shop) has its days counted in UTC."""
    o, sh = standard_tables["orders"].alias("o"), standard_tables["shops"].alias("sh")
    zones = conn.execute(sa.select(sh.c.timezone).where(sh.c.tenant_id == tenant_id).distinct()).scalars()
    unknown_zones = sorted({str(z) for z in zones if not is_zone(z)})
    placeholder = sa.and_(sh.c.timezone == "UTC", sh.c.site.is_(None))
    rows = conn.execute(
        sa.select(
            o.c.platform,
            o.c.shop_id,
            sh.c.shop_id,
            sh.c.timezone,
            sa.func.count(),
            sa.func.min(o.c.order_id),
            sa.func.min(o.c.created_at),
            sa.func.max(o.c.created_at),
        )
        .select_from(
            o.outerjoin(
                sh,
                sa.and_(
                    sh.c.tenant_id == o.c.tenant_id,
                    sh.c.platform == o.c.platform,
                    sh.c.shop_id == o.c.shop_id,
                ),
            )
        )
        .where(
            o.c.tenant_id == tenant_id,
            o.c.status != "cancelled",
            sa.or_(sh.c.shop_id.is_(None), sh.c.timezone.in_(unknown_zones), placeholder),
        )
        .group_by(o.c.platform, o.c.shop_id, sh.c.shop_id, sh.c.timezone)
        .order_by(o.c.platform, o.c.shop_id)
    ).all()
    findings = []
    for platform, shop_id, known, timezone, orders, example, first, last in rows:
        key = shop_key(platform, shop_id)
        counted = f"shop {key} has {plural(int(orders), 'order')} ({day_span(as_date(first), as_date(last))})"
        severity: Severity = "error"
        if known is None:
            summary = (
                f"{counted} but no row in the shop dimension: its days are counted in UTC and it has "
                "no site, phase or team"
            )
            fix = f"add the shop to {SHOP_REGISTER}; for an ERP's orders, map the ERP's shop to its "
            fix += "marketplace's (platform, shop_id) (Mabang: the connection's `shops` option)"
        elif timezone in unknown_zones:
            summary = (
                f"{counted} but its time zone {timezone!r} is no IANA time zone, so its local days "
                "cannot be told"
            )
            fix = f"set the shop's timezone (an IANA name such as Asia/Shanghai) in {SHOP_REGISTER}"
        else:
            severity = "warning"
            summary = (
                f"{counted} but the shop dimension knows only its id (no site; time zone UTC by default): "
                "its days are counted in UTC"
            )
            fix = f"give the shop its site and timezone in {SHOP_REGISTER}"
        findings.append(
            Finding(
                check="unknown_shop",
                severity=severity,
                count=int(orders),
                summary=summary,
                example=f"order {example}",
                fix=f"{fix}; then `kpihub compute`",
                details={"in_shop_dimension": known is not None, "timezone": timezone},
                scope="shop",
                scope_id=key,
            )
        )
    return findings
