"""From raw records to standard rows, inside the caller's transaction.

``derive`` maps and validates one raw record; ``Landing`` writes pages of raw records and the
rows they derive; a record that fails mapping or validation is kept with its error
(quarantined) and the rest of the page goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from typing import Any

import jmespath
from pydantic import ValidationError
from sqlalchemy import ARRAY, Connection, String, any_, bindparam, delete, select
from sqlalchemy.engine import Dialect

from sdk import MappingError, RawRecord, standard_record

from ..errors import describe_validation
from ..mapping import CompiledMapping
from ..mapping.paths import CompiledPath
from ..store import PreparedUpsert, bulk_upsert, prepare_upsert
from ..store.tables import raw_records, standard_tables
from .moved import Places, moved_rows, record_moved
from .precedence import MergeWriter, existing_rows

__all__ = ["Derived", "Landing", "PageRecords", "PageResult", "RowBatch", "derive", "record_key"]

_KEY_BATCH = 500
"""Record keys in one ``IN (…)`` list at most."""
_RAW_KEY = ("connection_id", "stream", "record_key")


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
            # model_validate without its Python wrapper; apply leaves null values out.
            record = model.__pydantic_validator__.validate_python(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{path}: {reason}" for path, reason in describe_validation(exc, prefix=f"{table}.")
            )
            return Derived(error=problems)
        # The validated values as they are (what model_dump gives for these flat records,
        # without its serialiser pass); the record itself is not kept, so its dict is taken.
        rows.append((table, record.__dict__))
    return Derived(rows=rows)


@cache
def _table_plan(table: str) -> tuple[Callable[[dict[str, Any]], tuple[Any, ...]], str | None]:
    """How to read a row's natural key, and which field gives its event time."""
    record = standard_record(table)
    columns = record.natural_key
    if len(columns) == 1:
        return (lambda row: (row[columns[0]],)), record.time_field
    return itemgetter(*columns), record.time_field


def _latest_time(table: str, row: dict[str, Any]) -> dt.datetime | None:
    time_field = _table_plan(table)[1]
    value = row.get(time_field) if time_field else None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), dt.UTC)
    return None


@dataclass
class PageRecords:
    """One page of a partition's records, with the mapping defaults of that partition."""

    partition_key: str
    defaults: dict[str, Any]
    records: Sequence[RawRecord]


class Landing:
    """Pages of raw records landed: kept as raw JSON, with the standard rows they derive made
    current.

    In two steps: building it maps and validates the pages (no database); ``write`` stores
    them in the caller's transaction, so a writer holds the database only for the second.
    Rows these records derived before are replaced, not merely updated: an order re-sent
    without one of its lines loses that line's row, and a record that is now quarantined
    loses its rows, exactly as ``remap`` would leave them. Several pages are written with one
    statement per table, as if they were landed one after another: a record that appears
    twice (platforms re-send updated ones) lands as its last copy.
    """

    def __init__(
        self,
        *,
        tenant_id: int,
        connection_id: int,
        run_id: int | None,
        stream: str,
        primary_key: Sequence[str],
        mapping: CompiledMapping,
        pages: Sequence[PageRecords],
        check: Callable[[RawRecord], list[str]] | None = None,
        dialect: Dialect | None = None,
    ) -> None:
        """Map and validate ``pages``; with ``dialect``, convert the writes' values for it too."""
        now = dt.datetime.now(dt.UTC)
        self.connection_id, self.stream, self.tables = connection_id, stream, mapping.tables
        self.results = [PageResult(read=len(page.records)) for page in pages]
        latest_copy: dict[str, tuple[int, str | None, RawRecord]] = {}
        for origin, page in enumerate(pages):
            for raw in page.records:
                key, key_problem = record_key(primary_key, raw)
                latest_copy[key] = (origin, key_problem, raw)
        self.keys = list(latest_copy)
        self.batch = RowBatch(tenant_id=tenant_id, connection_id=connection_id, now=now, mapping=mapping)
        self.raws = []
        for key, (origin, key_problem, raw) in latest_copy.items():
            page = pages[origin]
            derived = derive(mapping, raw, page.defaults, check)
            error = key_problem or derived.error
            self.raws.append(
                {
                    "connection_id": connection_id,
                    "stream": stream,
                    "partition_key": page.partition_key,
                    "record_key": key,
                    "data": raw,
                    "fetched_at": now,
                    "run_id": run_id,
                    "error": error,
                }
            )
            self.batch.add([] if error else derived.rows, origin)
            self.results[origin].rejected += bool(error)
        self.raw_upsert = None
        if dialect is not None:
            self.raw_upsert = prepare_upsert(dialect, raw_records, self.raws, key=_RAW_KEY)
            self.batch.prepare(dialect)

    def write(self, conn: Connection) -> list[PageResult]:
        """Store the raw records and replace the rows they derive; each page's counts."""
        # Only records landed before can have derived rows to replace.
        landed_before = _raw_ids(conn, self.connection_id, self.stream, self.keys)
        if self.raw_upsert is not None:
            self.raw_upsert.run(conn)
        else:
            bulk_upsert(conn, raw_records, self.raws, key=_RAW_KEY)
        # The new records' ids, which their rows' lineage names: read back, since an upsert
        # does not say them on every database (a look-up of pages the insert just touched).
        ids = landed_before | _raw_ids(
            conn, self.connection_id, self.stream, [k for k in self.keys if k not in landed_before]
        )
        replaced = set(landed_before.values())
        for key in [k for k in self.keys if k not in ids]:
            # A key the database holds as another one (a case-insensitive collation on MariaDB:
            # "o1" is "O1"): the upsert went to that record, so the rows name it, and what it
            # derived before goes.
            ids[key] = _raw_id_as_stored(conn, self.connection_id, self.stream, key)
            replaced.add(ids[key])
        written = self.batch.write(conn, self.tables, [ids[k] for k in self.keys], replaced)
        for origin, result in enumerate(self.results):
            result.written = written[origin]
            result.latest = self.batch.latest_of.get(origin)
        return self.results


