"""``low_coverage``: KPI values published as unknown because too few of their inputs were complete.

The engine records each value's ``coverage`` (the share, 0 to 1, of its input rows whose
inputs — rate, cost, fees — were all known; null with no input rows) and publishes it as
unknown, with ``unknown_reason``, when the coverage is below the counting basis' ``min_coverage``
(default 1: every input complete). The findings are per shop; values that add up several shops
(tenant, team, person, category, platform totals) are one finding of their own.

The check needs those columns of ``kpi_fact``; on a store whose engine does not write them yet
it reports itself unavailable instead of finding nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from ..kpi.basis import CountingBasis
from ..store.kpi_tables import kpi_fact
from .finding import CheckUnavailable, Finding, plural, shop_key

__all__ = ["low_coverage", "min_coverage"]

METRICS_NAMED = 5


def min_coverage(basis: CountingBasis) -> float:
    """The basis' threshold; 1 (every input complete) where the basis has no such option yet."""
    return float(getattr(basis, "min_coverage", 1.0))


def low_coverage(conn: Connection, tenant_id: int, basis: CountingBasis) -> list[Finding]:
    f = kpi_fact
    if "coverage" not in f.c or "unknown_reason" not in f.c:
        raise CheckUnavailable("kpi_fact has no coverage and unknown_reason columns yet")
    threshold = min_coverage(basis)
    # SQLite keeps the exact value as its text: compared as a number, not as text.
    coverage: Any = sa.cast(f.c.coverage, sa.Float) if conn.dialect.name == "sqlite" else f.c.coverage
    below = [f.c.tenant_id == tenant_id, f.c.coverage.is_not(None), coverage < threshold]
    rows = conn.execute(
        sa.select(f.c.platform, f.c.shop_id, f.c.metric_id, sa.func.count())
        .where(*below)
        .group_by(f.c.platform, f.c.shop_id, f.c.metric_id)
    ).all()
    groups: dict[str | None, Counter[str]] = defaultdict(Counter)
    for platform, shop_id, metric_id, n in rows:
        groups[None if shop_id is None else shop_key(platform, shop_id)][metric_id] += int(n)
    findings = []
    for key in sorted(groups, key=lambda k: (k is not None, k or "")):
        metrics = groups[key]
        if key is None:
            where = [*below, f.c.shop_id.is_(None)]
        else:
            platform, _, shop_id = key.partition(":")
            where = [*below, f.c.platform == platform, f.c.shop_id == shop_id]
        lowest = conn.execute(
            sa.select(
                f.c.metric_id,
                f.c.grain,
                f.c.period_start,
                f.c.scope_type,
                f.c.scope_id,
                f.c.coverage,
                f.c.unknown_reason,
            )
            .where(*where)
            .order_by(coverage, f.c.metric_id, f.c.grain, f.c.period_start, f.c.scope_type, f.c.scope_id)
            .limit(1)
        ).one()
        findings.append(_finding(key, metrics, threshold, lowest))
    return findings


def _finding(key: str | None, metrics: Counter[str], threshold: float, lowest: Any) -> Finding:
    total = sum(metrics.values())
    ranked = sorted(metrics, key=lambda m: (-metrics[m], m))
    named = ", ".join(ranked[:METRICS_NAMED]) + (", …" if len(ranked) > METRICS_NAMED else "")
    whose = "over several shops" if key is None else f"of shop {key}"
    one = total == 1
    cover = Decimal(str(lowest.coverage))
    reason = f": {lowest.unknown_reason}" if lowest.unknown_reason else ""
    return Finding(
        check="low_coverage",
        severity="error",
        count=total,
        summary=(
            f"{plural(total, 'KPI value')} {whose} ({named}) had fewer than {threshold:.0%} of "
            f"{'its' if one else 'their'} inputs complete and {'is' if one else 'are'} published "
            "without a value"
        ),
        example=(
            f"{lowest.metric_id} {lowest.grain} {lowest.period_start} {lowest.scope_type}:{lowest.scope_id}: "
            f"coverage {cover:.1%}{reason}"
        ),
        fix=(
            "complete the inputs the other findings name (exchange rates, costs, fees, quarantined "
            "records), then `kpihub compute`; or accept less with the counting-basis option "
            "min_coverage (`kpihub basis set min_coverage=0.95`)"
        ),
        details={"values": {m: metrics[m] for m in ranked}, "min_coverage": threshold},
        scope="aggregate" if key is None else "shop",
        scope_id=key,
    )
