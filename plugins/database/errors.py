"""The target database's errors, translated once, at the sink's boundary.

A row the client's table refuses (a NOT NULL column the published rows do not fill, a unique
index or a foreign key the client added, a column too narrow for the values) is a
``ConfigError``: retrying cannot help until someone changes the table. Any other database error
is a ``StoreError``. Messages name the table and, where the database says which, the column;
they never quote the database's URL or a row's values (PostgreSQL's DETAIL line and MySQL's
duplicate-entry message quote the row).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from sdk import ConfigError, KpihubError, StoreError

__all__ = ["cannot_connect", "translate"]

_NOT_NULL_SQLSTATE = "23502"
# MySQL/MariaDB codes PyMySQL does not class as integrity or data errors: "Field 'x' doesn't have
# a default value", a CHECK constraint (MySQL's code, then MariaDB's).
_MYSQL_NOT_NULL = frozenset({1048, 1364})
_MYSQL_REFUSED = frozenset({3819, 4025})
_MYSQL_COLUMN = re.compile(r"(?:[Cc]olumn|Field) '([^']{1,64})'")
_SQLITE_NOT_NULL = re.compile(r"NOT NULL constraint failed: [^.]+\.(.{1,64})$")


def cannot_connect(exc: SQLAlchemyError, engine: Engine) -> StoreError:
    original = getattr(exc, "orig", None) or exc
    return StoreError(f"cannot connect to the target database {_safe(engine)}: {_first_line(original)}")


def translate(exc: BaseException, *, engine: Engine, doing: str, table: str | None) -> KpihubError | None:
    """The sdk error for ``exc`` raised while ``doing`` (on ``table``, when writing one), or
    ``None`` when it is no database error. COPY on PostgreSQL raises the driver's own errors."""
    dbapi = engine.dialect.dbapi
    if isinstance(exc, SQLAlchemyError):
        original: Any = getattr(exc, "orig", None) or exc
    elif dbapi is not None and isinstance(exc, dbapi.Error):
        original = exc
    else:
        return None
    not_null, column = _not_null(original)
    where = f"table {table!r}" if table else "the target table"
    if not_null:
        held = f"its column {column!r} is NOT NULL" if column else "one of its columns is NOT NULL"
        return ConfigError(
            f"the target database refused the rows for {where}: {held} without a default, and the "
            "published rows do not fill it; drop the column, allow NULL in it or give it a default"
        )
    if (
        isinstance(exc, IntegrityError | DataError)
        or (dbapi is not None and isinstance(original, dbapi.IntegrityError | dbapi.DataError))
        or _mysql_code(original) in _MYSQL_REFUSED
    ):
        named = f" (column {column!r})" if column else ""
        return ConfigError(
            f"the target database refused the rows for {where}{named}: they break a constraint or a "
            "column type of the client's table (a unique index, a foreign key, a check, a column too "
            "narrow for the values); the sink writes the published columns by their key, so drop or "
            "widen what the table adds to them"
        )
    return StoreError(f"{doing} in {_safe(engine)} failed: {_first_line(original)}")


def _not_null(original: Any) -> tuple[bool, str | None]:
    """Whether ``original`` (the driver's error) is a NOT NULL violation, and the column it
    names, if any."""
    code = _mysql_code(original)
    if code is not None:
        found = _MYSQL_COLUMN.search(str(original.args[1]))
        return code in _MYSQL_NOT_NULL, found.group(1) if found else None
    diag = getattr(original, "diag", None)  # psycopg
    if diag is not None:
        return getattr(original, "sqlstate", None) == _NOT_NULL_SQLSTATE, diag.column_name
    found = _SQLITE_NOT_NULL.search(str(original))
    return (True, found.group(1)) if found else (False, None)


def _mysql_code(original: Any) -> int | None:
    args: tuple[Any, ...] = getattr(original, "args", ())
    # PyMySQL's errors carry (code, message).
    return args[0] if len(args) == 2 and isinstance(args[0], int) else None


def _safe(engine: Engine) -> str:
    """The target, named without any part of its URL that is the secret credential: server,
    port and database, never the user or password; a SQLite file by its kind alone."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return "(its SQLite file)"
    where = f"{url.host}:{url.port}" if url.port else str(url.host)
    return f"({url.get_backend_name()} at {where}, database {url.database})"


def _first_line(original: Any) -> str:
    # Drivers put the row in later lines (PostgreSQL's DETAIL), so only the first is shown.
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__
