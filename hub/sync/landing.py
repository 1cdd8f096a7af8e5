"""From raw records to standard rows, inside the caller's transaction.

``derive`` maps and validates one raw record; ``land`` writes a page of raw records and the
rows they derive; a record that fails mapping or validation is kept with its error
(quarantined) and the rest of the page goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jmespath
from pydantic import ValidationError
from sqlalchemy import Connection, delete

from sdk import MappingError, RawRecord, standard_record

from ..errors import describe_validation
from ..mapping import CompiledMapping
from ..mapping.paths import CompiledPath
from ..store import bulk_upsert
from ..store.tables import raw_records, standard_tables
from .precedence import MergeWriter

__all__ = ["Derived", "PageResult", "RowBatch", "derive", "land", "record_key"]

_DELETE_BATCH = 500


@dataclass
class Derived:
    """What one raw record produced: rows by table, or the reason it is quarantined."""

    rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error: str | None = None


@dataclass
class PageResult:
    read: int = 0
    written: int = 0
    rejected: int = 0
    latest: dt.datetime | None = None


@cache
def _key_path(expression: str) -> CompiledPath:
    return CompiledPath(jmespath.compile(expression))


def record_key(primary_key: Sequence[str], raw: RawRecord) -> tuple[str, str | None]:
    """The raw record's identity from its primary key, or a content hash and why there is none."""
    values = [_key_path(expr).search(raw) for expr in primary_key]
    missing = [expr for expr, value in zip(primary_key, values, strict=True) if value is None]
    if primary_key and not missing:
        key = json.dumps(values, separators=(",", ":"), default=str)
        if len(key) <= 255:
            return key, None
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    reason = f"primary key {missing} missing from the record" if missing else None
    return f"sha256:{digest}", reason


def derive(
    mapping: CompiledMapping,
    raw: RawRecord,
    defaults: dict[str, Any],
    check: Callable[[RawRecord], list[str]] | None = None,
) -> Derived:
    """Map ``raw`` and validate every row against the standard model.

    ``check`` is the stream's record check (``Stream.problems``), consulted first: a record
    it finds fault with is quarantined with those reasons and not mapped. ``None`` values are
    left out by the mapping so the model's defaults apply; a required field that is still
    missing is reported as such.
    """
    found = check(raw) if check is not None else []
    if found:
        return Derived(error="; ".join(found))
    try:
        mapped = mapping.apply(raw, defaults)
    except MappingError as exc:
        return Derived(error=str(exc))
    rows = []
    for table, values in mapped:
        model = standard_record(table)
        try:
            record = model.model_validate(values)  # apply leaves null values out
        except ValidationError as exc:
            problems = "; ".join(
                f"{path}: {reason}" for path, reason in describe_validation(exc, prefix=f"{table}.")
            )
            return Derived(error=problems)
        # The validated values as they are (what model_dump gives for these flat records,
        # without its serialiser pass).
        rows.append((table, dict(record.__dict__)))
    return Derived(rows=rows)


def _latest_time(table: str, row: dict[str, Any]) -> dt.datetime | None:
    time_field = standard_record(table).time_field
    value = row.get(time_field) if time_field else None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), dt.UTC)
    return None


def land(
    conn: Connection,
    *,
    tenant_id: int,
    connection_id: int,
    run_id: int,
    stream: str,
    partition_key: str,
    primary_key: Sequence[str],
    mapping: CompiledMapping,
    defaults: dict[str, Any],
    records: Sequence[RawRecord],
    check: Callable[[RawRecord], list[str]] | None = None,
) -> PageResult:
    """Keep ``records`` as raw JSON and make the standard rows they derive current.

    Rows these records derived before are replaced, not merely updated: an order re-sent
    without one of its lines loses that line's row, and a record that is now quarantined
    loses its rows, exactly as ``remap`` would leave them.
    """
    now = dt.datetime.now(dt.UTC)
    # A page may repeat a record (platforms re-send updated ones); the last copy wins.
    latest_copy = {record_key(primary_key, raw): raw for raw in records}
    result = PageResult(read=len(records))
    batch = RowBatch(
        tenant_id=tenant_id, connection_id=connection_id, stream=stream, now=now, mapping=mapping
    )
    raws = []
    for (key, key_problem), raw in latest_copy.items():
        derived = derive(mapping, raw, defaults, check)
        error = key_problem or derived.error
        raws.append(
            {
                "connection_id": connection_id,
                "stream": stream,
                "partition_key": partition_key,
                "record_key": key,
                "data": raw,
                "fetched_at": now,
                "run_id": run_id,
                "error": error,
            }
        )
        batch.add(key, [] if error else derived.rows)
        result.rejected += bool(error)
    bulk_upsert(conn, raw_records, raws, key=("connection_id", "stream", "record_key"))
    result.written = batch.write(conn, mapping.tables)
    result.latest = batch.latest
    return result


class RowBatch:
    """Standard rows derived from a batch of raw records, with their lineage.

    Each row carries the connection, stream and raw record key it came from; ``write``
    deletes what the batch's raw records derived before, then upserts the new rows, meeting
    other connections' rows of the same order as ``precedence`` says (``mapping`` gives the
    merge rules and which fields are mapped).
    """

    def __init__(
        self,
        *,
        tenant_id: int,
        connection_id: int,
        stream: str,
        now: dt.datetime,
        mapping: CompiledMapping | None = None,
    ) -> None:
        self.merges = mapping.merges if mapping is not None else {}
        self.mapped = mapping.mapped if mapping is not None else {}
        self.tenant_id = tenant_id
        self.connection_id = connection_id
        self.stream = stream
        self.now = now
        self.keys: list[str] = []
        self.rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
        self.latest: dt.datetime | None = None

    def add(self, source_key: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
        self.keys.append(source_key)
        for table, values in rows:
            row = {
                **values,
                "tenant_id": self.tenant_id,
                "connection_id": self.connection_id,
                "source_stream": self.stream,
                "source_key": source_key,
                "ingested_at": self.now,
            }
            self.rows.setdefault(table, {})[tuple(row[c] for c in standard_record(table).natural_key)] = row
            latest = _latest_time(table, row)
            if latest and (self.latest is None or latest > self.latest):
                self.latest = latest

    def write(self, conn: Connection, replaced_tables: Iterable[str]) -> int:
        """Replace the rows these raw records derived in ``replaced_tables``; return rows written."""
        writers = {table: self._merge_writer(conn, table) for table in self.rows}
        # Read before this batch's old rows go: a row re-sent keeps what others merged into it.
        existing = {t: w.existing(self.rows[t].values()) for t, w in writers.items() if w.applies}
        for table in sorted(set(replaced_tables) | set(self.rows)):
            target = standard_tables[table]
            for start in range(0, len(self.keys), _DELETE_BATCH):
                conn.execute(
                    delete(target).where(
                        target.c.connection_id == self.connection_id,
                        target.c.source_stream == self.stream,
                        target.c.source_key.in_(self.keys[start : start + _DELETE_BATCH]),
                    )
                )
        written = 0
        for table, rows in self.rows.items():
            if table in existing:
                values = writers[table].resolve(rows, existing[table])
            else:
                values = list(rows.values())
            written += bulk_upsert(conn, standard_tables[table], values)
        return written

    def _merge_writer(self, conn: Connection, table: str) -> MergeWriter:
        return MergeWriter(
            conn,
            standard_tables[table],
            tenant_id=self.tenant_id,
            connection_id=self.connection_id,
            rule=self.merges.get(table),
            mapped=self.mapped.get(table),
        )
