"""Base class for sink plugins: where the published KPI tables are pushed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from .options import CredentialSpec, PluginOptions

__all__ = ["Sink", "TableBatch"]


class TableBatch:
    """Rows of one published table to deliver, with their column types.

    ``columns`` maps column name to a type name (``int``, ``float``, ``decimal``, ``bool``,
    ``datetime``, ``date``, ``str``); ``key`` names the columns that identify a row, so a sink
    can upsert and a re-push is idempotent.
    """

    def __init__(
        self,
        table: str,
        columns: dict[str, str],
        key: Sequence[str],
        rows: Sequence[dict[str, Any]],
    ) -> None:
        self.table = table
        self.columns = columns
        self.key = tuple(key)
        self.rows = rows


class Sink(ABC):
    """A BI tool or database the hub pushes tables into."""

    name: ClassVar[str]
    version: ClassVar[str] = "0"

    class Options(PluginOptions):
        """Options of a configured sink; subclasses extend."""

    class Credentials(CredentialSpec):
        """Credentials of a configured sink; subclasses list their fields."""

    def __init__(self, options: Options, credentials: Credentials) -> None:
        self.options = options
        self.credentials = credentials

    @abstractmethod
    async def push(self, batch: TableBatch, *, full: bool) -> int:
        """Deliver ``batch`` (upsert by its key; replace the table first when ``full``).

        Returns the number of rows the target accepted. Called once per table per push.
        """

    async def aclose(self) -> None:
        """Release clients. Called once when the push is over."""