def _raw_ids(conn: Connection, connection_id: int, stream: str, keys: list[str]) -> dict[str, int]:
    """The ids of the raw records the connection's stream has stored of ``keys``, by key."""
    found: dict[str, int] = {}
    if not keys:
        return found
    columns = (raw_records.c.record_key, raw_records.c.id)
    of_stream = (raw_records.c.connection_id == connection_id, raw_records.c.stream == stream)
    if conn.dialect.name == "postgresql":  # one array: the same text for every batch, prepared once
        listed = raw_records.c.record_key == any_(bindparam("keys", keys, type_=ARRAY(String)))
        found.update((key, id_) for key, id_ in conn.execute(select(*columns).where(*of_stream, listed)))
        return found
    for start in range(0, len(keys), _KEY_BATCH):
        listed = raw_records.c.record_key.in_(keys[start : start + _KEY_BATCH])
        found.update((key, id_) for key, id_ in conn.execute(select(*columns).where(*of_stream, listed)))
    return found


def _raw_id_as_stored(conn: Connection, connection_id: int, stream: str, key: str) -> int:
    """The id of the raw record the database finds equal to ``key``, whatever its spelling."""
    found = select(raw_records.c.id).where(
        raw_records.c.connection_id == connection_id,
        raw_records.c.stream == stream,
        raw_records.c.record_key == key,
    )
    return int(conn.execute(found).scalar_one())


