"""Landing a large sync's pages in a worker process as well as in the sync's own.

A sync is bound by the interpreter, not by the network: checking, mapping, validating and
preparing the writes of a page cost several times what reading it does (reading 100,000
TikTok orders from pages takes a ninth of landing them), and one process runs Python on one
core. So a run that has handed its writers ``start_after`` records starts ``workers`` worker
processes, and part of its partitions' pages are landed there: each group of pages travels
pickled with what landing needs (``LandingJob``: the stream's compiled mapping and keys; the
records' check results, computed here because the check is the plugin's code) and is
committed, with the partitions' states, in the worker's own transaction. The database
serialises the writers, as it does any two clients. Small runs never pay for a process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
import multiprocessing
import pickle
import signal
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdk import RawRecord, StoreError

from ..mapping import CompiledMapping
from ..settings import Settings
from ..store import Store, open_store, upsert
from ..store.tables import stream_states
from ..store.wal import LOG_PAGES, LogCopier
from .landing import Landing, PageRecords, PageResult

__all__ = ["LandingJob", "LandingWorkers", "commit_pages"]

log = logging.getLogger(__name__)

Check = Callable[[RawRecord], list[str]]
PageWithState = tuple[PageRecords, dict[str, Any]]

_LOCK_WAIT = 300
"""Seconds a writer waits for the other one at most."""
_SHAREABLE = ("sqlite", "postgresql")
"""Databases whose writes a worker may share: SQLite files (one writer at a time, waited for)
and PostgreSQL. MySQL/MariaDB's gap locks can deadlock two clients upserting side by side."""


@dataclass(frozen=True)
class LandingJob:
    """Where a stream's pages land and how they map: what a worker needs, picklable."""

    tenant_id: int
    connection_id: int
    run_id: int | None
    stream: str
    primary_key: tuple[str, ...]
    mapping: CompiledMapping


def commit_pages(
    store: Store,
    locks: Sequence[AbstractContextManager[Any]],
    job: LandingJob,
    pages: Sequence[PageWithState],
    check: Check | None,
    log_pages: int | None = None,
) -> list[PageResult]:
    """Land ``pages`` and store each partition's state after its last page, in one transaction
    taken under ``locks`` once the pages are mapped; return each page's counts. ``log_pages``
    is ``Store.begin``'s."""
    landing = Landing(
        tenant_id=job.tenant_id,
        connection_id=job.connection_id,
        run_id=job.run_id,
        stream=job.stream,
        primary_key=job.primary_key,
        mapping=job.mapping,
        pages=[records for records, _ in pages],
        check=check,
        dialect=store.engine.dialect,
    )
    with ExitStack() as held:
        for lock in locks:
            held.enter_context(lock)
        conn = held.enter_context(store.begin(log_pages=log_pages))
        counts = landing.write(conn)
        now = dt.datetime.now(dt.UTC)
        # A partition's last page in the group carries its state.
        states = {
            records.partition_key: {
                "connection_id": job.connection_id,
                "stream": job.stream,
                "partition_key": records.partition_key,
                "state": state,
                "updated_at": now,
            }
            for records, state in pages
        }
        upsert(conn, stream_states, list(states.values()))
    return counts


# -- in the worker process --------------------------------------------------------------------

_stores: dict[str, Store] = {}
"""The worker's stores by URL, opened on first use and kept for the worker's life."""
_lock: AbstractContextManager[Any] = nullcontext()
"""The writers' lock of the sync that started the worker."""


def _worker_started(lock: AbstractContextManager[Any]) -> None:
    global _lock
    _lock = lock
    # Ctrl-C reaches the whole process group; the sync's own process decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ready() -> bool:
    return True


