"""Reading a workbook within limits, because an .xlsx is a zip of XML that anyone can craft.

A 1 MB workbook can unpack to gigabytes (a zip bomb, or one highly compressed cell), and its
XML can declare entities that expand exponentially (billion laughs) or that read local files
(XXE). openpyxl parses with defusedxml when it is installed (it is a dependency for that
reason), but even in read-only mode it holds every shared string in memory, builds each cell's
text whole and pads rows out to their widest cell.

So before openpyxl opens a workbook, ``check_workbook`` reads the zip's directory (sizes and
compression ratios, before anything is unpacked) and then streams every XML part through a
defused SAX parser that refuses any DTD and counts, chunk by chunk, what openpyxl would hold:
shared strings and the characters of each cell. ``bounded_rows`` then counts the rows and
cells openpyxl yields. Every refusal is a ``ConfigError`` naming what is wrong and the limit.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl

from defusedxml import DefusedXmlException
from defusedxml.expatreader import create_parser
from openpyxl.utils.exceptions import InvalidFileException

from sdk import ConfigError

__all__ = [
    "MAX_CELLS",
    "MAX_CELL_CHARS",
    "MAX_PARTS",
    "MAX_PART_BYTES",
    "MAX_RATIO",
    "MAX_ROWS",
    "MAX_SHARED_STRINGS",
    "MAX_SHARED_STRINGS_BYTES",
    "MAX_TOTAL_BYTES",
    "RATIO_GRACE_BYTES",
    "UNREADABLE",
    "bounded_rows",
    "check_workbook",
]

_MIB = 2**20

# The upload route takes 10 MB, some 100,000 targets; the limits leave twice that room.
MAX_ROWS = 200_000
"""Rows of a sheet, empty ones (a jump from row 1 to row 1,000,000) included."""
MAX_CELLS = 4_000_000
"""Cells of a sheet as openpyxl yields them: MAX_ROWS rows of 20 columns. A row is as wide as
its last cell, so one cell in column XFD makes a row of 16,384."""
MAX_CELL_CHARS = 32_767
"""Characters in a cell or a shared string: Excel's own limit, so no real workbook exceeds it."""
MAX_SHARED_STRINGS = 1_000_000
"""Distinct strings of a workbook; openpyxl holds them all in memory while the sheet is read."""
MAX_SHARED_STRINGS_BYTES = 64 * _MIB
"""The shared strings part unpacked, for the same reason."""
MAX_PART_BYTES = 256 * _MIB
"""One part unpacked: a sheet of MAX_ROWS targets as openpyxl writes it (inline strings) is
about 150 MB. Text outside cells is bounded by this alone, and streamed."""
MAX_TOTAL_BYTES = 512 * _MIB
"""Every part together, unpacked."""
MAX_RATIO = 100
"""How much a part may grow when unpacked (XML from Excel or openpyxl: 5 to 20 times). Apache
POI's zip bomb check uses the same ratio."""
RATIO_GRACE_BYTES = 100 * 1024
"""Parts smaller than this unpacked are not held to MAX_RATIO (POI's grace size)."""
MAX_PARTS = 1_000
"""Parts (files) in the zip; a targets workbook has about ten."""

_CHUNK = 64 * 1024
_CELL_REFERENCE = re.compile(r"[A-Z]{1,3}[0-9]{1,7}")

UNREADABLE: tuple[type[Exception], ...] = (
    InvalidFileException,
    zipfile.BadZipFile,
    zlib.error,
    DefusedXmlException,
    SyntaxError,  # xml.etree.ElementTree.ParseError
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    EOFError,
    OSError,
)
"""What openpyxl raises reading a damaged or foreign file, or a part the checks let through."""


def check_workbook(file: IO[bytes], label: str) -> None:
    """Refuse ``file`` (an open, seekable binary file) unless it is a zip whose parts stay within
    the limits and whose XML declares no DTD; leaves the file's position anywhere."""
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ConfigError(f"{label} is not an Excel .xlsx workbook; save it as .xlsx and try again") from None
    with archive:
        parts = archive.infolist()
        _check_sizes(parts, label)
        for info in parts:
            if not info.is_dir():
                _scan(archive, info, label)


def _check_sizes(parts: list[zipfile.ZipInfo], label: str) -> None:
    # Python's zipfile never unpacks more than a part's file_size (and checks its CRC after),
    # so the sizes in the zip's directory bound what reading the parts can cost.
    if len(parts) > MAX_PARTS:
        raise ConfigError(f"{label} holds {len(parts):,} files; the limit is {MAX_PARTS:,}")
    for info in parts:
        name, size = _name(info.filename), info.file_size
        if size > MAX_PART_BYTES:
            raise ConfigError(
                f"{label}: its part {name} unpacks to {size:,} bytes; the limit is {_mib(MAX_PART_BYTES)}"
            )
        ratio = size / max(info.compress_size, 1)
        if size > RATIO_GRACE_BYTES and ratio > MAX_RATIO:
            raise ConfigError(
                f"{label}: its part {name} unpacks {ratio:,.0f} times larger than it is packed "
                f"({info.compress_size:,} to {size:,} bytes), as a zip bomb does; the limit is {MAX_RATIO}"
            )
    total = sum(info.file_size for info in parts)
    if total > MAX_TOTAL_BYTES:
        raise ConfigError(f"{label} unpacks to {total:,} bytes in all; the limit is {_mib(MAX_TOTAL_BYTES)}")


