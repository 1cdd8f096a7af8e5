"""Crafted workbooks are refused with a ConfigError naming the problem and the limit, before
they cost memory: zip bombs, huge cells and shared strings, entity attacks, broken packages."""

from __future__ import annotations

import base64
import io
import os
import tracemalloc
import zipfile

import defusedxml.ElementTree
import openpyxl.xml
import openpyxl.xml.functions
import pytest
from crafted_xlsx import (
    BILLION_LAUGHS,
    external_entity,
    header_row,
    huge_shared_string,
    inline,
    no_worksheet,
    package,
    ratio_bomb,
    shared_strings,
    sheet,
    workbook,
)

from hub.kpi import xlsx_limits
from hub.kpi.xlsx import read_targets_xlsx
from sdk import ConfigError

MiB = 2**20


def refusal(data: bytes) -> str:
    with pytest.raises(ConfigError) as caught:
        read_targets_xlsx(io.BytesIO(data), name="crafted.xlsx")
    return str(caught.value)


def peak_while_refused(data: bytes) -> tuple[str, int]:
    """The refusal's message, and the most memory Python held while reading up to it."""
    tracemalloc.start()
    try:
        message = refusal(data)
        return message, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_openpyxl_parses_with_defusedxml():
    assert openpyxl.xml.DEFUSEDXML is True
    assert openpyxl.xml.functions.iterparse is defusedxml.ElementTree.iterparse


def test_a_gigabyte_shared_string_is_refused_before_it_is_unpacked():
    data = huge_shared_string()
    assert len(data) < 8 * MiB
    message, peak = peak_while_refused(data)
    size = 2**30 + len(b"".join(shared_strings(b"")))
    assert message == (
        f"crafted.xlsx: its part 'xl/sharedStrings.xml' unpacks to {size:,} bytes; "
        "the limit is 268,435,456 bytes (256 MiB)"
    )
    assert peak < 50 * MiB


def test_a_long_cell_is_refused_as_it_streams_and_named():
    # 20 MB of text that does not compress much: only the cell's own length can refuse it.
    text = base64.b64encode(os.urandom(15 * MiB)).decode()
    data = workbook(sheet=sheet(header_row(), f'<row r="7">{inline("B7", text)}</row>'))
    message, peak = peak_while_refused(data)
    assert message == (
        "crafted.xlsx: its cell B7 ('xl/worksheets/sheet1.xml') holds more than 32,767 characters; "
        "the limit is 32,767 (Excel's own)"
    )
    assert peak < 8 * MiB
    long_string = workbook(
        shared=b"".join(shared_strings(b"x" * 40_000)),
        sheet=sheet(header_row(), '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'),
    )
    assert "its shared string #1 ('xl/sharedStrings.xml') holds more than 32,767 characters" in refusal(
        long_string
    )
    # Exactly Excel's limit is a cell like any other (column G is none of the header's: no target).
    at_limit = workbook(sheet=sheet(header_row(), f'<row r="2">{inline("G2", "x" * 32_767)}</row>'))
    assert read_targets_xlsx(io.BytesIO(at_limit)) == []


def test_a_part_packed_a_thousand_to_one_is_refused():
    message = refusal(ratio_bomb())
    assert message.startswith("crafted.xlsx: its part 'xl/worksheets/sheet1.xml' unpacks 1,0")
    assert "times larger than it is packed" in message and message.endswith(
        "as a zip bomb does; the limit is 100"
    )


def test_the_unpacked_total_and_the_number_of_parts_are_capped(monkeypatch):
    monkeypatch.setattr(xlsx_limits, "MAX_TOTAL_BYTES", 2 * MiB)
    padding = {f"docProps/pad{i}.bin": os.urandom(MiB) for i in range(3)}
    assert refusal(workbook(extra=padding)).startswith("crafted.xlsx unpacks to 3,")
    assert refusal(workbook(extra=padding)).endswith("bytes in all; the limit is 2,097,152 bytes (2 MiB)")
    monkeypatch.undo()
    many = {f"customXml/item{i}.xml": b"<a/>" for i in range(1_000)}
    assert refusal(workbook(extra=many)) == "crafted.xlsx holds 1,009 files; the limit is 1,000"


@pytest.mark.parametrize("part", ["sheet", "workbook", "content_types", "shared"])
def test_billion_laughs_are_refused_in_any_part(part):
    if part == "sheet":
        data = workbook(
            sheet=sheet(header_row(), f'<row r="2">{inline("A2", "&lol9;")}</row>', prolog=BILLION_LAUGHS)
        )
    elif part == "shared":
        data = workbook(shared=BILLION_LAUGHS.encode() + b"".join(shared_strings(b"&lol9;")))
    else:
        original = {"workbook": "xl/workbook.xml", "content_types": "[Content_Types].xml"}[part]
        with zipfile.ZipFile(io.BytesIO(workbook())) as archive:
            content = archive.read(original)
        data = workbook(**{part: BILLION_LAUGHS.encode() + content})
    message = refusal(data)
    assert "declares a DTD (<!DOCTYPE …>), which Excel never writes" in message
    assert "lollol" not in message


def test_an_external_entity_is_refused_and_the_file_it_names_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    row = f'<row r="2">{inline("A2", "gmv")}{inline("B2", "&xxe;")}</row>'
    data = workbook(sheet=sheet(header_row(), row, prolog=external_entity(str(secret))))
    message = refusal(data)
    assert message.startswith("crafted.xlsx: its part 'xl/worksheets/sheet1.xml' declares a DTD")
    assert "TOP-SECRET-42" not in message


def test_broken_packages_are_clear_errors():
    assert (
        refusal(no_worksheet()) == "crafted.xlsx has no worksheet; put the targets on a sheet named targets"
    )
    assert "is not an Excel .xlsx workbook" in refusal(b"metric_id,grain\n")
    assert "is not an Excel .xlsx workbook" in refusal(workbook()[:-100])
    assert "is not an Excel .xlsx workbook" in refusal(package({"notes.txt": b"hello"}))
    broken = refusal(workbook(sheet=b'<worksheet xmlns="x"><sheetData><row r="1">'))
    assert broken.startswith(
        "crafted.xlsx: its part 'xl/worksheets/sheet1.xml' is not well-formed XML (line 1"
    )


def test_rows_and_cells_are_counted_as_openpyxl_yields_them():
    # A jump to row 1,000,000 makes openpyxl yield every empty row in between.
    far = sheet(header_row(), f'<row r="1000000">{inline("A1000000", "gmv")}</row>')
    assert refusal(workbook(sheet=far)) == (
        "crafted.xlsx: sheet 'targets' has more than 200,000 rows; the limit is 200,000"
    )
    # One cell in column XFD makes a row of 16,384 cells.
    wide = [f'<row r="{r}">{inline(f"XFD{r}", "x")}</row>' for r in range(2, 300)]
    message = refusal(workbook(sheet=sheet(header_row(), *wide)))
    assert message.startswith("crafted.xlsx: sheet 'targets' has more than 4,000,000 cells by row 24")
    assert message.endswith("the limit is 4,000,000")
