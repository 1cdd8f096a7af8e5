"""Runs cut off before they finished: who runs a run, and reaping those nobody runs any more.

A sync run (``sync_runs``) and a pipeline run (``pipeline_runs``) are recorded ``running``
when they start and given their outcome when they finish. A process killed in between
(SIGKILL, the OOM killer, a power cut) never gives it: the record stays ``running`` and a
pipeline run's lease keeps its connection blocked until the lease expires. So every run
records who runs it (``Owner``: host, pid and when that process started), and before a new
run of a connection starts, ``reap`` marks the connection's runs that cannot be running any
more ``interrupted``, with the reason, and releases the lease they held:

- a run of this process that it no longer runs (an exception cut it off before its finish);
- a run of another process on this host once that process is gone: no process has its pid,
  or the one that has it started at another time (the pid was reused);
- a run of another host, or of a process that cannot be told apart (nothing recorded, or no
  start time on this system), only when no unexpired lease is held on its connection and it
  started more than ``GRACE`` ago: we cannot see another host's processes, and a run renews
  its lease while it works.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import Any, Literal

import psutil
from sqlalchemy import Connection, Table, delete, select, update

from .store.service_tables import pipeline_runs, run_leases
from .store.tables import sync_runs

__all__ = ["GRACE", "Owner", "forget", "reap", "remember", "this_process"]

log = logging.getLogger(__name__)

GRACE = dt.timedelta(minutes=2)
"""How long a run whose process cannot be seen may go without a lease before it is reaped: a
pipeline run is recorded a moment before it takes its lease."""

_live: set[tuple[str, int]] = set()
_live_lock = threading.Lock()


@dataclass(frozen=True)
class Owner:
    """The process running a run: its host, pid, and start (boot and start time), the last so
    that another process given the same pid later is not taken for it."""

    host: str
    pid: int
    start: str | None

    def values(self) -> dict[str, Any]:
        """The run record's columns naming this owner."""
        return {"host": self.host, "pid": self.pid, "process_start": self.start}

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


def _start_of(pid: int) -> str | None:
    """When process ``pid`` started, as ``boot time:start time``; None when there is no such
    process, or it is a zombie (killed, not yet waited for)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return f"{psutil.boot_time():.0f}:{process.create_time():.2f}"
    except psutil.Error:
        return None


_owner: Owner | None = None


def this_process() -> Owner:
    """The owner of the runs this process starts (found again after a fork)."""
    global _owner
    if _owner is None or _owner.pid != os.getpid():
        _owner = Owner(socket.gethostname(), os.getpid(), _start_of(os.getpid()))
    return _owner


def remember(table: Table, run_id: int) -> None:
    """Note that this process runs ``run_id`` of ``table`` (inside the transaction recording it,
    so no other thread can see the record before it is noted)."""
    with _live_lock:
        _live.add((table.name, run_id))


def forget(table: Table, run_id: int) -> None:
    """Note that this process no longer runs ``run_id``: it finished, or was cut off."""
    with _live_lock:
        _live.discard((table.name, run_id))


def _pid_state(pid: int, start: str | None) -> Literal["gone", "alive", "unknown"]:
    """Whether the process recorded as ``pid`` started at ``start`` still runs on this host."""
    now = _start_of(pid)
    if start is not None:
        return "alive" if now == start else "gone"
    return "unknown" if psutil.pid_exists(pid) else "gone"


def _why(table: Table, row: Any, lease: Any, now: dt.datetime) -> str | None:
    """Why the running ``row`` is interrupted, or None while it may still be running."""
    me = this_process()
    if row.host == me.host and row.pid is not None:
        owner = Owner(row.host, int(row.pid), row.process_start)
        if owner == me:
            with _live_lock:
                if (table.name, int(row.id)) in _live:
                    return None
            return f"interrupted: it was cut off in its process ({owner.describe()}) and never finished"
        state = _pid_state(owner.pid, owner.start)
        if state == "gone":
            return f"interrupted: the process that ran it ({owner.describe()}) is gone"
        if state == "alive":
            return None
    if lease is not None and lease.expires_at >= now:
        return None
    if row.started_at >= now - GRACE:
        return None
    who = f"pid {row.pid} on {row.host}" if row.host else "not recorded"
    return f"interrupted: the process that ran it ({who}) holds no lease on the connection any more"


def _same(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def reap(conn: Connection, connection_id: int, *, now: dt.datetime | None = None) -> list[str]:
    """Mark the connection's runs that nobody runs any more ``interrupted``, each with its
    reason, and release the leases the pipeline runs among them held. Returns the reasons, as
    ``sync run 12 interrupted: ...``, which are logged too."""
    now = now or dt.datetime.now(dt.UTC)
    lease = conn.execute(select(run_leases).where(run_leases.c.connection_id == connection_id)).first()
    reaped: list[str] = []
    for table, what in ((pipeline_runs, "pipeline run"), (sync_runs, "sync run")):
        rows = conn.execute(
            select(table).where(table.c.connection_id == connection_id, table.c.status == "running")
        ).all()
        for row in rows:
            reason = _why(table, row, lease, now)
            if reason is None:
                continue
            values: dict[str, Any] = {"status": "interrupted", "finished_at": now}
            if table is sync_runs:
                values["errors"] = [
                    *(row.errors or []),
                    {"stream": None, "error": reason, "kind": "Interrupted", "transient": True},
                ]
            else:
                values["error"] = reason
            # Only if it is still as read: another process may have finished, reaped or (a
            # worker adopting a dead worker's run) taken it over since.
            unchanged = [table.c.id == row.id, table.c.status == "running"]
            unchanged += [
                _same(table.c[name], getattr(row, name)) for name in ("host", "pid", "process_start")
            ]
            if table is pipeline_runs:
                unchanged.append(_same(table.c.holder, row.holder))
            done = conn.execute(update(table).where(*unchanged).values(**values))
            if done.rowcount != 1:
                continue
            if table is pipeline_runs and row.holder:
                # Its lease is named after its runner's holder (see Runner and QueuedRunner).
                conn.execute(
                    delete(run_leases).where(
                        run_leases.c.connection_id == connection_id,
                        run_leases.c.holder.startswith(f"{row.holder}:", autoescape=True),
                    )
                )
            reaped.append(f"{what} {row.id} {reason}")
            log.warning("connection %s: %s %s %s", connection_id, what, row.id, reason)
    return reaped
