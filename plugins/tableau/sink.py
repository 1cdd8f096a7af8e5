"""The Tableau sink: the published tables as ``.hyper`` extracts in a directory, optionally
published to Tableau Server / Cloud as data sources (``Overwrite``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, model_validator

from sdk import ConfigError, Destination, Sink, SinkContext, TableBatch, TableSchema

from .hyper import HyperWriter
from .publish import TableauPublisher

__all__ = ["HyperSink", "TableauCredentials", "TableauOptions"]


class TableauOptions(Sink.Options):
    """Where the extracts are written, and where they are published (when ``server_url`` is set)."""

    directory: Annotated[str | None, Destination("output_path")] = Field(
        default=None, min_length=1, description="folder of the .hyper files, one per table"
    )
    file: Annotated[str | None, Destination("output_path")] = Field(
        default=None,
        min_length=1,
        description="one .hyper file holding every table (as Extract.<table>), instead of directory",
    )
    server_url: Annotated[str | None, Destination("url", hosts=("*.online.tableau.com",))] = Field(
        default=None,
        description="Tableau Cloud URL, or a Tableau Server the hub's operator allows; unset: no publishing",
    )
    site: str = Field(default="", description="the site's content URL ('' is the default site)")
    project: str = Field(default="Default", description="project the data sources are published in")
    datasource_prefix: str = Field(
        default="", description="prefix of the data source names (default: table names)"
    )
    api_version: str = Field(default="3.19", pattern=r"^\d+\.\d+$")
    chunk_bytes: int = Field(
        default=64 * 2**20, ge=2**20, description="files above this go up in chunks of this size"
    )

    @model_validator(mode="after")
    def _one_target(self) -> TableauOptions:
        if (self.directory is None) == (self.file is None):
            raise ValueError(
                "give the Tableau sink either directory (one .hyper per table) or file (one .hyper "
                "holding every table), not both or neither"
            )
        if self.file is not None and self.server_url:
            raise ValueError(
                "publishing needs one extract per data source: use directory instead of file, "
                "or unset server_url"
            )
        return self


class TableauCredentials(Sink.Credentials):
    """A personal access token, needed only to publish."""

    documentation = "Tableau: My Account Settings > Personal Access Tokens (name and secret)"

    pat_name: str | None = None
    pat_secret: SecretStr | None = None


class HyperSink(Sink):
    """Writes each table to ``<directory>/<table>.hyper`` (or every table into ``file``); each
    write goes to a copy that then replaces the file, so a push stopped midway leaves the
    previous extract untouched. With a server, each written extract is then published over its
    data source."""

    name = "tableau"
    version = "0.1.0"
    upserts = False

    class Options(TableauOptions):
        """See ``TableauOptions``."""

    class Credentials(TableauCredentials):
        """See ``TableauCredentials``."""

    options: TableauOptions
    credentials: TableauCredentials

    def __init__(
        self, options: TableauOptions, credentials: TableauCredentials, context: SinkContext | None = None
    ) -> None:
        super().__init__(options, credentials, context)
        self._writer: HyperWriter | None = None
        self._schemas: dict[str, TableSchema] = {}
        self.publisher: TableauPublisher | None = None

    async def prepare(self, schemas: Sequence[TableSchema]) -> None:
        one_file = self.options.file is not None
        target = Path(self.options.file or self.options.directory or "").expanduser()
        if one_file and target.is_dir():
            raise ConfigError(f"the Tableau sink's file {target} is a folder; name a .hyper file")
        if not one_file and target.exists() and not target.is_dir():
            raise ConfigError(f"the Tableau sink's directory {target} is a file; name a folder")
        self._schemas = {s.name: s for s in schemas}
        if self.options.server_url and self.publisher is None:
            name, secret = self.credentials.pat_name, self.credentials.pat_secret
            if not name or secret is None:
                raise ConfigError(
                    "publishing to Tableau needs a personal access token: add pat_name and pat_secret "
                    "to the sink's credentials, or unset server_url"
                )
            self.publisher = TableauPublisher(
                self.options.server_url,
                site=self.options.site,
                project=self.options.project,
                pat_name=name,
                pat_secret=secret.get_secret_value(),
                api_version=self.options.api_version,
                chunk_bytes=self.options.chunk_bytes,
                transport=self.context.transport,
            )
            await self.publisher.sign_in()
        if self._writer is None:
            self._writer = await asyncio.to_thread(HyperWriter, target, one_file=one_file)

    async def push(self, batch: TableBatch, *, full: bool) -> int:
        schema = self._schemas.get(batch.table)
        if schema is None or self._writer is None:
            raise ConfigError(f"table {batch.table!r} was not prepared; prepare() comes before push()")
        writer = self._writer
        written = await asyncio.to_thread(
            writer.write, schema, batch.rows, append=not full, accepted=batch.accepted
        )
        if self.publisher is not None:
            await self.publisher.publish(
                writer.path(batch.table), self.options.datasource_prefix + batch.table
            )
        return written

    async def aclose(self) -> None:
        try:
            if self.publisher is not None:
                await self.publisher.aclose()
        finally:
            if self._writer is not None:
                await asyncio.to_thread(self._writer.close)
                self._writer = None

    @classmethod
    def simulator(cls, seed: int) -> Any:
        """A Tableau site (sign-in, projects, data-source publishing) for trying publishing."""
        from .simulator import TableauSimulator

        return TableauSimulator()
