"""Running the data-quality checks: ``run_checks`` for the report, ``count_findings`` for alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection

from sdk import ConfigError

from ..kpi.basis import CountingBasis, list_bases
from ..kpi.engine import resolve_tenant
from ..store import Store
from .costs import missing_cost, stock_without_cost
from .coverage import low_coverage
from .finding import CHECK_NAMES, Check, CheckUnavailable, Finding
from .freshness import DEFAULT_STALE_HOURS, stale_data, sync_failed
from .fx import missing_fx
from .orders import missing_fees, missing_shipping_cost, unknown_shop
from .quarantine import quarantined
from .shipments import missing_delivery_dates

__all__ = ["QualityReport", "checks_for", "count_findings", "read_basis", "run_checks"]


@dataclass
class QualityReport:
    """What ``kpihub check`` and ``GET /api/v1/data-quality`` show for one tenant."""

    tenant: str
    base_currency: str
    basis_version: int | None
    """The counting-basis version the checks counted by; None: the defaults (never set)."""
    checked_at: dt.datetime
    stale_hours: float
    findings: list[Finding] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    """Checks that could not run on this store, with why."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "base_currency": self.base_currency,
            "basis_version": self.basis_version,
            "checked_at": self.checked_at.isoformat(),
            "stale_hours": self.stale_hours,
            "findings": [f.as_dict() for f in self.findings],
            "unavailable": dict(self.unavailable),
        }


def checks_for(now: dt.datetime, stale_hours: float = DEFAULT_STALE_HOURS) -> dict[str, Check]:
    """Every check by name, in report order; the connection checks read the time ``now``."""
    return {
        "missing_fx": missing_fx,
        "missing_cost": missing_cost,
        "missing_fees": missing_fees,
        "missing_shipping_cost": missing_shipping_cost,
        "stock_without_cost": stock_without_cost,
        "missing_delivery_dates": missing_delivery_dates,
        "unknown_shop": unknown_shop,
        "quarantined": quarantined,
        "stale_data": partial(stale_data, now=now, hours=stale_hours),
        "sync_failed": partial(sync_failed, now=now),
        "low_coverage": low_coverage,
    }


def read_basis(conn: Connection, tenant_id: int) -> tuple[int | None, CountingBasis]:
    """The tenant's newest counting basis, without storing the defaults as a first version."""
    versions = list_bases(conn, tenant_id)
    return (versions[-1].version, versions[-1].settings) if versions else (None, CountingBasis())


def _chosen(checks: Sequence[str] | None) -> list[str]:
    if not checks:
        return list(CHECK_NAMES)
    unknown = [name for name in checks if name not in CHECK_NAMES]
    if unknown:
        raise ConfigError(f"unknown check(s) {', '.join(unknown)}; the checks are: {', '.join(CHECK_NAMES)}")
    return [name for name in CHECK_NAMES if name in checks]


def run_checks(
    store: Store,
    tenant: str = "default",
    *,
    checks: Sequence[str] | None = None,
    now: dt.datetime | None = None,
    stale_hours: float = DEFAULT_STALE_HOURS,
) -> QualityReport:
    """Run ``checks`` (default: all) on ``tenant``'s data; changes nothing.

    Unknown tenants and checks raise a ``ConfigError`` naming the known ones."""
    chosen = _chosen(checks)
    if not stale_hours > 0:
        raise ConfigError(f"the stale-data limit must be more than 0 hours, not {stale_hours:g}")
    now = now or dt.datetime.now(dt.UTC)
    with store.begin() as conn:
        tenant_id, base = resolve_tenant(conn, tenant)
        version, basis = read_basis(conn, tenant_id)
        report = QualityReport(tenant, base, version, now, stale_hours)
        run = checks_for(now, stale_hours)
        for name in chosen:
            try:
                report.findings += run[name](conn, tenant_id, basis)
            except CheckUnavailable as exc:
                report.unavailable[name] = str(exc)
    return report


def count_findings(conn: Connection, tenant_id: int, check: str, *, now: dt.datetime) -> int:
    """The total count of ``check``'s findings for the tenant (0 where the check cannot run)."""
    _, basis = read_basis(conn, tenant_id)
    try:
        return sum(f.count for f in checks_for(now)[check](conn, tenant_id, basis))
    except CheckUnavailable:
        return 0
