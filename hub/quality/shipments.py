"""``missing_delivery_dates``: shipments the last-mile delivery rate cannot judge.

The rate is shipments delivered by their promised date over shipments; one with no promised
delivery date is neither on time nor late, so the engine counts it as unknown, not as late. A
platform that reports no promise (Shopee) leaves its shops' rate unknown; one that does but
whose mapping drops it can be fixed.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ..kpi.basis import CountingBasis
from .finding import Finding, plural, shop_key
from .unknown import unknown_per_shop

__all__ = ["missing_delivery_dates"]


def missing_delivery_dates(conn: Connection, tenant_id: int, basis: CountingBasis) -> list[Finding]:
    """Per shop: shipped shipments without a promised delivery date."""
    gaps = unknown_per_shop(
        conn,
        tenant_id,
        basis,
        "shipments",
        "promised_delivery_at",
        dated_by="shipped_at",
        ident="shipment_id",
        where=lambda t: [t.c.shipped_at.is_not(None)],
    )
    findings = []
    for (platform, shop_id), gap in gaps.items():
        name = gap.connections[0] if gap.connections else "CONNECTION"
        one = gap.unknown == 1
        findings.append(
            Finding(
                check="missing_delivery_dates",
                severity="warning",
                count=gap.unknown,
                summary=(
                    f"{plural(gap.unknown, 'shipment')} of {gap.rows:,} shipped ({gap.span}) "
                    f"{'has' if one else 'have'} no promised delivery date: the last-mile delivery rate "
                    f"cannot tell whether {'it was' if one else 'they were'} on time"
                ),
                example=f"shipment {gap.example}",
                fix=(
                    "map the platform's promised delivery date onto shipments.promised_delivery_at "
                    f"(`kpihub mapping show {name} STREAM`, `kpihub mapping set …`, `kpihub remap {name}`) "
                    "where the platform reports one; a platform that reports none leaves the rate unknown"
                ),
                details={"shipped": gap.rows, "unknown": gap.unknown, "connections": gap.connections},
                scope="shop",
                scope_id=shop_key(platform, shop_id),
            )
        )
    return findings
