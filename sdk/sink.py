"""Base class for sink plugins: where the published KPI tables are pushed.

A push of one sink goes like this, the hub calling with keywords:

1. ``prepare(schemas)`` once, with the schema of every table the push covers, so the sink can
   create or find its target (a dataset, a file, a database schema), add new contract columns
   and refuse a table that cannot fit before any row moves;
2. ``push(batch, full=...)`` once per table that changed, the rows streamed in chunks;
3. ``count(table)`` where the hub checks the target against its own row count;
4. ``aclose()`` once, at the end, whatever happened.

A sink that can update a row in place (``upserts = True``, a database) receives the changed
rows; one that cannot (a Power BI push dataset, a file) receives either rows that are all new
(``full=False``: append them) or the whole table (``full=True``: replace it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from .options import CredentialSpec, PluginOptions

__all__ = ["COLUMN_TYPES", "Sink", "SinkContext", "TableBatch", "TableSchema"]

COLUMN_TYPES = ("int", "float", "decimal", "bool", "datetime", "date", "str")
"""Type names a published column may have. ``datetime`` values are aware UTC datetimes,
``decimal`` values exact ``Decimal`` (four places, or as many as ``TableSchema.places`` says:
KPI values carry ten), ``date`` values ``datetime.date``."""


@dataclass(frozen=True)
class TableSchema:
    """The shape of one published table.

    ``columns`` maps column name to a type name of ``COLUMN_TYPES``, in contract order; ``key``
    names the columns that identify a row; ``references`` maps a column to the ``(table,
    column)`` it refers to (a fact's ``metric_id`` to ``dim_metric.metric_id``), so a BI sink
    can declare relationships. ``rows`` is how many rows the hub holds for it now (None when
    unknown), so a sink can refuse a table that cannot fit before any row moves. ``places``
    gives the decimal places of decimal columns with more than four.
    """

    name: str
    columns: dict[str, str]
    key: tuple[str, ...]
    references: dict[str, tuple[str, str]] = field(default_factory=dict)
    rows: int | None = None
    description: str = ""
    places: dict[str, int] = field(default_factory=dict)
    """Decimal places of the ``decimal`` columns that have more than four (KPI values: ten).
    A sink that cannot hold that many keeps such a column as a float, and says so."""

    def decimal_places(self, column: str) -> int:
        """How many decimal places ``column`` (a ``decimal``) carries."""
        return self.places.get(column, 4)

    def __post_init__(self) -> None:
        unknown = {c: t for c, t in self.columns.items() if t not in COLUMN_TYPES}
        if unknown:
            raise ValueError(f"table {self.name!r}: unknown column types {unknown}; use {COLUMN_TYPES}")
        missing = [c for c in (*self.key, *self.references) if c not in self.columns]
        if missing:
            raise ValueError(f"table {self.name!r}: key or reference columns {missing} are not columns")


class TableBatch:
    """Rows of one published table to deliver, with their column types.

    ``columns`` maps column name to a type name (``COLUMN_TYPES``); ``key`` names the columns
    that identify a row, so a sink can upsert and a re-push is idempotent. ``rows`` may be a
    lazy iterable (the hub streams large tables in chunks): iterate it once. ``total`` is the
    number of rows it yields when known; ``progress``, when set, is called with the number of
    rows the target just accepted, for the hub's progress display.
    """

    def __init__(
        self,
        table: str,
        columns: dict[str, str],
        key: Sequence[str],
        rows: Iterable[Mapping[str, Any]],
        *,
        total: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.table = table
        self.columns = columns
        self.key = tuple(key)
        self.rows = rows
        self.total = total
        self.progress = progress

    def accepted(self, rows: int) -> None:
        """Report ``rows`` delivered (sinks call this as they go)."""
        if self.progress is not None:
            self.progress(rows)


@dataclass
class SinkContext:
    """What the hub hands a sink besides its options and credentials.

    ``transport`` (and ``sync_transport`` for libraries that need a synchronous client) carry
    the sink's HTTP requests: the hub's guard of where they may go, in tests routed to a
    simulator. Build every HTTP client on them.
    """

    sink: str = ""
    transport: httpx.AsyncBaseTransport | None = None
    sync_transport: httpx.BaseTransport | None = None


class Sink(ABC):
    """A BI tool or database the hub pushes tables into."""

    name: ClassVar[str]
    version: ClassVar[str] = "0"
    upserts: ClassVar[bool] = True
    """True when the target updates a row in place by its key; False when it can only append
    rows or replace the whole table (the hub then never sends a changed row on its own)."""

    class Options(PluginOptions):
        """Options of a configured sink; subclasses extend."""

    class Credentials(CredentialSpec):
        """Credentials of a configured sink; subclasses list their fields."""

    def __init__(
        self, options: Options, credentials: Credentials, context: SinkContext | None = None
    ) -> None:
        self.options = options
        self.credentials = credentials
        self.context = context or SinkContext()

    async def prepare(self, schemas: Sequence[TableSchema]) -> None:
        """Create or evolve the target for ``schemas`` (additively), or refuse what cannot fit.

        Called once per push, before any ``push``, with every table the push covers. Raises a
        ``ConfigError`` naming the table and the limit for a table the target cannot hold.
        """

    @abstractmethod
    async def push(self, batch: TableBatch, *, full: bool) -> int:
        """Deliver ``batch``: upsert by its key (append, for a sink that cannot upsert), or
        replace the table's rows with the batch's when ``full``.

        Returns the number of rows the target accepted. Called once per changed table per push,
        after ``prepare``.
        """

    async def count(self, table: str) -> int | None:
        """How many rows the target's ``table`` holds, or None when the target cannot say.

        Called after a push so the hub can see rows deleted on its side and rebuild.
        """
        return None

    async def aclose(self) -> None:
        """Release clients. Called once when the push is over."""

    @classmethod
    def simulator(cls, seed: int) -> Any:
        """A simulator of this BI tool (an ``sdk.simulator.Simulator``), or ``None`` (default).

        ``kpihub simulate`` serves it on loopback, like a source's.
        """
        return None
