"""Reading a seller's hand report (.xlsx or .csv) through its column map.

A workbook is checked against the hub's limits for untrusted workbooks (``hub.kpi.xlsx_limits``)
before openpyxl opens it, and its rows are read through the same bounded reader; a CSV file is
held to the same row, cell and character limits. Every unreadable cell is reported at once with
its sheet, row and column (``WorkbookError.problems``), and nothing is compared until the whole
report reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from sdk import ConfigError

from ..kpi.xlsx import CellProblem, WorkbookError
from ..kpi.xlsx_limits import MAX_CELL_CHARS, MAX_CELLS, MAX_ROWS, UNREADABLE, bounded_rows, check_workbook
from .cells import is_blank, parse_amount, parse_period, text
from .colmap import ColumnMap

__all__ = ["MAX_CSV_BYTES", "Problems", "Report", "ReportOrder", "ReportRow", "read_report"]

MAX_CSV_BYTES = 64 * 2**20
_MAX_SHOWN = 20

Source = Path | IO[bytes]


@dataclass(frozen=True)
class ReportRow:
    """One row of figures: a scope, a period and a value per mapped metric (blank cells left out)."""

    line: int
    scope_label: str | None
    period: dt.date
    values: dict[str, Decimal]
    cells: dict[str, str]
    """Metric id -> where its value is (``销售日报!C7``)."""


@dataclass(frozen=True)
class ReportOrder:
    """One order of the detail sheet: the report counted it on ``period``."""

    line: int
    shop_label: str
    order_id: str
    period: dt.date
    amount: Decimal | None
    cell: str


@dataclass(frozen=True)
class Report:
    name: str
    sheet: str
    rows: tuple[ReportRow, ...]
    orders: tuple[ReportOrder, ...] | None
    columns: dict[str, int]
    """Index of each mapped column of the figures' sheet: ``date``, ``scope``, ``metric:<id>``."""
    order_sheet: str | None = None
    order_columns: dict[str, int] | None = None
    csv: bool = False


class Problems:
    """The cells at fault in one sheet (none: a CSV file), raised together as one ``WorkbookError``."""

    def __init__(self, label: str, sheet: str | None) -> None:
        self.label, self.sheet = label, sheet
        self.found: list[CellProblem] = []

    def add(self, line: int, index: int | None, name: str | None, why: str) -> None:
        letter = None if index is None else get_column_letter(index + 1)
        self.found.append(CellProblem(self.sheet or self.label, line, letter, name, why))

    def raise_any(self) -> None:
        if not self.found:
            return
        where = f"{self.label}, sheet {self.sheet!r}" if self.sheet else self.label
        shown = [f"{p.where}: {p.why}" for p in self.found[:_MAX_SHOWN]]
        more = f"; and {len(self.found) - len(shown)} more" if len(self.found) > len(shown) else ""
        raise WorkbookError(f"{where}: {'; '.join(shown)}{more}", self.found)


def _header(
    rows: Iterator[tuple[Any, ...]], header_row: int, wanted: dict[str, str], where: str
) -> dict[str, int]:
    """Column index of each wanted header name, from the header row."""
    header: tuple[Any, ...] = ()
    for _ in range(header_row):
        header = next(rows, ())
    names = [text(v) if not is_blank(v) else "" for v in header]
    found: dict[str, int] = {}
    for key, name in wanted.items():
        if name not in names:
            known = ", ".join(repr(n) for n in names if n) or "none"
            raise ConfigError(
                f"{where} has no column {name!r} (for {key.replace('metric:', 'metric ')}) in its header, "
                f"row {header_row}; "
                f"its columns are: {known}. Fix the header or the column map"
            )
        found[key] = names.index(name)
    return found


def _cells(row: tuple[Any, ...], columns: dict[str, int]) -> dict[str, Any]:
    return {key: row[i] if i < len(row) else None for key, i in columns.items()}


