"""Running a sync or a remap for one connection, and recording the run.

A sync reads each stream partition from its saved state. Records are buffered until the
stream yields a ``Checkpoint``; then the raw records, the standard rows they map to, and the
checkpoint's state are committed in one transaction. A crash therefore loses nothing and,
because every write is an upsert by natural key, re-reading the last page duplicates nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, delete, select, update

from sdk import (
    Checkpoint,
    ConfigError,
    CredentialError,
    KpihubError,
    MappingError,
    Partition,
    QuotaExhausted,
    RawRecord,
    Source,
    Stream,
    standard_record,
)

from ..connections import ConnectionInfo, audit
from ..errors import describe_validation
from ..mapping import CompiledMapping
from ..mapping_versions import effective_mapping
from ..orphans import forget, reap, remember, this_process
from ..redaction import credential_secrets, scrub
from ..store import Store, inserted_id
from ..store.tables import raw_records, standard_tables, stream_states, sync_runs
from .landing import PageRecords, PageResult, RowBatch, derive
from .moved import Places, moved_rows, record_moved
from .workers import LandingJob, LandingWorkers, commit_pages

__all__ = [
    "Progress",
    "RunResult",
    "declared_shops",
    "partition_defaults",
    "remap_connection",
    "sync_connection",
]

log = logging.getLogger(__name__)

Progress = Callable[[str, str, PageResult], None]
"""Called after each committed page with the stream, the partition key and the page's counts."""

_REMAP_BATCH = 1000
_GROUP_PAGES = 32
"""Pages committed in one transaction at most."""
_AHEAD = 3
"""Pages a partition may have waiting to be written: it reads on while they are written."""


@dataclass
class RunResult:
    """What a run did; ``status`` is succeeded, partial (some streams failed) or failed."""

    run_id: int
    status: str = "running"
    rows_read: int = 0
    rows_written: int = 0
    rows_rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    freshness: dict[str, str] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    def add(self, stream: str, page: PageResult) -> None:
        self.rows_read += page.read
        self.rows_written += page.written
        self.rows_rejected += page.rejected
        if page.latest is not None:
            latest = page.latest.isoformat()
            if stream not in self.freshness or latest > self.freshness[stream]:
                self.freshness[stream] = latest


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _start_run(store: Store, info: ConnectionInfo, kind: str) -> RunResult:
    with store.begin() as conn:
        # Runs of the connection still marked running whose process is gone were cut off.
        reap(conn, info.id)
        inserted = conn.execute(
            sync_runs.insert().values(
                connection_id=info.id,
                kind=kind,
                status="running",
                started_at=_now(),
                errors=[],
                freshness={},
                **this_process().values(),
            )
        )
        result = RunResult(run_id=inserted_id(inserted))
        remember(sync_runs, result.run_id)
        return result


def _finish_run(store: Store, info: ConnectionInfo, result: RunResult, kind: str) -> None:
    forget(sync_runs, result.run_id)
    with store.begin() as conn:
        conn.execute(
            update(sync_runs)
            .where(sync_runs.c.id == result.run_id)
            .values(
                status=result.status,
                finished_at=_now(),
                rows_read=result.rows_read,
                rows_written=result.rows_written,
                rows_rejected=result.rows_rejected,
                errors=result.errors,
                freshness=result.freshness,
                stats=result.stats,
            )
        )
        audit(
            conn,
            actor="sync",
            action=f"connection.{kind}",
            target=info.name,
            detail={"run_id": result.run_id, "status": result.status},
            tenant_id=info.tenant_id,
        )


def _load_state(store: Store, connection_id: int, stream: str, partition: str) -> dict[str, Any]:
    with store.begin() as conn:
        state = conn.execute(
            select(stream_states.c.state).where(
                stream_states.c.connection_id == connection_id,
                stream_states.c.stream == stream,
                stream_states.c.partition_key == partition,
            )
        ).scalar_one_or_none()
    return dict(state) if state else {}


