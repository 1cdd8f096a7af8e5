"""Targets to and from Excel workbooks (.xlsx), because sellers keep their targets in Excel.

One sheet (``targets``, or the first sheet), one header row, one target per row. The header
names the columns in English or Chinese (``metric_id`` / ``指标``, …); their order is free.
Actual values and attainment are exported for reading and ignored on import. An import is
all or nothing: every problem is reported with its cell (``targets!F7``) and nothing is
written unless the whole sheet is valid (``WorkbookError`` lists the cells at fault).

A workbook is a path, or an open binary file (an upload) together with the name to report it by.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from sdk import ConfigError

from ..connections import audit
from ..store import Store
from .target_periods import parse_period, period_label
from .targets import Target, check_amount, check_target_key, list_targets, tenant_id, write_targets
from .xlsx_limits import UNREADABLE, bounded_rows, check_workbook

__all__ = [
    "COLUMNS",
    "CellProblem",
    "WorkbookError",
    "export_xlsx",
    "import_xlsx",
    "read_targets_xlsx",
    "write_targets_xlsx",
]

Source = Path | IO[bytes]
"""A workbook: a file's path, or an open binary file (e.g. an upload)."""

COLUMNS = (
    "metric_id",
    "grain",
    "period",
    "scope_type",
    "scope_id",
    "target_value",
    "source",
    "parent_scope_type",
    "parent_scope_id",
    "method",
    "share",
    "phase",
    "actual_value",
    "attainment",
    "paced_attainment",
)
REQUIRED = COLUMNS[:6]
READ_ONLY = frozenset({"actual_value", "attainment", "paced_attainment"})
ALIASES = {
    "指标": "metric_id",
    "粒度": "grain",
    "周期": "period",
    "范围类型": "scope_type",
    "范围": "scope_id",
    "目标值": "target_value",
    "来源": "source",
}
_MAX_PROBLEMS = 20


@dataclass(frozen=True)
class CellProblem:
    """Why one cell (or, with no ``column``, one row) of a sheet cannot be imported."""

    sheet: str
    row: int
    column: str | None
    """The column's letter (``F``)."""
    name: str | None
    """The column's name in the header (``target_value``), when it has one."""
    why: str

    @property
    def cell(self) -> str:
        """Where, as Excel writes it: ``targets!F7`` (``targets!7`` for a whole row)."""
        return f"{self.sheet}!{self.column or ''}{self.row}"

    @property
    def where(self) -> str:
        """Where, in words: ``row 7, column F (target_value)``."""
        if self.column is None:
            return f"row {self.row}"
        return f"row {self.row}, column {self.column}" + (f" ({self.name})" if self.name else "")


class WorkbookError(ConfigError):
    """A workbook that cannot be imported; ``problems`` names each cell at fault."""

    def __init__(self, message: str, problems: Sequence[CellProblem]) -> None:
        super().__init__(message)
        self.problems = list(problems)


def export_xlsx(store: Store, path: Source, *, tenant: str = "default", **filters: Any) -> int:
    """Write the tenant's targets (optionally filtered like ``list_targets``) to ``path``."""
    targets = list_targets(store, tenant=tenant, **filters)
    write_targets_xlsx(targets, path)
    return len(targets)