def _land_in_worker(
    url: str,
    job: LandingJob,
    pages: Sequence[PageWithState],
    problems: Sequence[dict[int, list[str]]],
    log_pages: int | None,
) -> tuple[list[PageResult], int]:
    """``commit_pages`` in the worker; the counts and the worker's peak resident set (kB)."""
    store = _stores.get(url)
    if store is None:
        store = _stores[url] = open_store(url)
    found = {
        id(records.records[index]): reasons
        for (records, _), page_problems in zip(pages, problems, strict=True)
        for index, reasons in page_problems.items()
    }
    try:
        counts = commit_pages(store, (_lock,), job, pages, lambda raw: found.get(id(raw), []), log_pages)
    except Exception as exc:  # noqa: BLE001 - re-raised, in a form the sync's process can rebuild
        raise _portable(exc) from None
    return counts, _peak_rss_kb()


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling (the sync's process gets it as raised here), else a
    ``RuntimeError`` naming it: an exception that cannot be rebuilt there would break the pool."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - the bytes were made on the line itself
    except Exception:  # noqa: BLE001 - any failure to rebuild means: send a plain one
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


# -- in the sync's process --------------------------------------------------------------------


class _WritersLock:
    """One writer at a time across the sync's processes, for SQLite.

    SQLite makes a second writer wait too, but by polling, asleep up to 100 ms at a time: a
    semaphore wakes the next writer as soon as the first commits. A writer that held it for
    ``_LOCK_WAIT`` seconds is taken to be gone (a killed worker never releases it).
    """

    def __init__(self, lock: Any) -> None:
        self.lock = lock

    def __enter__(self) -> None:
        if not self.lock.acquire(timeout=_LOCK_WAIT):
            raise StoreError(f"another writer of this sync held the database for over {_LOCK_WAIT} s")

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


class LandingWorkers:
    """The worker processes one sync run lands pages in, started once the run proves large.

    ``count`` is told every page handed to a writer; when the run's records reach
    ``start_after`` the processes are started (a fresh interpreter each, about a second) and
    ``ready`` turns true once they answer. ``land`` runs in a thread of the sync's process and
    blocks until a worker has committed the pages. ``close`` stops the processes.

    On a SQLite file the run proving large also starts a ``LogCopier``, with or without
    workers: from then on, the writers' commits pass ``log_pages`` to ``Store.begin``.
    """

    def __init__(self, store: Store, *, workers: int | None = None, start_after: int | None = None) -> None:
        if workers is None or start_after is None:
            settings = Settings()
            workers = settings.sync_workers if workers is None else workers
            start_after = settings.sync_workers_after if start_after is None else start_after
        self.store, self.workers, self.start_after = store, workers, start_after
        url = store.engine.url
        self.sqlite = url.get_backend_name() == "sqlite"
        in_memory = self.sqlite and store.sqlite_file is None
        self.enabled = workers > 0 and url.get_backend_name() in _SHAREABLE and not in_memory
        self.lock: AbstractContextManager[Any] = nullcontext()
        """What a writer of the run holds while it writes; for SQLite, once workers start, a
        lock they share (until then SQLite's own waiting covers the rare overlap)."""
        self.url = url.render_as_string(hide_password=False)
        self.records = 0
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.started: list[concurrent.futures.Future[bool]] = []
        self.peak_rss_kb = 0
        """The workers' peak resident set (kB), as they last reported it."""
        self.pages = 0
        """Pages landed in the workers."""
        self.copier: LogCopier | None = None
        self.log_pages: int | None = None
        """What the run's commits pass to ``Store.begin``: ``None`` until the copier runs."""

    def count(self, records: int) -> None:
        """Note ``records`` handed to a writer; start the workers once there are enough."""
        self.records += records
        if self.records < self.start_after:
            return
        if self.copier is None and self.store.sqlite_file is not None:
            self.copier = LogCopier(self.store)
            self.copier.start()
            self.log_pages = LOG_PAGES
        if self.enabled and self.pool is None:
            self.enabled = False  # one attempt per run
            context = multiprocessing.get_context("spawn")
            try:
                lock = _WritersLock(context.Lock()) if self.sqlite else nullcontext()
                self.pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=context,
                    initializer=_worker_started,
                    initargs=(lock,),
                )
                self.started = [self.pool.submit(_ready) for _ in range(self.workers)]
            except OSError as exc:  # no processes or semaphores to be had: land everything here
                log.warning("the sync lands its pages in its own process only: %s", exc)
                return
            self.lock = lock

    @property
    def ready(self) -> bool:
        """Whether the workers are up and answering."""
        return bool(self.started) and all(f.done() and f.exception() is None for f in self.started)

    async def wait_ready(self) -> None:
        """Return once the workers answer, if they are starting and were asked for from the
        start (``start_after`` 0): then every partition may land there, however short the run.
        Otherwise return at once; pages land here until the workers are up."""
        if self.start_after == 0 and self.started:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in self.started), return_exceptions=True)

    @staticmethod
    def takes(job: LandingJob) -> bool:
        """Whether ``job`` can travel to a worker (a mapping with a transform defined in a
        function body, say, cannot be pickled): if not, its pages land here."""
        try:
            pickle.dumps(job)
        except Exception as exc:  # noqa: BLE001 - whatever pickling raises, the answer is no
            log.info("stream %s lands in the sync's own process only: %s", job.stream, exc)
            return False
        return True

    def land(self, job: LandingJob, pages: Sequence[PageWithState], check: Check | None) -> list[PageResult]:
        """Commit ``pages`` in a worker; each page's counts. Blocks: call it in a thread."""
        assert self.pool is not None, "land is called once the workers are ready"
        problems = [
            {index: found for index, raw in enumerate(records.records) if (found := check(raw))}
            if check
            else {}
            for records, _ in pages
        ]
        counts, peak = self.pool.submit(
            _land_in_worker, self.url, job, pages, problems, self.log_pages
        ).result()
        self.peak_rss_kb = max(self.peak_rss_kb, peak)
        self.pages += len(pages)
        return counts

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        if self.copier is not None:
            self.copier.close()