async def _sync_stream(
    store: Store,
    info: ConnectionInfo,
    source: Source,
    stream: Stream,
    result: RunResult,
    *,
    full_refresh: bool,
    progress: Progress | None,
    workers: LandingWorkers,
) -> None:
    """Read every partition of ``stream`` concurrently, so one slow shop holds back no other.

    Each partition keeps its own state; if any fails, the others still finish and commit,
    then the first failure is raised for the run to record.
    """
    with store.begin() as conn:
        _, mapping = effective_mapping(conn, info.id, stream)
    writer = _PageWriter(store, info, stream, mapping, result, progress, workers)
    runs = [
        _sync_partition(store, info, source, stream, partition, writer, full_refresh)
        for partition in stream.partitions()
    ]
    outcomes = await asyncio.gather(*runs, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


@dataclass
class _Page:
    """One partition's records up to a checkpoint, and the state that covers them."""

    records: PageRecords
    state: dict[str, Any]
    done: asyncio.Future[None]


Commit = Callable[[list[_Page]], list[tuple[_Page, PageResult]]]


@dataclass
class _Lane:
    """Where some partitions' pages are committed, one group at a time, in order: the sync's
    own process, or its worker processes."""

    commit: Commit
    queue: list[_Page] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class _PageWriter:
    """Commits the pages of a stream's partitions, several in one transaction.

    A partition hands its pages over in order and reads on while up to ``_AHEAD`` of them
    wait; they are written in that order, each with the state that covers it, so its state
    never passes records that are not stored, and once one of its pages fails, its later
    pages are not written. Pages that arrive while a transaction is being written are
    committed together in the next one, each with its own state: a crash keeps or loses each
    page whole, as with one transaction per page, but the database syncs its log once for the
    group (a commit per page of 100 orders was a tenth of a sync on SQLite, and reading on
    while pages wait made the groups larger: a quarter faster on SQLite at 100,000 orders).
    If a group's transaction fails, its pages are
    written again one per transaction, so a page that cannot be stored fails only its own
    partition.

    Pages are committed in lanes: here, and, once the run's worker processes are up, there
    too. Each partition writes through one lane at a time; the partitions are spread evenly
    over the lanes, and a partition moves to another lane only once its pages waiting in the
    old one are written, so its pages stay in order.
    """

    def __init__(
        self,
        store: Store,
        info: ConnectionInfo,
        stream: Stream,
        mapping: CompiledMapping,
        result: RunResult,
        progress: Progress | None,
        workers: LandingWorkers,
    ) -> None:
        self.store, self.stream, self.result, self.progress = store, stream, result, progress
        self.job = LandingJob(
            tenant_id=info.tenant_id,
            connection_id=info.id,
            run_id=result.run_id,
            stream=stream.name,
            primary_key=tuple(stream.primary_key),
            mapping=mapping,
        )
        self.workers = workers
        self.lanes = [_Lane(self._commit)]
        self.shippable: bool | None = None
        """Whether the stream's pages can travel to the workers; asked once they are up."""
        self.lane_of: dict[str, _Lane] = {}
        """The lane of each partition that is still reading."""
        self.waiting: dict[str, deque[asyncio.Future[None]]] = {}
        """Each partition's pages handed over and not yet written, oldest first."""
        self.failed: dict[str, Exception] = {}

    async def write(
        self, partition_key: str, defaults: dict[str, Any], state: dict[str, Any], records: list[RawRecord]
    ) -> None:
        """Queue ``records`` with ``state`` for the partition; return once fewer than
        ``_AHEAD`` of the partition's pages wait to be written (raising if one failed), or,
        for a page of state alone, once it is written."""
        if partition_key in self.failed:
            raise self.failed[partition_key]
        self.workers.count(len(records))
        lane = await self._lane(partition_key)
        page = _Page(
            PageRecords(partition_key, defaults, records), state, asyncio.get_running_loop().create_future()
        )
        lane.queue.append(page)
        if lane.task is None or lane.task.done():
            lane.task = asyncio.create_task(self._drain(lane))
        waiting = self.waiting.setdefault(partition_key, deque())
        waiting.append(page.done)
        # A checkpoint without records records progress the source must not repeat (a report
        # it asked the platform to create, say): it is stored before the partition goes on.
        while len(waiting) >= (_AHEAD if records else 1):
            await self._next(waiting)

    async def _lane(self, partition_key: str) -> _Lane:
        """The partition's lane for its next page: the one it has, unless another lane has
        two partitions fewer, where it moves once its pages here are written."""
        await self.workers.wait_ready()
        if self.shippable is None and self.workers.ready:
            self.shippable = self.workers.takes(self.job)
            if self.shippable:
                self.lanes.append(_Lane(self._commit_in_worker))
        current = self.lane_of.get(partition_key)
        load = {id(lane): 0 for lane in self.lanes}
        for lane in self.lane_of.values():
            load[id(lane)] += 1
        idlest = min(self.lanes, key=lambda lane: load[id(lane)])
        if current is not None and load[id(current)] - load[id(idlest)] < 2:
            return current
        if current is not None:
            await self.flush(partition_key)
        self.lane_of[partition_key] = idlest
        return idlest

    async def flush(self, partition_key: str) -> None:
        """Return once every page of the partition is written; raise the first failure."""
        waiting = self.waiting.pop(partition_key, deque())
        while waiting:
            await self._next(waiting)

    async def done(self, partition_key: str) -> None:
        """The partition has read everything: ``flush`` it, and it leaves its lane."""
        self.lane_of.pop(partition_key, None)
        await self.flush(partition_key)

    async def settle(self, partition_key: str) -> None:
        """Wait for the partition's pages to be written or fail, raising nothing."""
        self.lane_of.pop(partition_key, None)
        waiting = self.waiting.pop(partition_key, deque())
        await asyncio.gather(*waiting, return_exceptions=True)

    @staticmethod
    async def _next(waiting: deque[asyncio.Future[None]]) -> None:
        done = waiting.popleft()
        try:
            await done
        except Exception:
            # Later pages of the partition fail with it; nothing is left to wait for.
            await asyncio.gather(*waiting, return_exceptions=True)
            waiting.clear()
            raise

    async def _drain(self, lane: _Lane) -> None:
        while lane.queue:
            group, lane.queue = lane.queue[:_GROUP_PAGES], lane.queue[_GROUP_PAGES:]
            group = [page for page in group if not self._skipped(page)]
            if not group:
                continue
            try:
                written = await asyncio.to_thread(lane.commit, group)
            except Exception:  # noqa: BLE001 - each page is tried again alone and fails on its own
                for page in group:
                    if self._skipped(page):
                        continue
                    try:
                        written = await asyncio.to_thread(lane.commit, [page])
                    except Exception as exc:  # noqa: BLE001 - handed to the page's partition
                        self.failed[page.records.partition_key] = exc
                        if not page.done.done():
                            page.done.set_exception(exc)
                    else:
                        self._done(written)
            else:
                self._done(written)

    def _skipped(self, page: _Page) -> bool:
        """Whether an earlier page of the page's partition failed: its state must not pass that
        page's records, so it is not written and fails the same way."""
        failure = self.failed.get(page.records.partition_key)
        if failure is not None and not page.done.done():
            page.done.set_exception(failure)
        return failure is not None

    def _done(self, written: list[tuple[_Page, PageResult]]) -> None:
        for page, counts in written:
            self.result.add(self.stream.name, counts)
            if self.progress is not None:
                self.progress(self.stream.name, page.records.partition_key, counts)
            if not page.done.done():  # a cancelled partition no longer waits
                page.done.set_result(None)

    def _commit(self, group: list[_Page]) -> list[tuple[_Page, PageResult]]:
        # Runs in a thread, so HTTP calls of other shops keep their pace while these pages
        # are written; the store takes one writer at a time, of this process and of workers.
        counts = commit_pages(
            self.store,
            (self.store.write_lock, self.workers.lock),
            self.job,
            [(page.records, page.state) for page in group],
            self.stream.problems,
            self.workers.log_pages,
        )
        return list(zip(group, counts, strict=True))

    def _commit_in_worker(self, group: list[_Page]) -> list[tuple[_Page, PageResult]]:
        try:
            counts = self.workers.land(
                self.job, [(page.records, page.state) for page in group], self.stream.problems
            )
        except BrokenExecutor:
            # The worker died (killed, out of memory): these pages land here instead. Had it
            # committed them already, landing them again changes nothing.
            return self._commit(group)
        return list(zip(group, counts, strict=True))


async def _sync_partition(
    store: Store,
    info: ConnectionInfo,
    source: Source,
    stream: Stream,
    partition: Partition,
    writer: _PageWriter,
    full_refresh: bool,
) -> None:
    defaults = {**source.mapping_defaults(), **partition.defaults}
    state = {} if full_refresh else _load_state(store, info.id, stream.name, partition.key)
    buffer: list[RawRecord] = []
    try:
        async for item in stream.read(partition, state):
            if isinstance(item, Checkpoint):
                await writer.write(partition.key, defaults, item.state, buffer)
                state, buffer = item.state, []
            else:
                buffer.append(item)
        if buffer:  # records after the last checkpoint: keep them; the state stays where it was
            await writer.write(partition.key, defaults, state, buffer)
    except Exception:
        await writer.settle(partition.key)  # what was read before the failure is still written
        raise
    await writer.done(partition.key)


async def sync_connection(
    store: Store,
    info: ConnectionInfo,
    source: Source,
    *,
    full_refresh: bool = False,
    since: dt.date | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    workers_after: int | None = None,
) -> RunResult:
    """Sync every stream of ``source`` into the store and record the run.

    A stream that fails is recorded and the next one goes on, except on a credential error,
    which stops the connection, and a spent call quota, which pauses it: the run stops, keeps
    what it committed, and later runs are skipped (status ``skipped``) until the quota's
    ``resume_at``. The source is closed at the end.

    Once the run has read ``workers_after`` records it lands pages in ``workers`` worker
    processes too (``LandingWorkers``; both default to the settings ``KPIHUB_SYNC_WORKERS``
    and ``KPIHUB_SYNC_WORKERS_AFTER``).
    """
    if since is not None:  # a re-read from a date ignores the saved state like a full refresh
        source.context.since, full_refresh = since, True
    kind = "full_refresh" if full_refresh else "sync"
    paused = _paused_until(store, info)
    if paused is not None:
        return await _skip_paused(store, info, source, kind, paused)
    landing = LandingWorkers(store, workers=workers, start_after=workers_after)
    result = _start_run(store, info, kind)
    try:
        _ensure_shop(store, info, source)
        for stream in source.streams():
            try:
                await _sync_stream(
                    store,
                    info,
                    source,
                    stream,
                    result,
                    full_refresh=full_refresh,
                    progress=progress,
                    workers=landing,
                )
            except Exception as exc:  # noqa: BLE001 - any failure fails its stream, not the hub
                result.errors.append(_failure(exc, info, source, stream.name))
                if isinstance(exc, CredentialError | QuotaExhausted):
                    break
    except Exception as exc:  # noqa: BLE001 - failing before the first stream fails the run
        result.errors.append(_failure(exc, info, source, None))
    except BaseException:
        forget(sync_runs, result.run_id)  # cut off: the next run of the connection reaps it
        raise
    finally:
        result.stats = dict(source.stats())
        await source.aclose()
        await asyncio.to_thread(landing.close)
        if landing.pages:
            result.stats.update(
                landing_workers=landing.workers,
                landing_worker_pages=landing.pages,
                landing_worker_peak_rss_kb=landing.peak_rss_kb,
            )
    # A crash (a BaseException, or the process killed) skips this: the run stays "running"
    # until the next run of the connection finds it was cut off (``hub.orphans``).
    result.status = "succeeded" if not result.errors else ("failed" if result.rows_read == 0 else "partial")
    _finish_run(store, info, result, kind)
    return result


def _failure(exc: Exception, info: ConnectionInfo, source: Source, stream: str | None) -> dict[str, Any]:
    """How a failure is recorded: its class decides retries; its text is cleared of secrets."""
    if isinstance(exc, KpihubError):
        message, kind, transient = str(exc), type(exc).__name__, exc.transient
        if isinstance(exc, CredentialError) and info.name not in message:
            # Whoever reads this must know which shop to re-authorise.
            message = f"connection {info.name!r}: {message}"
        if isinstance(exc, QuotaExhausted):
            resume = exc.resume_at.isoformat(timespec="seconds")
            message = (
                f"{message}; connection {info.name!r} is paused until {resume} "
                "(what was read so far is kept; its next sync after then continues from there)"
            )
            return {
                "stream": stream,
                "error": redact(message, source),
                "kind": kind,
                "transient": transient,
                "resume_at": resume,
            }
    else:
        # The traceback is formatted here so it can be redacted: a plugin's exception may quote
        # a credential, and exc_info would hand it to every log handler as it is.
        trace = redact("".join(traceback.format_exception(exc)), source)
        log.debug("stream %s of connection %s raised:\n%s", stream, info.name, trace)
        message = f"plugin {info.plugin!r} failed unexpectedly: {type(exc).__name__}: {exc}"
        kind, transient = "PluginBug", False
    return {"stream": stream, "error": redact(message, source), "kind": kind, "transient": transient}


def _paused_until(store: Store, info: ConnectionInfo) -> dt.datetime | None:
    """When the connection's last finished sync stopped on a spent quota that is not back yet."""
    with store.begin() as conn:
        errors = conn.execute(
            select(sync_runs.c.errors)
            .where(
                sync_runs.c.connection_id == info.id,
                sync_runs.c.kind.in_(("sync", "full_refresh")),
                sync_runs.c.status.not_in(("running", "interrupted")),
            )
            .order_by(sync_runs.c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    resumes = [dt.datetime.fromisoformat(e["resume_at"]) for e in errors or [] if e.get("resume_at")]
    if not resumes or max(resumes) <= _now():
        return None
    return max(resumes)


async def _skip_paused(
    store: Store, info: ConnectionInfo, source: Source, kind: str, until: dt.datetime
) -> RunResult:
    """Record a run that did nothing because the connection's quota is spent until ``until``."""
    await source.aclose()
    result = _start_run(store, info, kind)
    resume = until.isoformat(timespec="seconds")
    result.errors.append(
        {
            "stream": None,
            "error": f"connection {info.name!r} is paused until {resume}: the platform's call quota "
            "is spent; nothing was read (run it again after then)",
            "kind": "QuotaExhausted",
            "transient": True,
            "resume_at": resume,
        }
    )
    result.status = "skipped"
    _finish_run(store, info, result, kind)
    return result


def redact(text: str, source: Source) -> str:
    """``text`` with every secret value of the source's credentials masked.

    A plugin's own exception may quote a URL or a response that carries a token; masking the
    values the hub knows to be secret keeps them out of the run record and the terminal.
    """
    return scrub(text, credential_secrets(source.credentials))


def declared_shops(source: Source) -> list[dict[str, Any]]:
    """The mapping defaults of the source and of each partition it reads: every shop the
    connection writes rows for unless a mapping says otherwise."""
    base = source.mapping_defaults()
    return [base] + [{**base, **p.defaults} for stream in source.streams() for p in stream.partitions()]


def _ensure_shop(store: Store, info: ConnectionInfo, source: Source) -> None:
    """Give each shop the connection covers a row in the shop dimension if it has none yet."""
    wanted = declared_shops(source)
    shops = standard_tables["shops"]
    seen: set[tuple[str, str]] = set()
    with store.begin() as conn:
        for defaults in wanted:
            key = (defaults.get("platform"), defaults.get("shop_id"))
            if key[1] is None or key in seen:
                continue
            seen.add(key)  # type: ignore[arg-type]
            exists = conn.execute(
                select(shops.c.shop_id).where(
                    shops.c.tenant_id == info.tenant_id, shops.c.platform == key[0], shops.c.shop_id == key[1]
                )
            ).first()
            if exists is not None:
                continue
            try:
                row = (
                    standard_record("shops")
                    .model_validate({k: defaults[k] for k in ("platform", "shop_id")})
                    .model_dump()
                )
            except ValidationError as exc:
                problems = "; ".join(f"{path}: {why}" for path, why in describe_validation(exc))
                raise ConfigError(f"connection {info.name!r} has an invalid shop: {problems}") from None
            conn.execute(
                shops.insert().values(
                    **row, tenant_id=info.tenant_id, connection_id=info.id, ingested_at=_now()
                )
            )


def remap_connection(store: Store, info: ConnectionInfo, source: Source, *, force: bool = False) -> RunResult:
    """Re-derive the connection's standard rows from its kept raw records; fetch nothing.

    In one transaction: every row the connection's streams derived is deleted and derived
    again from raw under the mappings now in force, and each raw record's quarantine error is
    updated. If a mapping is invalid, or (unless ``force``) would quarantine records that map
    today, nothing changes.
    """
    result = _start_run(store, info, "remap")
    try:
        with store.begin() as conn:
            streams = source.streams()
            mappings = {stream.name: effective_mapping(conn, info.id, stream)[1] for stream in streams}
            derived_from = select(raw_records.c.id).where(
                raw_records.c.connection_id == info.id, raw_records.c.stream.in_(list(mappings))
            )
            # Every row is derived again, maybe elsewhere: where they were counted is kept for
            # the next compute (the new rows are ingested now, so their places are recomputed).
            places = Places()
            for target in standard_tables.values():
                moved_rows(conn, target.name, derived_from, None, places)
                conn.execute(delete(target).where(target.c.raw_record_id.in_(derived_from)))
            record_moved(conn, info.tenant_id, places, _now())
            regressions = 0
            for stream in streams:
                # Raw records keep their partition key; its defaults apply as they did at sync.
                by_partition = partition_defaults(source, stream)
                regressions += _remap_stream(
                    conn, info, stream.name, mappings[stream.name], by_partition, result, stream.problems
                )
            if regressions and not force:
                raise MappingError(
                    f"the mappings in force would quarantine {regressions} record(s) that map today; "
                    "nothing was changed: check them with `kpihub mapping preview`, or remap with --force"
                )
    except KpihubError as exc:
        result = RunResult(run_id=result.run_id, errors=[{"error": str(exc), "kind": type(exc).__name__}])
    except BaseException:
        forget(sync_runs, result.run_id)  # cut off: the next run of the connection reaps it
        raise
    result.status = "succeeded" if not result.errors else "failed"
    _finish_run(store, info, result, "remap")
    return result


def partition_defaults(source: Source, stream: Stream) -> dict[str | None, dict[str, Any]]:
    """Mapping defaults by partition key, as a sync applies them; ``None`` for a partition the
    source no longer lists, which keeps only the source's own defaults."""
    base = source.mapping_defaults()
    by_partition: dict[str | None, dict[str, Any]] = {
        p.key: {**base, **p.defaults} for p in stream.partitions()
    }
    by_partition[None] = base
    return by_partition


def _remap_stream(
    conn: Connection,
    info: ConnectionInfo,
    stream: str,
    mapping: CompiledMapping,
    defaults: dict[str | None, dict[str, Any]],
    result: RunResult,
    check: Callable[[RawRecord], list[str]] | None = None,
) -> int:
    """Derive one stream's rows again; return how many records map no longer."""
    last_id, regressions = 0, 0
    while True:
        rows = conn.execute(
            select(
                raw_records.c.id,
                raw_records.c.record_key,
                raw_records.c.partition_key,
                raw_records.c.data,
                raw_records.c.error,
            )
            .where(
                raw_records.c.connection_id == info.id,
                raw_records.c.stream == stream,
                raw_records.c.id > last_id,
            )
            .order_by(raw_records.c.id)
            .limit(_REMAP_BATCH)
        ).all()
        if not rows:
            return regressions
        page = PageResult(read=len(rows))
        batch = RowBatch(tenant_id=info.tenant_id, connection_id=info.id, now=_now(), mapping=mapping)
        for row in rows:
            derived = derive(mapping, row.data, defaults.get(row.partition_key, defaults[None]), check)
            batch.add([] if derived.error else derived.rows)
            page.rejected += bool(derived.error)
            regressions += bool(derived.error and row.error is None)
            if derived.error != row.error:
                conn.execute(
                    update(raw_records).where(raw_records.c.id == row.id).values(error=derived.error)
                )
        # The stream's old rows are already gone, so there is nothing to replace.
        page.written = batch.write(conn, (), [row.id for row in rows], replaced=()).total()
        page.latest = batch.latest
        result.add(stream, page)
        last_id = rows[-1].id
