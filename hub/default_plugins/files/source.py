"""Reading ``<table>.csv`` / ``<table>.jsonl`` files from a directory, one stream per table.

Each file is read again only when its content changes (its SHA-256 is the stream state), and
a long file resumes from the last committed line. Every record carries ``_line`` (its line
number), which is its key: re-importing an edited file replaces the raw records it had.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field

from hub.mapping.kinds import field_kind
from sdk import (
    STANDARD_RECORDS,
    Checkpoint,
    ConfigError,
    Destination,
    Partition,
    RawRecord,
    Source,
    StandardRecord,
    Stream,
)

__all__ = ["FilesSource", "identity_mapping"]

_PAGE = 500
# The transform that turns a spreadsheet cell (text) into each kind of standard column.
_TRANSFORMS: dict[str, str] = {
    "decimal": "to_decimal",
    "int": "to_int",
    "bool": "to_bool",
    "datetime": "parse_timestamp",
    "date": "parse_date",
}


def identity_mapping(record: type[StandardRecord]) -> dict[str, Any]:
    """A mapping that reads each standard column from the file column of the same name."""
    fields: dict[str, Any] = {}
    for name, info in record.model_fields.items():
        transform = _TRANSFORMS.get(field_kind(info.annotation))
        fields[name] = {"path": f'"{name}"', "transforms": [transform]} if transform else f'"{name}"'
    return {"version": 1, "targets": {record.table: {"fields": fields}}}


class FileStream(Stream):
    primary_key: ClassVar[tuple[str, ...]] = ("_line",)

    def __init__(self, source: FilesSource, record: type[StandardRecord], path: Path) -> None:
        super().__init__(source)
        self.name = record.table  # type: ignore[misc]  # one stream class serves every table
        self.record = record
        self.path = path
        self.encoding = source.options.encoding

    def mapping(self) -> dict[str, Any]:
        return identity_mapping(self.record)

    async def read(
        self, partition: Partition, state: dict[str, Any]
    ) -> AsyncIterator[RawRecord | Checkpoint]:
        content = self.path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()
        if state.get("sha256") == digest and state.get("done"):
            return
        start = int(state.get("line", 0)) if state.get("sha256") == digest else 0
        try:
            text = content.decode(self.encoding)
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{self.path} is not {self.encoding} text ({exc.reason}); set the encoding option"
            ) from None
        line = 0
        for line, record in enumerate(self._records(text), start=1):
            if line <= start:
                continue
            yield record
            if line % _PAGE == 0:
                yield Checkpoint({"sha256": digest, "line": line, "done": False})
        yield Checkpoint({"sha256": digest, "line": line, "done": True})

    def _records(self, text: str) -> Iterator[RawRecord]:
        if self.path.suffix == ".jsonl":
            for number, raw_line in enumerate(text.splitlines(), start=1):
                if raw_line.strip():
                    try:
                        value = json.loads(raw_line)
                    except json.JSONDecodeError as exc:
                        raise ConfigError(f"{self.path} line {number} is not JSON: {exc.msg}") from None
                    yield {**value, "_line": number}
            return
        for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            # Empty cells mean "no value", so the standard model's defaults apply.
            yield {**{k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()}, "_line": number}


class FilesSource(Source):
    """Standard tables from ``<table>.csv`` or ``<table>.jsonl`` files in one directory."""

    name: ClassVar[str] = "files"
    platform: ClassVar[str] = "files"
    version: ClassVar[str] = "1.0.0"

    class Options(Source.Options):
        directory: Annotated[str, Destination("input_path")] = Field(
            description="a folder in the tenant's upload area (relative paths are taken from there)"
        )
        platform: str | None = None
        encoding: str = "utf-8-sig"

    options: Options

    def streams(self) -> list[Stream]:
        directory = Path(self.options.directory).expanduser()
        if not directory.is_dir():
            raise ConfigError(f"the files connection's directory {directory} does not exist")
        streams: list[Stream] = []
        for table, record in STANDARD_RECORDS.items():
            for suffix in (".csv", ".jsonl"):
                path = directory / f"{table}{suffix}"
                if path.is_file():
                    streams.append(FileStream(self, record, path))
                    break
        return streams

    def mapping_defaults(self) -> dict[str, Any]:
        defaults = super().mapping_defaults()
        if self.options.platform:
            defaults["platform"] = self.options.platform
        return defaults

    async def check(self) -> None:
        self.streams()
