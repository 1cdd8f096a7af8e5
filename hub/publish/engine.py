"""One push of one sink: for each selected table, send what changed since the sink's
watermark (or everything, with ``full``), so the target ends equal to the hub's table.

How each table is sent (``_plan``):

- never pushed to completion, ``full``, or a sink that cannot upsert whose last push of the
  table was interrupted or whose columns changed: **replace** (the sink swaps the table's rows);
- a sink that upserts: the rows changed since the watermark (inclusive, so rows stamped in the
  same tick as the watermark are sent again, harmlessly), or every row when the columns grew
  or the table has no change column; then the target's count is compared with the hub's and a
  difference (rows deleted in the hub) turns into a replace;
- a sink that cannot upsert: **append** the changed rows when they are all new (the hub's
  count equals the rows pushed plus the changed rows: no row updated or deleted), else replace.

The watermark row is marked ``pending`` (committed) before the target is touched and cleared,
with the new watermark, only after the sink accepted everything; a push interrupted at any
point therefore re-sends from the old watermark, or replaces, and never appends twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, select

from sdk import KpihubError, Sink, TableBatch

from ..redaction import credential_secrets, scrub
from ..store import Store, upsert
from ..store.sink_tables import sink_watermarks
from .catalog import PublishedTable, catalog, select_tables
from .reader import Snapshot, count_rows, read_rows, snapshot
from .sinks import SinkInfo

__all__ = ["Progress", "PushResult", "TableResult", "prepare_tables", "push_tables"]

Progress = Callable[[str, int, int | None], None]
"""Called with (table, rows the target just accepted, rows to send in total or None)."""


@dataclass
class TableResult:
    table: str
    action: str
    """skipped, appended, upserted or replaced (or failed)."""
    rows: int = 0
    error: str | None = None


@dataclass
class PushResult:
    sink: str
    tables: list[TableResult] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return all(t.error is None for t in self.tables)


@dataclass(frozen=True)
class _State:
    watermark: dt.datetime | None
    fingerprint: str | None
    rows_pushed: int
    at_watermark: int
    """Rows stamped exactly ``watermark`` when it was taken."""
    columns: list[str]
    pending: bool
    pushed_at: dt.datetime | None
    """When the last push of the table finished; None while none ever has."""


@dataclass(frozen=True)
class _Plan:
    action: str
    full: bool
    after: dt.datetime | None = None
    inclusive: bool = False
    total: int | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def push_tables(
    store: Store,
    sink: Sink,
    info: SinkInfo,
    *,
    full: bool = False,
    tables: Sequence[str] | None = None,
    metadata: MetaData | None = None,
    progress: Progress | None = None,
) -> PushResult:
    """Push the sink's tables (``tables``, else the sink's configured selection, else the
    published set); stops at the first table that fails, recording its error."""
    chosen = await prepare_tables(store, sink, info, tables=tables, metadata=metadata)
    result = PushResult(info.name)
    for table in chosen:
        try:
            result.tables.append(await _push_table(store, sink, info, table, full=full, progress=progress))
        except KpihubError as exc:
            error = scrub(str(exc), credential_secrets(sink.credentials))
            _record_error(store, info.id, table.name, error)
            result.tables.append(TableResult(table.name, "failed", error=error))
            break
    return result


async def prepare_tables(
    store: Store,
    sink: Sink,
    info: SinkInfo,
    *,
    tables: Sequence[str] | None = None,
    metadata: MetaData | None = None,
) -> list[PublishedTable]:
    """Have the sink create or evolve its target for the tables a push covers (``tables``, else
    the sink's selection, else the published set), moving no rows; return those tables."""
    from ..store.tables import metadata as store_metadata

    available = catalog(metadata if metadata is not None else store_metadata)
    chosen = select_tables(available, tables or info.tables)
    counts = {t.name: count_rows(store, t, info.tenant_id) for t in chosen}
    names = [t.name for t in chosen]
    await sink.prepare([t.schema(rows=counts[t.name], available=names) for t in chosen])
    return chosen


async def _push_table(
    store: Store, sink: Sink, info: SinkInfo, table: PublishedTable, *, full: bool, progress: Progress | None
) -> TableResult:
    state = _load(store, info.id, table.name)
    inclusive = sink.upserts
    snap = snapshot(
        store, table, info.tenant_id, after=state.watermark if state else None, inclusive=inclusive
    )
    plan = _plan(sink, table, state, snap, full=full)
    if plan.action == "skipped":
        return TableResult(table.name, "skipped")
    _save(store, info.id, table.name, state, pending=True)
    sent = await _send(store, sink, info, table, plan, snap, progress)
    rows_held = state.rows_pushed + sent if plan.action == "appended" and state else sent
    action = plan.action
    if sink.upserts:
        held = await sink.count(table.name)
        expected = count_rows(store, table, info.tenant_id)
        if held is not None and held != expected:
            # Rows were deleted in the hub (or the target was edited): rebuild the table.
            replace = _Plan("replaced", full=True, total=expected)
            sent = await _send(store, sink, info, table, replace, snap, progress)
            action, held = "replaced", await sink.count(table.name)
        rows_held = held if held is not None else snap.rows
    _save(
        store,
        info.id,
        table.name,
        _State(snap.newest, snap.fingerprint, rows_held, snap.at_newest, list(table.columns), False, _now()),
        pending=False,
    )
    return TableResult(table.name, action, sent)


def _plan(sink: Sink, table: PublishedTable, state: _State | None, snap: Snapshot, *, full: bool) -> _Plan:
    replace = _Plan("replaced", full=True, total=snap.rows)
    if full or state is None or state.pushed_at is None:
        return replace
    grew = state.columns != list(table.columns)
    if sink.upserts:
        if grew or table.change_column is None:
            unchanged = not grew and snap.fingerprint == state.fingerprint and snap.rows == state.rows_pushed
            return _Plan("skipped", False) if unchanged else _Plan("upserted", False, total=snap.rows)
        if snap.newest == state.watermark and snap.rows == state.rows_pushed and not state.pending:
            return _Plan("skipped", False)
        return _Plan("upserted", False, after=state.watermark, inclusive=True, total=snap.changed)
    if state.pending or grew:
        return replace
    if table.change_column is None:
        same = snap.fingerprint == state.fingerprint and snap.rows == state.rows_pushed
        return _Plan("skipped", False) if same else replace
    if state.watermark is not None and snap.at_after != state.at_watermark:
        # Rows were stamped with the watermark's own time after it was read (a write in the
        # same tick, or one committed later): the exclusive window cannot see them.
        return replace
    if snap.changed == 0 and snap.rows == state.rows_pushed:
        return _Plan("skipped", False)
    if snap.rows == state.rows_pushed + snap.changed:
        return _Plan("appended", False, after=state.watermark, total=snap.changed)
    return replace


async def _send(
    store: Store,
    sink: Sink,
    info: SinkInfo,
    table: PublishedTable,
    plan: _Plan,
    snap: Snapshot,
    progress: Progress | None,
) -> int:
    bounded = plan.action == "appended"
    rows: Iterator[Mapping[str, Any]] = read_rows(
        store,
        table,
        info.tenant_id,
        after=plan.after,
        # Appends stop at the snapshot's newest change so a row written meanwhile is neither
        # sent now and again next time, nor lost: it is newer than the watermark saved.
        upto=snap.newest if bounded else None,
        inclusive=plan.inclusive,
    )
    report = None if progress is None else (lambda n: progress(table.name, n, plan.total))
    batch = TableBatch(table.name, dict(table.columns), table.key, rows, total=plan.total, progress=report)
    return await sink.push(batch, full=plan.full)


def _load(store: Store, sink_id: int, name: str) -> _State | None:
    w = sink_watermarks.c
    with store.begin() as conn:
        row = conn.execute(select(sink_watermarks).where(w.sink_id == sink_id, w.table_name == name)).first()
    if row is None:
        return None
    return _State(
        row.watermark,
        row.fingerprint,
        int(row.rows_pushed),
        int(row.at_watermark),
        list(row.columns),
        bool(row.pending),
        row.pushed_at,
    )


def _save(store: Store, sink_id: int, name: str, state: _State | None, *, pending: bool) -> None:
    """Write the table's watermark row; with ``pending`` only the flag changes (a first push
    leaves a row that says nothing was ever completed)."""
    values: dict[str, Any] = {
        "sink_id": sink_id,
        "table_name": name,
        "watermark": state.watermark if state else None,
        "fingerprint": state.fingerprint if state else None,
        "rows_pushed": state.rows_pushed if state else 0,
        "at_watermark": state.at_watermark if state else 0,
        "columns": state.columns if state else [],
        "pending": pending,
        "pushed_at": state.pushed_at if state else None,
        "last_error": None,
        "updated_at": _now(),
    }
    with store.begin() as conn:
        upsert(conn, sink_watermarks, [values])


def _record_error(store: Store, sink_id: int, name: str, error: str) -> None:
    w = sink_watermarks.c
    with store.begin() as conn:
        conn.execute(
            sink_watermarks.update()
            .where(w.sink_id == sink_id, w.table_name == name)
            .values(last_error=error[:2000], updated_at=_now())
        )