def write_targets_xlsx(targets: Sequence[Target], path: Source) -> None:
    """Write ``targets`` as a workbook to ``path`` (a path or a binary file)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "targets"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    amount_column = COLUMNS.index("target_value") + 1
    for line, t in enumerate(targets, start=2):
        sheet.append(_row(t))
        sheet.cell(line, amount_column).number_format = "#,##0.00##"
    sheet.freeze_panes = "A2"
    try:
        book.save(path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def _row(t: Target) -> list[Any]:
    return [
        t.metric_id,
        t.grain,
        period_label(t.grain, t.period_start),
        t.scope_type,
        t.scope_id,
        t.target_value,
        t.source,
        t.parent_scope_type,
        t.parent_scope_id,
        t.method,
        t.share,
        t.phase,
        t.actual_value,
        t.attainment,
        t.paced_attainment,
    ]


def _name(path: Source, name: str | None) -> str:
    if name is not None:
        return name
    return path.name if isinstance(path, Path) else "the workbook"


@contextmanager
def _opened(path: Source, shown: str) -> Iterator[IO[bytes]]:
    if not isinstance(path, Path):
        yield path
        return
    try:
        file = path.open("rb")
    except FileNotFoundError:
        raise ConfigError(f"the targets workbook {shown} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"the targets workbook {shown} cannot be read: {exc.strerror or exc}") from None
    with file:
        yield file


@contextmanager
def _sheet(path: Source, name: str) -> Iterator[Any]:
    """The targets sheet (``targets``, or the first), read as a stream; closed afterwards.

    The workbook is checked against the limits of ``xlsx_limits`` before openpyxl reads it.
    """
    shown = str(path) if isinstance(path, Path) else name
    with _opened(path, shown) as file:
        check_workbook(file, shown)
        file.seek(0)
        try:
            book = load_workbook(file, read_only=True, data_only=True, keep_links=False)
        except UNREADABLE:
            raise ConfigError(
                f"{shown} is not an Excel .xlsx workbook; save it as .xlsx and try again"
            ) from None
        try:
            sheets = book.worksheets
            if not sheets:
                raise ConfigError(f"{shown} has no worksheet; put the targets on a sheet named targets")
            sheet = next((s for s in sheets if s.title == "targets"), sheets[0])
            # The size a sheet declares is not to be trusted: rows are read as they are.
            sheet.reset_dimensions()
            yield sheet
        finally:
            book.close()


def _header(title: str, first: tuple[Any, ...]) -> dict[str, int]:
    where = f"sheet {title!r}"
    columns: dict[str, int] = {}
    for index, value in enumerate(first):
        if value is None:
            continue
        name = str(value).strip()
        name = ALIASES.get(name, name.lower())
        if name in columns:
            letter = get_column_letter(index + 1)
            why = f"column {name!r} appears twice in the header"
            raise WorkbookError(f"{where}, cell {letter}1: {why}", [CellProblem(title, 1, letter, name, why)])
        if name in COLUMNS:
            columns[name] = index
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        why = (
            f"the header row (row 1) has no {', '.join(missing)} column; "
            f"the columns are {', '.join(REQUIRED)} (and optionally {', '.join(COLUMNS[6:12])})"
        )
        raise WorkbookError(f"{where}: {why}", [CellProblem(title, 1, None, None, why)])
    return columns


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def read_targets_xlsx(
    path: Source, *, name: str | None = None, known_metrics: Iterable[str] | None = None
) -> list[Target]:
    """Parse and validate a targets workbook; a ``WorkbookError`` names every bad cell.

    ``name`` is how messages call the workbook (default: the file's name); with
    ``known_metrics``, a row of any other metric is a problem too.
    """
    label = _name(path, name)
    known = None if known_metrics is None else set(known_metrics)
    with _sheet(path, label) as sheet:
        title = sheet.title
        rows = bounded_rows(sheet, label)
        columns = _header(title, next(rows, ()))
        problems: list[CellProblem] = []
        seen: dict[tuple[str, str, dt.date, str, str], int] = {}
        targets = []
        for line, row in enumerate(rows, start=2):
            values = {name: row[index] if index < len(row) else None for name, index in columns.items()}
            if all(_text(v) is None for v in values.values()):
                continue

            def problem(column: str, why: str, line: int = line) -> None:
                letter = get_column_letter(columns[column] + 1)
                problems.append(CellProblem(title, line, letter, column, why))

            target = _parse_row(values, problem)
            if target is None:
                continue
            if known is not None and target.metric_id not in known:
                problem("metric_id", f"unknown metric {target.metric_id!r}")
                continue
            if target.key in seen:
                problem("metric_id", f"the same target as row {seen[target.key]}")
                continue
            seen[target.key] = line
            targets.append(target)
    if problems:
        shown = [f"{p.cell}: {p.why}" for p in problems[:_MAX_PROBLEMS]]
        more = f"; and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise WorkbookError(
            f"{label}: {len(problems)} problem(s), nothing imported: " + "; ".join(shown) + more, problems
        )
    return targets


def _parse_row(row: dict[str, Any], problem: Any) -> Target | None:
    values = {name: value for name, value in row.items() if name not in READ_ONLY}
    texts = {name: _text(v) for name, v in values.items()}
    for name in REQUIRED:
        if texts.get(name) is None:
            problem(name, f"{name} is empty")
            return None
    metric_id, grain, scope_type, scope_id = (
        str(texts[n]) for n in ("metric_id", "grain", "scope_type", "scope_id")
    )
    column = "metric_id"
    try:
        check_target_key(metric_id, grain, scope_type, scope_id)
        column = "period"
        raw_period = values["period"]
        if isinstance(raw_period, int | float) and not isinstance(raw_period, bool):
            raw_period = str(int(raw_period))  # a year typed as a number
        start = parse_period(grain, raw_period if isinstance(raw_period, dt.date) else str(raw_period))
        column = "target_value"
        amount = check_amount(values["target_value"])
        column = "source"
        source = texts.get("source") or "set"
        if source not in ("set", "decomposed"):
            raise ConfigError(f"source {source!r} must be set or decomposed")
        column = "share"
        share = values.get("share")
        share = None if _text(share) is None else float(Decimal(str(share)))
    except (ConfigError, ArithmeticError, ValueError) as exc:
        problem(column, str(exc))
        return None
    return Target(
        metric_id=metric_id,
        grain=grain,
        period_start=start,
        scope_type=scope_type,
        scope_id=scope_id,
        target_value=amount,
        source=source,
        parent_scope_type=texts.get("parent_scope_type"),
        parent_scope_id=texts.get("parent_scope_id"),
        method=texts.get("method"),
        share=share,
        phase=texts.get("phase"),
    )


def import_xlsx(
    store: Store,
    path: Source,
    *,
    name: str | None = None,
    tenant: str = "default",
    actor: str = "cli",
    known_metrics: Iterable[str] | None = None,
) -> int:
    """Set every target in the workbook (rows with the same key replace the stored ones).

    Nothing is written unless every row is valid. Returns the number of targets imported.
    """
    label = _name(path, name)
    targets = read_targets_xlsx(path, name=label, known_metrics=known_metrics)
    with store.begin() as conn:
        tid = tenant_id(conn, tenant, create=True)
        write_targets(conn, tid, targets, actor=actor)
        audit(
            conn,
            actor=actor,
            action="target.import",
            target=label,
            detail={"targets": len(targets)},
            tenant_id=tid,
        )
    return len(targets)
