"""From raw records to standard rows, inside the caller's transaction.

``derive`` maps and validates one raw record; ``land`` writes a page of raw records and the
rows they derive; a record that fails mapping or validation is kept with its error
(quarantined) and the rest of the page goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jmespath
from pydantic import ValidationError
from sqlalchemy import Connection

from sdk import MappingError, RawRecord, standard_record

from ..errors import describe_validation
from ..mapping import CompiledMapping
from ..store import upsert
from ..store.tables import raw_records, standard_tables

__all__ = ["Derived", "PageResult", "collect_rows", "derive", "land", "record_key", "write_rows"]


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


def record_key(primary_key: Sequence[str], raw: RawRecord) -> tuple[str, str | None]:
    """The raw record's identity from its primary key, or a content hash and why there is none."""
    values = [jmespath.search(expr, raw) for expr in primary_key]
    missing = [expr for expr, value in zip(primary_key, values, strict=True) if value is None]
    if primary_key and not missing:
        key = json.dumps(values, separators=(",", ":"), default=str)
        if len(key) <= 255:
            return key, None
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    reason = f"primary key {missing} missing from the record" if missing else None
    return f"sha256:{digest}", reason


def derive(mapping: CompiledMapping, raw: RawRecord, defaults: dict[str, Any]) -> Derived:
    """Map ``raw`` and validate every row against the standard model.

    ``None`` values are dropped before validation so the model's defaults apply; a required
    field that is still missing is reported as such.
    """
    try:
        mapped = mapping.apply(raw, defaults)
    except MappingError as exc:
        return Derived(error=str(exc))
    rows = []
    for table, values in mapped:
        model = standard_record(table)
        try:
            record = model.model_validate({k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            problems = "; ".join(
                f"{path}: {reason}" for path, reason in describe_validation(exc, prefix=f"{table}.")
            )
            return Derived(error=problems)
        rows.append((table, record.model_dump()))
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
) -> PageResult:
    """Keep ``records`` as raw JSON and upsert the standard rows they map to."""
    now = dt.datetime.now(dt.UTC)
    result = PageResult(read=len(records))
    raws: dict[str, dict[str, Any]] = {}
    by_table: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for raw in records:
        key, key_problem = record_key(primary_key, raw)
        derived = derive(mapping, raw, defaults)
        error = key_problem or derived.error
        raws[key] = {
            "connection_id": connection_id,
            "stream": stream,
            "partition_key": partition_key,
            "record_key": key,
            "data": raw,
            "fetched_at": now,
            "run_id": run_id,
            "error": error,
        }
        if error:
            result.rejected += 1
            continue
        collect_rows(by_table, derived.rows, tenant_id=tenant_id, connection_id=connection_id, now=now)
    # A page may repeat a record (platforms re-send updated ones); the last copy wins.
    upsert(conn, raw_records, list(raws.values()))
    result.written = write_rows(conn, by_table)
    for table, rows in by_table.items():
        for row in rows.values():
            latest = _latest_time(table, row)
            if latest and (result.latest is None or latest > result.latest):
                result.latest = latest
    return result


def collect_rows(
    by_table: dict[str, dict[tuple[Any, ...], dict[str, Any]]],
    rows: list[tuple[str, dict[str, Any]]],
    *,
    tenant_id: int,
    connection_id: int,
    now: dt.datetime,
) -> None:
    for table, values in rows:
        row = {**values, "tenant_id": tenant_id, "connection_id": connection_id, "ingested_at": now}
        key = tuple(row[c] for c in standard_record(table).natural_key)
        by_table.setdefault(table, {})[key] = row


def write_rows(conn: Connection, by_table: dict[str, dict[tuple[Any, ...], dict[str, Any]]]) -> int:
    """Upsert rows grouped by table (already unique by natural key); return how many."""
    return sum(upsert(conn, standard_tables[table], list(rows.values())) for table, rows in by_table.items())