def _figures(
    rows: Iterator[tuple[Any, ...]], colmap: ColumnMap, sheet: str, problems: Problems
) -> tuple[list[ReportRow], dict[str, int]]:
    where = f"{problems.label}, sheet {sheet!r}" if problems.sheet else problems.label
    wanted = {"date": colmap.columns.date, **{f"metric:{m}": c for m, c in colmap.columns.metrics.items()}}
    if colmap.scope_column is not None:
        wanted["scope"] = colmap.scope_column
    columns = _header(rows, colmap.header_row, wanted, where)
    found = []
    for line, row in enumerate(rows, start=colmap.header_row + 1):
        cells = _cells(row, columns)
        if all(is_blank(v) for v in cells.values()):
            continue

        def bad(key: str, why: str, line: int = line) -> None:
            problems.add(line, columns[key], wanted[key], why)

        period = _read(cells["date"], lambda v: parse_period(v, colmap.grain), "date", bad)
        label = None
        if "scope" in columns:
            label = None if is_blank(cells["scope"]) else text(cells["scope"])
            if label is None:
                bad("scope", f"the {colmap.scope} is empty")
        values, refs = {}, {}
        for metric in colmap.columns.metrics:
            key = f"metric:{metric}"
            if is_blank(cells[key]):
                continue  # not reported: nothing to compare
            value = _read(cells[key], parse_amount, key, bad)
            if value is not None:
                values[metric] = value
                refs[metric] = f"{sheet}!{get_column_letter(columns[key] + 1)}{line}"
        if period is not None and (label is not None or "scope" not in columns):
            found.append(ReportRow(line, label, period, values, refs))
    return found, columns


def _read(value: Any, parse: Callable[[Any], Any], key: str, bad: Callable[[str, str], None]) -> Any:
    if is_blank(value):
        bad(key, "the cell is empty")
        return None
    try:
        return parse(value)
    except ValueError as exc:
        bad(key, str(exc))
        return None


def _orders(
    rows: Iterator[tuple[Any, ...]], colmap: ColumnMap, sheet: str, problems: Problems
) -> tuple[list[ReportOrder], dict[str, int]]:
    assert colmap.orders is not None
    detail = colmap.orders
    wanted = {k: v for k, v in detail.columns.model_dump().items() if v is not None}
    columns = _header(rows, detail.header_row, wanted, f"{problems.label}, sheet {sheet!r}")
    found: list[ReportOrder] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in enumerate(rows, start=detail.header_row + 1):
        cells = _cells(row, columns)
        if all(is_blank(v) for v in cells.values()):
            continue

        def bad(key: str, why: str, line: int = line) -> None:
            problems.add(line, columns[key], wanted[key], why)

        period = _read(cells["date"], lambda v: parse_period(v, colmap.grain), "date", bad)
        shop = _read(cells["shop"], text, "shop", bad)
        order_id = _read(cells["order_id"], text, "order_id", bad)
        amount = None
        if "amount" in columns and not is_blank(cells["amount"]):
            amount = _read(cells["amount"], parse_amount, "amount", bad)
        if period is None or shop is None or order_id is None:
            continue
        if (shop, order_id) in seen:
            bad("order_id", f"order {order_id} of {shop} is listed twice (also row {seen[shop, order_id]})")
            continue
        seen[shop, order_id] = line
        cell = f"{sheet}!{get_column_letter(columns['order_id'] + 1)}{line}"
        found.append(ReportOrder(line, shop, order_id, period, amount, cell))
    return found, columns


def read_report(source: Source, colmap: ColumnMap, *, name: str | None = None) -> Report:
    """The figures (and order detail) of the report at ``source`` (a path, or an open binary file
    with its ``name``), read as ``colmap`` says; a ``ConfigError`` names what cannot be read."""
    label = name if name is not None else source.name if isinstance(source, Path) else "the report"
    suffix = Path(label).suffix.lower()
    with _opened(source, label) as file:
        if suffix == ".xlsx":
            return _read_workbook(file, label, colmap)
        if suffix == ".csv":
            return _read_csv(file, label, colmap)
    raise ConfigError(f"{label}: a report is an Excel workbook (.xlsx) or a .csv file; save it as one")


