"""Reconciliation (对账): a seller's own report against kpihub's KPI values, and the orders that
explain every difference (docs/reconcile.md).

- ``load_map(path)`` / ``parse_map(text, name)`` read the YAML column map;
- ``read_report(source, colmap, name=…)`` reads the report (.xlsx or .csv) through it;
- ``reconcile(store, tenant, report, colmap)`` compares and explains, and returns a
  ``Reconciliation``; ``write_xlsx(result, path)`` exports it.
"""

from __future__ import annotations

from .colmap import ColumnMap, load_map, parse_map
from .compare import reconcile
from .export import write_xlsx
from .report import Report, read_report
from .results import Explanation, Reconciliation, RowResult

__all__ = [
    "ColumnMap",
    "Explanation",
    "Reconciliation",
    "Report",
    "RowResult",
    "load_map",
    "parse_map",
    "read_report",
    "reconcile",
    "write_xlsx",
]
