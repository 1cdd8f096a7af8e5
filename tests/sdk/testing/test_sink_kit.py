"""The sink kit passes sinks that keep the contract and fails one that does not.

The sinks here are small but real: one writes a SQLite file (upserts by key, adds columns in
``prepare``), one writes a JSON Lines file (cannot upsert: appends or replaces).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal

import pytest

from sdk import Sink
from sdk.testing import SinkKit

SQL_TYPES = {"int": "INTEGER", "float": "REAL", "decimal": "TEXT", "bool": "INTEGER"}


class SqliteSink(Sink):
    name = "kit_sqlite"

    class Options(Sink.Options):
        path: str

    def _db(self):
        return sqlite3.connect(self.options.path)

    async def prepare(self, schemas):
        with self._db() as db:
            for schema in schemas:
                columns = ", ".join(f'"{c}" {SQL_TYPES.get(t, "TEXT")}' for c, t in schema.columns.items())
                key = ", ".join(f'"{c}"' for c in schema.key)
                db.execute(f'CREATE TABLE IF NOT EXISTS "{schema.name}" ({columns}, PRIMARY KEY ({key}))')
                held = {row[1] for row in db.execute(f'PRAGMA table_info("{schema.name}")')}
                for column, kind in schema.columns.items():
                    if column not in held:
                        db.execute(
                            f'ALTER TABLE "{schema.name}" ADD COLUMN "{column}" {SQL_TYPES.get(kind, "TEXT")}'
                        )

    async def push(self, batch, *, full):
        rows = [{c: _sql(v) for c, v in row.items()} for row in batch.rows]
        with self._db() as db:
            if full:
                db.execute(f'DELETE FROM "{batch.table}"')
            columns = list(batch.columns)
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            db.executemany(
                f'INSERT OR REPLACE INTO "{batch.table}" ({names}) VALUES ({marks})',
                [[row.get(c) for c in columns] for row in rows],
            )
        return len(rows)

    async def count(self, table):
        with self._db() as db:
            return db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]


class AppendingSink(SqliteSink):
    """Claims to upsert but appends: a re-push duplicates every row."""

    name = "kit_appending"

    async def prepare(self, schemas):
        with self._db() as db:
            for schema in schemas:
                columns = ", ".join(f'"{c}"' for c in schema.columns)
                db.execute(f'CREATE TABLE IF NOT EXISTS "{schema.name}" ({columns})')

    async def push(self, batch, *, full):
        rows = list(batch.rows)
        with self._db() as db:
            held = {row[1] for row in db.execute(f'PRAGMA table_info("{batch.table}")')}
            columns = [c for c in batch.columns if c in held]  # new columns silently dropped
            marks = ", ".join("?" for _ in columns)
            db.executemany(
                f'INSERT INTO "{batch.table}" ({", ".join(columns)}) VALUES ({marks})',
                [[_sql(row.get(c)) for c in columns] for row in rows],
            )
        return len(rows)


class JsonLinesSink(Sink):
    """A file per table; it cannot update a row in place."""

    name = "kit_jsonl"
    upserts = False

    class Options(Sink.Options):
        directory: str

    async def push(self, batch, *, full):
        path = f"{self.options.directory}/{batch.table}.jsonl"
        lines = [json.dumps({c: _sql(v) for c, v in row.items()}) + "\n" for row in batch.rows]
        with open(path, "w" if full else "a", encoding="utf-8") as handle:
            handle.writelines(lines)
        return len(lines)


def _sql(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _read_sqlite(sink, table):
    with sqlite3.connect(sink.options.path) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(row) for row in db.execute(f'SELECT * FROM "{table}"')]
    for row in rows:
        row["computed_at"] = dt.datetime.fromisoformat(row["computed_at"])
        row["on_target"] = bool(row["on_target"])
        row["value"] = Decimal(row["value"])
    return rows


class TestSqliteSinkContract(SinkKit):
    sink = SqliteSink

    def make_sink(self, tmp_path):
        return SqliteSink(SqliteSink.Options(path=str(tmp_path / "target.db")), SqliteSink.Credentials())

    def read_back(self, sink, table):
        return _read_sqlite(sink, table)


class TestJsonLinesSinkContract(SinkKit):
    sink = JsonLinesSink

    def make_sink(self, tmp_path):
        return JsonLinesSink(JsonLinesSink.Options(directory=str(tmp_path)), JsonLinesSink.Credentials())

    def read_back(self, sink, table):
        path = f"{sink.options.directory}/{table}.jsonl"
        with open(path, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
        for row in rows:
            row["computed_at"] = dt.datetime.fromisoformat(row["computed_at"])
            row["value"] = Decimal(row["value"])
        return rows


class AppendingSinkKit(SinkKit):
    sink = AppendingSink

    def make_sink(self, tmp_path):
        return AppendingSink(AppendingSink.Options(path=str(tmp_path / "t.db")), AppendingSink.Credentials())

    def read_back(self, sink, table):
        return _read_sqlite(sink, table)


@pytest.mark.parametrize(
    ("test", "message"),
    [
        ("test_repush_is_idempotent_and_updates_changed_rows", "the target holds 12 rows, expected 6"),
        ("test_full_push_replaces_the_table", "after a full push of 2 rows over 6: the target holds 8 rows"),
        ("test_added_column_is_accepted", "differs (expected, got): {'note': ('row 0', None)}"),
    ],
)
def test_sink_kit_fails_a_sink_that_appends(tmp_path, test, message):
    with pytest.raises(pytest.fail.Exception) as failed:
        getattr(AppendingSinkKit(), test)(tmp_path)
    assert message in str(failed.value)
