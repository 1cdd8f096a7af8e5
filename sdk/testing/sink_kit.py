"""``SinkKit``: the contract tests every sink passes, against the target it pushes into.

A sink author subclasses it, returns a configured sink from ``make_sink`` (pointed at a
simulator, a temporary database, a temporary directory …) and says in ``read_back`` how to
read a table from that target. The kit prepares and pushes small tables with a column of every
type, as the hub does, and checks what the target holds: every row delivered, a re-push
changes nothing, changed values arrive, new rows are added, a full push replaces the table,
an added column is accepted after ``prepare``, and ``count`` (when the sink can count) agrees.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Coroutine, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ..options import secret_field_names
from ..sink import Sink, TableBatch, TableSchema
from .source_checks import SECRET_NAME
from .source_kit import verdict

__all__ = ["SinkKit", "sample_rows", "sample_schema"]

T = TypeVar("T")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")

TABLE = "kit_fact"
COLUMNS = {
    "metric_id": "str",
    "period_start": "date",
    "value": "decimal",
    "ratio": "float",
    "units": "int",
    "on_target": "bool",
    "computed_at": "datetime",
}
KEY = ("metric_id", "period_start")


def sample_rows(rows: int = 6, *, bump: int = 0, extra_column: bool = False) -> list[dict[str, Any]]:
    """Rows with a column of every type; ``bump`` changes values, ``extra_column`` adds ``note``."""
    out = []
    for n in range(rows):
        row: dict[str, Any] = {
            "metric_id": ("gmv", "orders")[n % 2],
            "period_start": dt.date(2026, 1, 1) + dt.timedelta(days=n // 2),
            "value": Decimal(1000 + 37 * n + bump) / 100,
            "ratio": (n + 1 + bump) / 8,
            "units": 3 * n + bump,
            "on_target": (n + bump) % 3 == 0,
            "computed_at": dt.datetime(2026, 2, 1, 8, n, tzinfo=dt.UTC),
        }
        if extra_column:
            row["note"] = f"row {n}"
        out.append(row)
    return out


def sample_schema(*, extra_column: bool = False, rows: int | None = None) -> TableSchema:
    """The schema of the kit's table, optionally with the added column ``note``."""
    columns = dict(COLUMNS, note="str") if extra_column else dict(COLUMNS)
    return TableSchema(TABLE, columns, KEY, rows=rows, description="the contract kit's sample table")


