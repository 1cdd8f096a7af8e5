"""The data-quality report: everything that makes a tenant's KPI numbers incomplete or doubtful.

Each check (one small module per family) is a function ``(conn, tenant_id, basis) ->
list[Finding]`` that aggregates in SQL; ``run_checks`` runs them for ``kpihub check`` and
``GET /api/v1/data-quality``, and ``count_findings`` for the ``data_quality`` alert rules.
docs/data-quality.md describes every check, what it means for which KPI and its fix.
"""

from __future__ import annotations

from .finding import CHECK_NAMES, CheckUnavailable, Finding
from .freshness import DEFAULT_STALE_HOURS
from .quarantine import QuarantinedRecord, list_quarantined
from .report import QualityReport, checks_for, count_findings, read_basis, run_checks

__all__ = [
    "CHECK_NAMES",
    "DEFAULT_STALE_HOURS",
    "CheckUnavailable",
    "Finding",
    "QualityReport",
    "QuarantinedRecord",
    "checks_for",
    "count_findings",
    "list_quarantined",
    "read_basis",
    "run_checks",
]
