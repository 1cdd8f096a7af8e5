"""KPIs: the metrics engine (definitions, counting bases, compute into ``kpi_fact``) and KPI
management on top of it (targets and their decomposition, scorecards, alerts, guardrails).

The engine's public API (see docs/kpi.md):

- ``compute(store, tenant, *, full=False) -> ComputeReport`` brings ``kpi_fact`` up to date;
- ``query_kpis(store, tenant, metric_id, ...)`` reads values back;
- ``set_counting_basis(conn, tenant_id, changes, actor=...)`` / ``current_basis`` manage 口径;
- ``Catalogue`` holds the metric definitions:
  ``Catalogue.from_providers(registry.metric_providers.values())``.
"""

from __future__ import annotations

from .basis import BasisVersion, CountingBasis, current_basis, list_bases, set_counting_basis
from .catalogue import Catalogue
from .engine import ComputeReport, compute, resolve_tenant
from .periods import GRAINS, SCOPES
from .query import query_kpis

__all__ = [
    "GRAINS",
    "SCOPES",
    "BasisVersion",
    "Catalogue",
    "ComputeReport",
    "CountingBasis",
    "compute",
    "current_basis",
    "list_bases",
    "query_kpis",
    "resolve_tenant",
    "set_counting_basis",
]
