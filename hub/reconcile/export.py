"""A reconciliation as an Excel workbook, for the finance team that signs it off.

Three sheets: ``summary`` (what was compared, the counts, the notes), ``values`` (one row per
metric, scope and period, as ``kpihub reconcile`` prints it) and ``explanations`` (one row per
order, refund or rate behind a difference, pointing at its value by metric, scope and period).
Amounts are written as numbers, so the sheet sums and filters like any other.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.styles import Font

from sdk import ConfigError

from .results import Reconciliation

__all__ = ["EXPLANATION_COLUMNS", "VALUE_COLUMNS", "write_xlsx"]

VALUE_COLUMNS = (
    "metric_id",
    "scope_type",
    "scope_id",
    "scope_label",
    "period",
    "kpihub",
    "report",
    "difference",
    "unexplained",
    "tolerance",
    "unit",
    "status",
    "cell",
    "note",
)
EXPLANATION_COLUMNS = (
    "metric_id",
    "scope_id",
    "period",
    "kind",
    "effect",
    "text",
    "shop",
    "order_id",
    "refund_id",
    "amount",
    "currency",
    "kpihub_day",
    "report_day",
    "kpihub_zone",
    "report_zone",
    "kpihub_rate",
    "report_rate",
    "order_day",
    "refund_day",
)
_MONEY = "#,##0.00##"


def _sheet(book: Workbook, title: str, columns: tuple[str, ...], rows: list[list[Any]]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in rows:
        sheet.append(values)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, int | float | Decimal) and not isinstance(cell.value, bool):
                cell.number_format = _MONEY
            elif cell.is_date:
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"


def write_xlsx(result: Reconciliation, path: Path | IO[bytes]) -> None:
    """Write ``result`` as a workbook to ``path`` (a file's path or a binary file)."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "summary"
    for key, value in (
        ("report", result.report),
        ("tenant", result.tenant),
        ("scope", result.scope),
        ("grain", result.grain),
        ("currency", result.currency),
        ("counting basis", result.basis_version),
        ("report's time zone", result.report_zone or "each shop's"),
        *[(status.replace("_", " "), count) for status, count in result.counts.items()],
        *[("note", note) for note in result.notes],
    ):
        summary.append([key, value])
    values = []
    for row in result.rows:
        data = row.as_dict()
        data.update(kpihub=row.kpihub, report=row.report, difference=row.difference, tolerance=row.tolerance)
        data.update(period=row.period, unexplained=row.unexplained if row.status != "matched" else None)
        values.append([data[c] for c in VALUE_COLUMNS])
    explanations = []
    for row in result.rows:
        for e in row.explanations:
            data = {"metric_id": row.metric_id, "scope_id": row.scope_id, "period": row.period, **vars(e)}
            explanations.append([data[c] for c in EXPLANATION_COLUMNS])
    _sheet(book, "values", VALUE_COLUMNS, values)
    _sheet(book, "explanations", EXPLANATION_COLUMNS, explanations)
    try:
        book.save(path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