class RowBatch:
    """Standard rows derived from a batch of raw records, with their lineage.

    Each row carries the connection and the id of the raw record it came from; a record
    stored for the first time has its id only once it is written, so ``add`` leaves
    ``raw_record_id`` empty and ``write`` is given the ids. ``write`` deletes what the batch's
    raw records derived before, then upserts the new rows, meeting other connections' rows of
    the same order as ``precedence`` says (``mapping`` gives the merge rules and which fields
    are mapped). ``origin`` tells the pages of a batch apart, so each can be given its own
    counts.
    """

    def __init__(
        self,
        *,
        tenant_id: int,
        connection_id: int,
        now: dt.datetime,
        mapping: CompiledMapping | None = None,
    ) -> None:
        self.merges = mapping.merges if mapping is not None else {}
        self.mapped = mapping.mapped if mapping is not None else {}
        self.tenant_id = tenant_id
        self.connection_id = connection_id
        self.now = now
        self.records = 0
        """Raw records added so far."""
        self.rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
        self.origins: dict[str, dict[tuple[Any, ...], int]] = {}
        self.sources: dict[str, dict[tuple[Any, ...], int]] = {}
        """Each row's raw record, as the order it was added in; in the same order as ``rows``."""
        self.latest_of: dict[int, dt.datetime] = {}
        self.prepared: dict[str, PreparedUpsert | None] = {}

    @property
    def latest(self) -> dt.datetime | None:
        """The latest event time of the batch's rows."""
        return max(self.latest_of.values(), default=None)

    def add(self, rows: list[tuple[str, dict[str, Any]]], origin: int = 0) -> None:
        """Add the rows the next raw record derived (``derive``'s, which this batch takes over)."""
        source = self.records
        self.records += 1
        lineage = {
            "tenant_id": self.tenant_id,
            "connection_id": self.connection_id,
            "raw_record_id": None,  # known when written
            "ingested_at": self.now,
        }
        for table, row in rows:
            row.update(lineage)
            key = _table_plan(table)[0](row)
            self.rows.setdefault(table, {})[key] = row
            self.origins.setdefault(table, {})[key] = origin
            self.sources.setdefault(table, {})[key] = source
            latest = _latest_time(table, row)
            if latest and (origin not in self.latest_of or latest > self.latest_of[origin]):
                self.latest_of[origin] = latest

    def prepare(self, dialect: Dialect) -> None:
        """Convert each table's rows for ``dialect`` now, as ``write`` sends them when no other
        connection has rows of the same orders (the usual case; else it converts them itself)."""
        self.prepared = {
            table: prepare_upsert(dialect, standard_tables[table], list(rows.values()))
            for table, rows in self.rows.items()
        }

    def write(
        self,
        conn: Connection,
        replaced_tables: Iterable[str],
        ids: Sequence[int],
        replaced: Collection[int] | None = None,
    ) -> Counter[int]:
        """Replace the rows these raw records derived in ``replaced_tables``; return the rows
        written by origin.

        ``ids`` are the raw records' ids, in the order they were added. ``replaced`` (when known)
        names those of the records stored before this batch: only they can have derived rows,
        so only their rows are looked for and deleted.
        """
        for table, rows in self.rows.items():
            for key, source in self.sources[table].items():
                rows[key]["raw_record_id"] = ids[source]
        writers = {table: self._merge_writer(conn, table) for table in self.rows}
        # Read before this batch's old rows go: a row re-sent keeps what others merged into it.
        existing = existing_rows(
            conn, self.tenant_id, {t: w for t, w in writers.items() if w.applies}, self.rows
        )
        old = list(ids if replaced is None else replaced)
        places = Places()
        for table in sorted(set(replaced_tables) | set(self.rows)) if old else ():
            target = standard_tables[table]
            replacements = self.rows.get(table, {})
            for start in range(0, len(old), _KEY_BATCH):
                listed = old[start : start + _KEY_BATCH]
                # Where the rows that go were counted, unless their replacements stay there.
                moved_rows(conn, table, listed, replacements, places)
                conn.execute(delete(target).where(target.c.raw_record_id.in_(listed)))
        written: Counter[int] = Counter()
        for table, rows in self.rows.items():
            prepared = self.prepared.get(table)
            if existing.get(table):  # converted before the merge: the merged rows are converted
                values = writers[table].resolve(rows, existing[table], places)
                bulk_upsert(conn, standard_tables[table], values)
            elif prepared is not None:  # converted before the ids were known: they are added
                values = list(rows.values())
                sources = self.sources[table].values()
                prepared.with_column("raw_record_id", [ids[source] for source in sources]).run(conn)
            else:  # nothing stored to meet: the rows go as given, as ``resolve`` would leave them
                values = list(rows.values())
                bulk_upsert(conn, standard_tables[table], values)
            origins = self.origins[table]
            if len(values) == len(rows):  # every row written, as given or merged
                written.update(origins.values())
            else:
                natural_key = _table_plan(table)[0]
                written.update(origins[natural_key(row)] for row in values)
        record_moved(conn, self.tenant_id, places, self.now)
        return written

    def _merge_writer(self, conn: Connection, table: str) -> MergeWriter:
        return MergeWriter(
            conn,
            standard_tables[table],
            tenant_id=self.tenant_id,
            connection_id=self.connection_id,
            now=self.now,
            rule=self.merges.get(table),
            mapped=self.mapped.get(table),
        )