@contextmanager
def _opened(source: Source, label: str) -> Iterator[IO[bytes]]:
    if not isinstance(source, Path):
        yield source
        return
    try:
        file = source.open("rb")
    except FileNotFoundError:
        raise ConfigError(f"the report {label} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"the report {label} cannot be read: {exc.strerror or exc}") from None
    with file:
        yield file


def _read_workbook(file: IO[bytes], label: str, colmap: ColumnMap) -> Report:
    check_workbook(file, label)
    file.seek(0)
    try:
        book = load_workbook(file, read_only=True, data_only=True, keep_links=False)
    except UNREADABLE:
        raise ConfigError(f"{label} is not an Excel .xlsx workbook; save it as .xlsx and try again") from None
    try:
        titles = [s.title for s in book.worksheets]
        if not titles:
            raise ConfigError(f"{label} has no worksheet")

        def sheet(title: str, key: str) -> Any:
            if title not in titles:
                known = ", ".join(repr(t) for t in titles)
                raise ConfigError(
                    f"{label} has no sheet {title!r} (the map's {key}); its sheets are: {known}"
                )
            chosen = book[title]
            chosen.reset_dimensions()  # the size a sheet declares is not to be trusted
            return chosen

        main = sheet(colmap.sheet or titles[0], "sheet")
        problems = Problems(label, main.title)
        rows, columns = _figures(bounded_rows(main, label), colmap, main.title, problems)
        problems.raise_any()
        if colmap.orders is None:
            return Report(label, main.title, tuple(rows), None, columns)
        detail = sheet(colmap.orders.sheet, "orders.sheet")
        problems = Problems(label, detail.title)
        orders, order_columns = _orders(bounded_rows(detail, label), colmap, detail.title, problems)
        problems.raise_any()
        return Report(label, main.title, tuple(rows), tuple(orders), columns, detail.title, order_columns)
    finally:
        book.close()


def _read_csv(file: IO[bytes], label: str, colmap: ColumnMap) -> Report:
    if colmap.sheet is not None or colmap.orders is not None:
        raise ConfigError(
            f"{label} is a .csv file, which has no sheets: remove sheet: and orders: from the map, "
            "or give the report as an .xlsx workbook"
        )
    data = file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise ConfigError(f"{label} is larger than {MAX_CSV_BYTES // 2**20} MB; split the report")
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV in GB18030 (GBK)
        try:
            content = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte sequence Excel writes
        raise ConfigError(f"{label} is neither UTF-8 nor GB18030 text; save it as CSV UTF-8")
    problems = Problems(label, None)
    rows, columns = _figures(_csv_rows(content, label), colmap, Path(label).stem, problems)
    problems.raise_any()
    return Report(label, Path(label).stem, tuple(rows), None, columns, csv=True)


def _csv_rows(content: str, label: str) -> Iterator[tuple[Any, ...]]:
    """The CSV's rows, held to the limits a workbook is held to."""
    try:
        dialect: Any = csv.Sniffer().sniff(content[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(content, newline=""), dialect)
    cells = 0
    try:
        for line, row in enumerate(reader, start=1):
            cells += len(row)
            if line > MAX_ROWS or cells > MAX_CELLS:
                raise ConfigError(f"{label} has more than {MAX_ROWS:,} rows or {MAX_CELLS:,} cells; split it")
            if any(len(cell) > MAX_CELL_CHARS for cell in row):
                raise ConfigError(
                    f"{label}: row {line} has a cell of more than {MAX_CELL_CHARS:,} characters"
                )
            yield tuple(row)
    except csv.Error as exc:
        raise ConfigError(f"{label}: row {reader.line_num} is not valid CSV ({exc})") from None
