"""Opening the store and keeping its schema at the current migration."""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, CursorResult, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from sdk import StoreError

from .exact import register_sqlite_functions

__all__ = ["Store", "inserted_id", "open_store"]

MIGRATIONS = Path(__file__).parent / "migrations"
_SQLITE_STATEMENTS = 32
"""Compiled statements each SQLite connection keeps."""
_SQLITE_CHECKPOINT_PAGES = 20_000
"""Pages (4 kB) the SQLite write-ahead log grows to before it is copied into the database."""

# SQLite keeps NUMERIC as a float; amounts carry four decimals, well inside a double's
# precision, so the conversion warning says nothing actionable for us.
warnings.filterwarnings("ignore", message=r"Dialect sqlite\+pysqlite does \*not\* support Decimal")


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


class Store:
    """A database the hub keeps everything in. Use ``open_store`` to get one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.write_lock = threading.Lock()
        """Held by sync writers: one page is written at a time, whichever thread writes it."""

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self, *, log_pages: int | None = None) -> Iterator[Connection]:
        """A connection inside one transaction, committed on success, rolled back on error.

        ``log_pages`` (SQLite) lets the write-ahead log grow to that many pages before this
        transaction's commit copies it into the database, where the default is
        ``_SQLITE_CHECKPOINT_PAGES``: a large sync's writers leave the copying to a
        ``LogCopier`` working beside them.
        """
        try:
            with self.engine.connect() as conn, _log_pages(conn, log_pages), conn.begin():
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"the store at {self.safe_url} refused an operation: {_reason(exc)}") from exc

    @property
    def sqlite_file(self) -> Path | None:
        """The database file of a SQLite store kept in a file; ``None`` for any other."""
        url = self.engine.url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        if url.query.get("mode") == "memory":
            return None
        return Path(url.database)

    def revision(self) -> str | None:
        """The migration the database is at, or ``None`` for an empty database."""
        with self._connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head(self) -> str | None:
        with self._connect() as conn:
            return ScriptDirectory.from_config(_alembic_config(conn)).get_current_head()

    def migrate(self) -> tuple[str | None, str | None]:
        """Create or upgrade the schema to the newest migration; return (before, after)."""
        before = self.revision()
        try:
            with self._connect() as conn, conn.begin():
                command.upgrade(_alembic_config(conn), "head")
        except SQLAlchemyError as exc:
            raise StoreError(f"migrating the store at {self.safe_url} failed: {_reason(exc)}") from exc
        return before, self.revision()

    def require_current(self) -> None:
        """Raise a ``StoreError`` that says to run ``kpihub init`` unless the schema is current."""
        current, head = self.revision(), self.head()
        if current != head:
            state = "is empty" if current is None else f"is at migration {current}, not {head}"
            raise StoreError(
                f"the store at {self.safe_url} {state}; run `kpihub init` to create or upgrade it"
            )

    def _connect(self) -> Connection:
        try:
            return self.engine.connect()
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot connect to the store at {self.safe_url}: {_reason(exc)}; "
                "check KPIHUB_DATABASE_URL and that the database server is running"
            ) from exc

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _log_pages(conn: Connection, pages: int | None) -> Iterator[None]:
    """SQLite's automatic checkpoint moved to ``pages`` for the connection while it is held;
    set on the driver's connection, so no transaction is begun for it."""
    if pages is None or conn.dialect.name != "sqlite":
        yield
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA wal_autocheckpoint={_SQLITE_CHECKPOINT_PAGES}")


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__


def open_store(url: str) -> Store:
    """An engine for ``url``; raises ``StoreError`` for a URL that cannot be used."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"KPIHUB_DATABASE_URL is not a database URL ({exc}); "
            "use e.g. sqlite:///kpihub.db or postgresql+psycopg://user@host/db"
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        parent = Path(parsed.database).expanduser().resolve().parent
        if not parent.is_dir():
            raise StoreError(f"the directory for the SQLite store does not exist: {parent}")
    try:
        sqlite = parsed.get_backend_name() == "sqlite"
        engine = create_engine(
            parsed,
            pool_pre_ping=True,
            json_serializer=json_text,
            # Each connection keeps its compiled statements; a sync's look-ups by lists of keys
            # compile one per list length, which kept a long SQLite sync's memory growing with
            # the default of 128. The statements a sync repeats stay within 32.
            **({"connect_args": {"cached_statements": _SQLITE_STATEMENTS}} if sqlite else {}),
        )
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        safe = parsed.render_as_string(hide_password=True)
        raise StoreError(f"cannot use the database URL {safe}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return Store(engine)


def json_text(value: Any) -> str:
    """JSON columns' text: orjson's where it can (raw records are written by the page, and the
    standard library's serialiser took a twentieth of a sync), ``json``'s where orjson refuses
    a value (integers beyond 64 bits), so what serialised before still does."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Copy the log into the database every 80 MB rather than every 4 MB: a sync's random index
    # inserts dirty the same pages again and again, and each checkpoint wrote them all out
    # (a third of a 300,000-order sync's time went to commits with the default).
    cursor.execute(f"PRAGMA wal_autocheckpoint={_SQLITE_CHECKPOINT_PAGES}")
    cursor.close()
    register_sqlite_functions(dbapi_connection)  # type: ignore[arg-type]


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key an ``INSERT`` of one row generated."""
    key = result.inserted_primary_key
    assert key is not None, "inserted_id needs the result of a single-row INSERT"
    return int(key[0])
