"""Targets to and from Excel workbooks (.xlsx), because sellers keep their targets in Excel.

One sheet (``targets``, or the first sheet), one header row, one target per row. The header
names the columns in English or Chinese (``metric_id`` / ``指标``, …); their order is free.
Actual values and attainment are exported for reading and ignored on import. An import is
all or nothing: every problem is reported with its cell (``targets!F7``) and nothing is
written unless the whole sheet is valid.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from sdk import ConfigError

from ..connections import audit
from ..store import Store
from .target_periods import parse_period, period_label
from .targets import Target, check_amount, check_target_key, list_targets, tenant_id, write_targets

__all__ = ["COLUMNS", "export_xlsx", "import_xlsx", "read_targets_xlsx"]

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


def export_xlsx(store: Store, path: Path, *, tenant: str = "default", **filters: Any) -> int:
    """Write the tenant's targets (optionally filtered like ``list_targets``) to ``path``."""
    targets = list_targets(store, tenant=tenant, **filters)
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
    return len(targets)


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


@contextmanager
def _sheet(path: Path) -> Iterator[Any]:
    """The targets sheet (``targets``, or the first), read as a stream; closed afterwards."""
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise ConfigError(f"the targets workbook {path} does not exist") from None
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ConfigError(f"{path} is not an Excel .xlsx workbook; save it as .xlsx and try again") from None
    try:
        yield book["targets"] if "targets" in book.sheetnames else book.worksheets[0]
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
            raise ConfigError(
                f"{where}, cell {get_column_letter(index + 1)}1: column {name!r} appears twice in the header"
            )
        if name in COLUMNS:
            columns[name] = index
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ConfigError(
            f"{where}: the header row (row 1) has no {', '.join(missing)} column; "
            f"the columns are {', '.join(REQUIRED)} (and optionally {', '.join(COLUMNS[6:12])})"
        )
    return columns


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def read_targets_xlsx(path: Path) -> list[Target]:
    """Parse and validate a targets workbook; a ``ConfigError`` names every bad cell."""
    with _sheet(path) as sheet:
        title = sheet.title
        rows = sheet.iter_rows(values_only=True)
        columns = _header(title, next(rows, ()))
        problems: list[str] = []
        seen: dict[tuple[str, str, dt.date, str, str], int] = {}
        targets = []
        for line, row in enumerate(rows, start=2):
            values = {name: row[index] if index < len(row) else None for name, index in columns.items()}
            if all(_text(v) is None for v in values.values()):
                continue

            def problem(column: str, why: str, line: int = line) -> None:
                problems.append(f"{title}!{get_column_letter(columns[column] + 1)}{line}: {why}")

            target = _parse_row(values, problem)
            if target is None:
                continue
            if target.key in seen:
                problem("metric_id", f"the same target as row {seen[target.key]}")
                continue
            seen[target.key] = line
            targets.append(target)
    if problems:
        shown = problems[:_MAX_PROBLEMS]
        more = f"; and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise ConfigError(
            f"{path.name}: {len(problems)} problem(s), nothing imported: " + "; ".join(shown) + more
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
    path: Path,
    *,
    tenant: str = "default",
    actor: str = "cli",
    known_metrics: Iterable[str] | None = None,
) -> int:
    """Set every target in the workbook (rows with the same key replace the stored ones).

    Nothing is written unless every row is valid. Returns the number of targets imported.
    """
    targets = read_targets_xlsx(path)
    if known_metrics is not None:
        known = set(known_metrics)
        unknown = sorted({t.metric_id for t in targets} - known)
        if unknown:
            raise ConfigError(f"{path.name}: unknown metrics {', '.join(unknown)}; nothing imported")
    with store.begin() as conn:
        tid = tenant_id(conn, tenant, create=True)
        write_targets(conn, tid, targets, actor=actor)
        audit(
            conn,
            actor=actor,
            action="target.import",
            target=path.name,
            detail={"targets": len(targets)},
            tenant_id=tid,
        )
    return len(targets)
