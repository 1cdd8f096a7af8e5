"""The Tableau sink: the published tables as ``.hyper`` extracts in a directory."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from sdk import ConfigError, Sink, TableBatch, TableSchema

from .hyper import HyperWriter

__all__ = ["HyperSink", "TableauOptions"]


class TableauOptions(Sink.Options):
    """Where the extracts are written."""

    directory: str = Field(min_length=1, description="folder of the .hyper files, one per table")


class HyperSink(Sink):
    """Writes each table to ``<directory>/<table>.hyper``; appends copy the file first, so a
    push stopped midway leaves the previous extract untouched."""

    name = "tableau"
    version = "0.1.0"
    upserts = False

    class Options(TableauOptions):
        """See ``TableauOptions``."""

    options: TableauOptions

    def __init__(self, options: TableauOptions, credentials: Sink.Credentials) -> None:
        super().__init__(options, credentials)
        self._writer: HyperWriter | None = None
        self._schemas: dict[str, TableSchema] = {}

    async def prepare(self, schemas: Sequence[TableSchema]) -> None:
        directory = Path(self.options.directory).expanduser()
        if directory.exists() and not directory.is_dir():
            raise ConfigError(f"the Tableau sink's directory {directory} is a file; name a folder")
        self._schemas = {s.name: s for s in schemas}
        if self._writer is None:
            self._writer = await asyncio.to_thread(HyperWriter, directory)

    async def push(self, batch: TableBatch, *, full: bool) -> int:
        schema = self._schemas.get(batch.table)
        if schema is None or self._writer is None:
            raise ConfigError(f"table {batch.table!r} was not prepared; prepare() comes before push()")
        writer = self._writer
        return await asyncio.to_thread(
            writer.write, schema, batch.rows, append=not full, accepted=batch.accepted
        )

    async def aclose(self) -> None:
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)
            self._writer = None
