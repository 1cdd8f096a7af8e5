"""The database sink: prepare tables, write rows by upsert (COPY + merge on PostgreSQL), count."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Annotated, Any

from pydantic import Field, SecretStr
from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from sdk import ConfigError, Destination, KpihubError, Sink, SinkContext, TableBatch, TableSchema

from .errors import cannot_connect, translate
from .schema import add_missing_columns, row_converter, sql_table
from .writes import copy_merge, delete_all, upsert_rows

__all__ = ["DatabaseCredentials", "DatabaseOptions", "DatabaseSink"]


class DatabaseOptions(Sink.Options):
    """Where in the database the tables go, and how many rows one statement carries."""

    db_schema: str | None = Field(
        default=None, description="database schema (PostgreSQL) the tables are created in; default the URL's"
    )
    batch_size: int = Field(default=5_000, ge=1, le=100_000, description="rows per statement")
    use_copy: bool = Field(default=True, description="PostgreSQL with psycopg: COPY, then merge")


class DatabaseCredentials(Sink.Credentials):
    """The SQLAlchemy URL of the seller's database; it may carry a password, so it is a secret."""

    documentation = (
        "a SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host/db, "
        "mysql+pymysql://user:password@host/db or sqlite:///path/kpis.db"
    )

    url: Annotated[SecretStr, Destination("database_url")]


class DatabaseSink(Sink):
    """Writes each published table into a table of the same name, upserting by its key."""

    name = "database"
    version = "0.1.0"
    upserts = True

    class Options(DatabaseOptions):
        """See ``DatabaseOptions``."""

    class Credentials(DatabaseCredentials):
        """See ``DatabaseCredentials``."""

    options: DatabaseOptions
    credentials: DatabaseCredentials

    def __init__(
        self, options: DatabaseOptions, credentials: DatabaseCredentials, context: SinkContext | None = None
    ) -> None:
        super().__init__(options, credentials, context)
        self._engine: Engine | None = None
        self._metadata = MetaData(schema=options.db_schema)
        self._tables: dict[str, Table] = {}

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = _engine(self.credentials.url.get_secret_value())
        return self._engine

    async def prepare(self, schemas: Sequence[TableSchema]) -> None:
        await asyncio.to_thread(self._prepare, schemas)

    async def push(self, batch: TableBatch, *, full: bool) -> int:
        return await asyncio.to_thread(self._push, batch, full)

    async def count(self, table: str) -> int | None:
        return await asyncio.to_thread(self._count, table)

    async def aclose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def _prepare(self, schemas: Sequence[TableSchema]) -> None:
        with self._begin("creating or evolving tables") as conn:
            for schema in schemas:
                if schema.name in self._tables:
                    self._metadata.remove(self._tables[schema.name])
                table = self._tables[schema.name] = sql_table(schema, self._metadata)
                add_missing_columns(conn, table)

    def _push(self, batch: TableBatch, full: bool) -> int:
        table = self._table(batch.table)
        aware = self.engine.dialect.name == "postgresql"
        convert = row_converter(batch.columns, aware=aware)
        rows = (convert(row) for row in batch.rows)
        written = 0
        # One transaction per table: a reader sees the old rows or the new ones, and a push
        # killed midway leaves the table as it was.
        with self._begin(f"writing table {batch.table!r}", batch.table) as conn:
            if full:
                delete_all(conn, table)
            for chunk in _chunks(rows, self.options.batch_size):
                if self._copies(conn):
                    copy_merge(conn, table, batch.key, chunk, empty=full)
                else:
                    upsert_rows(conn, table, batch.key, chunk)
                written += len(chunk)
                batch.accepted(len(chunk))
        return written

    def _count(self, name: str) -> int:
        table = self._table(name)
        with self._begin(f"counting table {name!r}") as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def _table(self, name: str) -> Table:
        try:
            return self._tables[name]
        except KeyError:
            raise ConfigError(f"table {name!r} was not prepared; prepare() comes before push()") from None

    def _copies(self, conn: Connection) -> bool:
        dialect = conn.dialect
        return self.options.use_copy and dialect.name == "postgresql" and dialect.driver == "psycopg"

    def _begin(self, doing: str, table: str | None = None) -> _Transaction:
        return _Transaction(self.engine, doing, table)


class _Transaction:
    """``engine.begin()`` whose database errors become sdk errors (``errors.translate``)."""

    def __init__(self, engine: Engine, doing: str, table: str | None) -> None:
        self._engine = engine
        self._doing = doing
        self._table = table
        self._context: Any = None

    def __enter__(self) -> Connection:
        try:
            self._context = self._engine.begin()
            conn: Connection = self._context.__enter__()
        except SQLAlchemyError as exc:
            raise cannot_connect(exc, self._engine) from None
        return conn

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._context.__exit__(*exc_info)
        except Exception as exc:  # the commit's own failure
            if (error := self._translate(exc)) is None:
                raise
            raise error from None
        if exc_info[1] is not None and (error := self._translate(exc_info[1])) is not None:
            raise error from None

    def _translate(self, exc: BaseException) -> KpihubError | None:
        return translate(exc, engine=self._engine, doing=self._doing, table=self._table)


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
        return create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError):
        raise ConfigError(
            "the database sink's url is not a usable SQLAlchemy URL; use e.g. "
            "postgresql+psycopg://user:password@host/db, mysql+pymysql://user@host/db or sqlite:///kpis.db"
        ) from None


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