def _normal(value: Any) -> Any:
    """One comparable form across targets that store types differently."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return round(float(value), 6)
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and _TIMESTAMP.match(value):  # a target that holds JSON text
        return _normal(dt.datetime.fromisoformat(value))
    return str(value)


def _by_key(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(_normal(r.get(k)) for k in KEY): {c: _normal(r.get(c)) for c in columns} for r in rows}


class SinkKit:
    """Contract tests for ``sink``: define ``make_sink`` and ``read_back``."""

    sink: ClassVar[type[Sink]]

    def make_sink(self, tmp_path: Path) -> Sink:
        """A configured sink whose target is empty. Called once per test."""
        raise NotImplementedError(f"{type(self).__name__} must define make_sink(self, tmp_path)")

    def read_back(self, sink: Sink, table: str) -> list[dict[str, Any]]:
        """Every row the target holds for ``table``, as dicts by column name."""
        raise NotImplementedError(f"{type(self).__name__} must define read_back(self, sink, table)")

    def _push(self, sink: Sink, rows: list[dict[str, Any]], *, full: bool, extra: bool = False) -> int:
        schema = sample_schema(extra_column=extra, rows=len(rows))

        async def push() -> int:
            await sink.prepare([schema])
            return await sink.push(TableBatch(TABLE, schema.columns, KEY, rows, total=len(rows)), full=full)

        return self._await(push())

    def _compare(self, sink: Sink, rows: list[dict[str, Any]], what: str) -> list[str]:
        columns = list(rows[0])
        held = self.read_back(sink, TABLE)
        want, got = _by_key(rows, columns), _by_key(held, columns)
        problems = []
        if len(held) != len(rows):
            problems.append(f"{what}: the target holds {len(held)} rows, expected {len(rows)}")
        for key, row in want.items():
            if key not in got:
                problems.append(f"{what}: row {key} is missing")
            elif got[key] != row:
                diff = {c: (v, got[key].get(c)) for c, v in row.items() if got[key].get(c) != v}
                problems.append(f"{what}: row {key} differs (expected, got): {diff}")
        counted = self._await(sink.count(TABLE))
        if counted is not None and counted != len(held):
            problems.append(f"{what}: count() says {counted} rows, the target holds {len(held)}")
        return problems

    def _await(self, awaitable: Coroutine[Any, Any, T]) -> T:
        # One event loop per test, as in one hub push: a sink may keep clients bound to it.
        loop = self.__dict__.get("_kit_loop")
        if loop is None or loop.is_closed():
            loop = self.__dict__["_kit_loop"] = asyncio.new_event_loop()
        return loop.run_until_complete(awaitable)

    def _close(self, sink: Sink) -> None:
        try:
            self._await(sink.aclose())
        finally:
            loop = self.__dict__.pop("_kit_loop")
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def test_options_refuse_unknown_keys_and_secrets_are_marked(self, tmp_path: Path) -> None:
        sink = self.make_sink(tmp_path)
        self._close(sink)
        problems = []
        for what in ("Options", "Credentials"):
            model = getattr(type(sink), what)
            if model.model_config.get("extra") != "forbid":
                problems.append(f"{type(sink).__name__}.{what} must refuse unknown keys (extra='forbid')")
        secret = set(secret_field_names(type(sink).Credentials))
        problems += [
            f"{type(sink).__name__}.Credentials.{name} holds a secret: type it pydantic.SecretStr"
            for name in type(sink).Credentials.model_fields
            if SECRET_NAME.search(name) and name not in secret
        ]
        verdict(problems, "sink options")

    def test_push_delivers_every_row(self, tmp_path: Path) -> None:
        sink = self.make_sink(tmp_path)
        try:
            rows = sample_rows()
            accepted = self._push(sink, rows, full=not sink.upserts)
            problems = self._compare(sink, rows, "after one push")
            if accepted != len(rows):
                problems.append(f"push() returned {accepted}, not the {len(rows)} rows it accepted")
        finally:
            self._close(sink)
        verdict(problems, "push")

    def test_repush_is_idempotent_and_updates_changed_rows(self, tmp_path: Path) -> None:
        # A sink that cannot upsert gets the whole table again (full), as the hub sends it.
        sink = self.make_sink(tmp_path)
        full = not sink.upserts
        try:
            self._push(sink, sample_rows(), full=full)
            self._push(sink, sample_rows(), full=full)
            problems = self._compare(sink, sample_rows(), "after pushing the same rows twice")
            changed = sample_rows(bump=5)
            self._push(sink, changed, full=full)
            problems += self._compare(sink, changed, "after pushing changed values")
        finally:
            self._close(sink)
        verdict(problems, "re-push")

    def test_new_rows_are_added_to_the_table(self, tmp_path: Path) -> None:
        sink = self.make_sink(tmp_path)
        try:
            rows = sample_rows(8)
            self._push(sink, rows[:5], full=False)
            self._push(sink, rows[5:], full=False)
            problems = self._compare(sink, rows, "after pushing 5 rows, then 3 new ones")
        finally:
            self._close(sink)
        verdict(problems, "incremental push")

    def test_full_push_replaces_the_table(self, tmp_path: Path) -> None:
        sink = self.make_sink(tmp_path)
        try:
            self._push(sink, sample_rows(6), full=True)
            fewer = sample_rows(2, bump=1)
            self._push(sink, fewer, full=True)
            problems = self._compare(sink, fewer, "after a full push of 2 rows over 6")
        finally:
            self._close(sink)
        verdict(problems, "full push")

    def test_added_column_is_accepted(self, tmp_path: Path) -> None:
        sink = self.make_sink(tmp_path)
        try:
            self._push(sink, sample_rows(), full=True)
            wider = sample_rows(extra_column=True)
            self._push(sink, wider, full=not sink.upserts, extra=True)
            problems = self._compare(sink, wider, "after prepare() and a push with an added column 'note'")
        finally:
            self._close(sink)
        verdict(problems, "schema evolution (columns may be added within a contract version)")