def _scan(archive: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> None:
    counter = _Counter(label, _name(info.filename), info.file_size)
    parser = create_parser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setContentHandler(counter)
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                parser.feed(chunk)
            parser.close()
    except SAXParseException as exc:
        if counter.root is None:
            return  # not XML at all (a picture, printer settings): openpyxl does not parse it
        raise ConfigError(
            f"{label}: its part {counter.part} is not well-formed XML "
            f"(line {exc.getLineNumber()}, column {exc.getColumnNumber()}: {exc.getMessage()})"
        ) from None
    except DefusedXmlException:
        raise ConfigError(
            f"{label}: its part {counter.part} declares a DTD (<!DOCTYPE …>), which Excel never writes "
            "and which XML attacks (entity expansion, external entities) need; it is refused"
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        # A CRC or size that does not match the directory, an unknown compression, a password.
        raise ConfigError(
            f"{label}: its part {counter.part} cannot be unpacked ({type(exc).__name__}); "
            "save the workbook again from Excel"
        ) from None


class _Counter(ContentHandler):
    """Counts what openpyxl would hold of one XML part, refusing as soon as a limit is passed.

    Text arrives in chunks, so a cell of a gigabyte is refused after its first 32,767
    characters, never held whole.
    """

    def __init__(self, label: str, part: str, size: int) -> None:
        super().__init__()
        self.label = label
        self.part = part
        self.size = size
        self.root: str | None = None
        self.strings = 0
        self.counting: str | None = None
        """The cell or shared string whose characters are being counted."""
        self.chars = 0
        self.formula = False

    def startElement(self, name: str, attrs: AttributesImpl) -> None:
        local = name.rpartition(":")[2]
        if self.root is None:
            self.root = local
            if local == "sst" and self.size > MAX_SHARED_STRINGS_BYTES:
                raise ConfigError(
                    f"{self.label}: its shared strings ({self.part}) unpack to {self.size:,} bytes; "
                    f"the limit is {_mib(MAX_SHARED_STRINGS_BYTES)}"
                )
        if self.root == "sst" and local == "si":
            self.strings += 1
            if self.strings > MAX_SHARED_STRINGS:
                raise ConfigError(
                    f"{self.label} has more than {MAX_SHARED_STRINGS:,} shared strings; "
                    f"the limit is {MAX_SHARED_STRINGS:,}"
                )
            self.counting, self.chars = f"shared string #{self.strings} ({self.part})", 0
        elif self.root == "worksheet" and local == "c":
            reference = attrs.get("r") or ""
            cell = reference if _CELL_REFERENCE.fullmatch(reference) else "(unnamed)"
            self.counting, self.chars = f"cell {cell} ({self.part})", 0
        elif local == "f":
            self.formula = True  # data_only: openpyxl reads the cached value, not the formula

    def endElement(self, name: str) -> None:
        local = name.rpartition(":")[2]
        if local in ("si", "c"):
            self.counting = None
        elif local == "f":
            self.formula = False

    def characters(self, content: str) -> None:
        if self.counting is None or self.formula:
            return
        self.chars += len(content)
        if self.chars > MAX_CELL_CHARS:
            raise ConfigError(
                f"{self.label}: its {self.counting} holds more than {MAX_CELL_CHARS:,} characters; "
                f"the limit is {MAX_CELL_CHARS:,} (Excel's own)"
            )


def bounded_rows(sheet: Any, label: str) -> Iterator[tuple[Any, ...]]:
    """The values of ``sheet``'s rows (an openpyxl read-only worksheet), refusing past
    ``MAX_ROWS`` rows or ``MAX_CELLS`` cells, and turning openpyxl's failures into ``ConfigError``."""
    rows = cells = 0
    iterator = sheet.iter_rows(values_only=True)
    while True:
        try:
            row = next(iterator)
        except StopIteration:
            return
        except UNREADABLE as exc:
            raise ConfigError(
                f"{label}: sheet {sheet.title!r} cannot be read ({type(exc).__name__}); "
                "open it in Excel and save it again as .xlsx"
            ) from None
        rows += 1
        cells += len(row)
        if rows > MAX_ROWS:
            raise ConfigError(
                f"{label}: sheet {sheet.title!r} has more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,}"
            )
        if cells > MAX_CELLS:
            raise ConfigError(
                f"{label}: sheet {sheet.title!r} has more than {MAX_CELLS:,} cells by row {rows:,} "
                f"(a row is as wide as its last cell); the limit is {MAX_CELLS:,}"
            )
        yield row


def _name(filename: str) -> str:
    # A part's name comes from the file: quoted, and cut, as any text from an upload.
    return repr(filename if len(filename) <= 80 else filename[:77] + "...")


def _mib(size: int) -> str:
    return f"{size:,} bytes ({size // _MIB} MiB)"
