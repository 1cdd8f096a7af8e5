"""A large sync's SQLite write-ahead log, copied into the database beside its writers.

SQLite appends every commit's changed pages to its write-ahead log and copies them into the
database (a checkpoint) at the end of the commit that grows the log past
``wal_autocheckpoint`` pages, while that writer still holds the sync's writers' lock, so the
other writers wait through the copy. A large sync upserts random keys into large indexes:
each commit changes pages all over them, and at 1,000,000 orders a fifth of a writer's time
went to copying them while the other writer waited.

``LogCopier`` copies beside the writers instead: a thread that checkpoints (``PASSIVE``,
which never waits for a writer) whenever the log holds ``copy_from`` pages; the writers'
commits checkpoint themselves only at ``log_pages`` (``Store.begin(log_pages=…)``), should
the thread fall behind. The larger window also copies a page changed by several commits
once. Closing it copies the rest and empties the log, so the sync leaves no large log behind.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from .database import Store

__all__ = ["LogCopier", "log_frames"]

log = logging.getLogger(__name__)

COPY_FROM = 100_000
"""Pages (4 kB) in the log from which the copier checkpoints."""
LOG_PAGES = 200_000
"""Pages at which a writer's own commit checkpoints, should the copier fall behind."""
_EVERY = 0.25
"""Seconds between looks at the log's size."""


def log_frames(database: Path) -> int:
    """Pages in the database's write-ahead log, read from the shared wal-index header
    (``mxFrame``: a 32-bit integer at byte 16, in the machine's byte order; the format is
    fixed, since processes of different SQLite versions share the file). 0 without a log."""
    try:
        with open(f"{database}-shm", "rb") as index:
            header = index.read(20)
    except OSError:
        return 0
    return int.from_bytes(header[16:20], sys.byteorder) if len(header) == 20 else 0


class LogCopier:
    """Checkpoints a SQLite store's log from a thread while a large sync writes."""

    def __init__(self, store: Store, *, copy_from: int = COPY_FROM, every: float = _EVERY) -> None:
        database = store.sqlite_file
        assert database is not None, "LogCopier needs a SQLite store kept in a file"
        self.store, self.database = store, database
        self.copy_from, self.every = copy_from, every
        self.copies = 0
        """Checkpoints the thread made."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-log-copier", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop the thread, then copy what the log still holds and empty it (waiting for the
        store's other writers as any writer does); a store busy beyond that keeps its log."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._checkpoint("TRUNCATE")

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if log_frames(self.database) < self.copy_from:
                continue
            if not self._checkpoint("PASSIVE"):
                return
            self.copies += 1

    def _checkpoint(self, mode: str) -> bool:
        """One checkpoint; ``False`` (logged) if the store refused it."""
        try:
            with self.store.engine.connect() as conn:
                conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").one()
                conn.rollback()
        except SQLAlchemyError as exc:
            # Only an optimisation: the writers' own commits still checkpoint.
            log.warning("copying the SQLite log of %s failed: %s", self.store.safe_url, exc)
            return False
        return True
