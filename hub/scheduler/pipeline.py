"""What one run of a connection does, in order: sync, then whatever depends on fresh data.

The pipeline is an ordered list of steps. Each step receives the run so far and returns a
JSON-able summary that is stored on the pipeline run; a step that raises stops the steps
after it. The sync step lives here; the KPI, management (targets, scorecards,
alerts) and push steps are in ``steps.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from sdk import KpihubError

from ..connections import ConnectionInfo, open_source
from ..context import HubContext
from ..orphans import forget, reap, remember, this_process
from ..redaction import scrub
from ..store.service_tables import pipeline_runs
from ..store.tables import connections, tenants
from ..sync import RunResult, sync_connection
from .lease import Lease

__all__ = ["PipelineRun", "Runner", "Step", "SyncStep", "default_steps"]

log = logging.getLogger(__name__)


@dataclass
class PipelineRun:
    """One run of a connection's pipeline as the steps see it."""

    id: int
    info: ConnectionInfo
    trigger: str
    scheduled_for: dt.datetime
    attempt: int = 0
    sync: RunResult | None = None
    summaries: dict[str, Any] = field(default_factory=dict)


class Step(Protocol):
    """A stage of the pipeline; ``name`` keys its summary on the run record."""

    name: str

    def __call__(self, hub: HubContext, run: PipelineRun) -> dict[str, Any]: ...


class SyncStep:
    """Read new data from the connection's source into the store."""

    name = "sync"

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.transport = transport

    def __call__(self, hub: HubContext, run: PipelineRun) -> dict[str, Any]:
        source = open_source(
            hub.ready_store, hub.vault, hub.registry, run.info, transport=self.transport, egress=hub.egress
        )
        run.sync = asyncio.run(sync_connection(hub.ready_store, run.info, source))
        return {
            "run_id": run.sync.run_id,
            "status": run.sync.status,
            "rows_read": run.sync.rows_read,
            "rows_written": run.sync.rows_written,
            "errors": run.sync.errors,
        }


def default_steps(transport: httpx.AsyncBaseTransport | None = None) -> list[Step]:
    """The steps every run takes: sync, recompute KPIs, targets/scorecards/alerts, push sinks."""
    from .steps import ComputeStep, ManagementStep, PushStep  # steps.py imports this module

    return [SyncStep(transport), ComputeStep(), ManagementStep(), PushStep()]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def process_name() -> str:
    """Who holds a lease: host, process and a random part (two hubs in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Runner:
    """Runs connections' pipelines: records each run once, never two at once per connection,
    and retries a run whose failure is transient, as the error's class says."""

    def __init__(
        self,
        hub: HubContext,
        *,
        steps: Sequence[Step] | None = None,
        holder: str | None = None,
        lease_ttl: float = 300.0,
        retry_delays: Sequence[float] = (30.0, 120.0, 600.0),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.hub = hub
        self.steps = list(steps) if steps is not None else default_steps()
        self.holder = holder or process_name()
        self.lease_ttl = lease_ttl
        self.retry_delays = list(retry_delays)
        self.sleep = sleep
        self._threads: list[threading.Thread] = []

    # -- recording -------------------------------------------------------------------------

    def _claim(self, connection_id: int, trigger: str, scheduled_for: dt.datetime) -> int | None:
        """Insert the run's record; ``None`` if another process already recorded this fire time."""
        now = _now()
        try:
            with self.hub.ready_store.engine.begin() as conn:
                inserted = conn.execute(
                    insert(pipeline_runs).values(
                        connection_id=connection_id,
                        trigger=trigger,
                        scheduled_for=scheduled_for,
                        status="running",
                        steps={},
                        holder=self.holder,
                        started_at=now,
                        **this_process().values(),
                    )
                )
                key = inserted.inserted_primary_key
                assert key is not None
                remember(pipeline_runs, int(key[0]))
        except IntegrityError:
            return None
        return int(key[0])

    def _claim_now(self, connection_id: int, trigger: str) -> tuple[int, dt.datetime]:
        """Record a run for now; fire times are whole seconds, so a second run within the same
        second (a manual trigger twice, a test) takes the next free one rather than being
        refused as another process's copy of the same fire."""
        scheduled_for = _now().replace(microsecond=0)
        run_id = self._claim(connection_id, trigger, scheduled_for)
        while run_id is None:
            scheduled_for += dt.timedelta(seconds=1)
            run_id = self._claim(connection_id, trigger, scheduled_for)
        return run_id, scheduled_for

    def _finish(self, run_id: int, **values: Any) -> None:
        forget(pipeline_runs, run_id)
        with self.hub.ready_store.begin() as conn:
            conn.execute(
                update(pipeline_runs).where(pipeline_runs.c.id == run_id).values(finished_at=_now(), **values)
            )

    def _info(self, connection_id: int) -> ConnectionInfo | None:
        with self.hub.ready_store.begin() as conn:
            row = conn.execute(
                select(connections, tenants.c.name.label("tenant"))
                .join(tenants, tenants.c.id == connections.c.tenant_id)
                .where(connections.c.id == connection_id)
            ).first()
        if row is None:
            return None
        return ConnectionInfo(
            id=int(row.id),
            tenant_id=int(row.tenant_id),
            tenant=row.tenant,
            name=row.name,
            plugin=row.plugin,
            options=dict(row.options),
            status=row.status,
            has_credentials=row.credentials is not None,
        )

    # -- running ---------------------------------------------------------------------------

    def run(
        self,
        connection_id: int,
        *,
        trigger: str = "manual",
        scheduled_for: dt.datetime | None = None,
        max_attempts: int = 1,
        run_id: int | None = None,
    ) -> int | None:
        """Run the pipeline for a connection now, in this thread; return the run's id.

        ``None`` means another process already took the fire time ``scheduled_for`` (nothing
        recorded twice); without one, the run is for now and always recorded. A run that finds
        the connection running elsewhere, or paused, is recorded as skipped.
        """
        if scheduled_for is None and run_id is None:
            run_id, scheduled_for = self._claim_now(connection_id, trigger)
        scheduled_for = (scheduled_for or _now()).replace(microsecond=0)
        if run_id is None:
            run_id = self._claim(connection_id, trigger, scheduled_for)
            if run_id is None:
                return None
        try:
            self._run_claimed(run_id, connection_id, trigger, scheduled_for, max_attempts)
        except BaseException:
            forget(pipeline_runs, run_id)  # cut off: the next run of the connection reaps it
            raise
        return run_id

    def _run_claimed(
        self, run_id: int, connection_id: int, trigger: str, scheduled_for: dt.datetime, max_attempts: int
    ) -> None:
        info = self._info(connection_id)
        if info is None or info.status != "active":
            state = "deleted" if info is None else info.status
            self._finish(run_id, status="skipped", error=f"the connection is {state}")
            return
        self.reap(connection_id)
        with Lease(self.hub.ready_store, connection_id, f"{self.holder}:{run_id}", self.lease_ttl) as lease:
            if not lease.held:
                self._finish(run_id, status="skipped", error="a run of this connection is still in progress")
                return
            self._attempts(run_id, info, trigger, scheduled_for, max_attempts)

    def reap(self, connection_id: int) -> list[str]:
        """Mark the connection's runs whose process is gone ``interrupted`` and release their
        lease, so a run asked for after a crash starts at once (see ``hub.orphans``)."""
        with self.hub.ready_store.begin() as conn:
            return reap(conn, connection_id)

    def _attempts(
        self, run_id: int, info: ConnectionInfo, trigger: str, scheduled_for: dt.datetime, max_attempts: int
    ) -> None:
        run = PipelineRun(id=run_id, info=info, trigger=trigger, scheduled_for=scheduled_for)
        while True:
            run.attempt += 1
            run.summaries, error, transient = {}, None, False
            try:
                for step in self.steps:
                    run.summaries[step.name] = step(self.hub, run)
                    if run.sync is not None and step.name == "sync" and run.sync.status == "failed":
                        break  # nothing downstream has new data to work on
            except KpihubError as exc:
                error, transient = scrub(f"{type(exc).__name__}: {exc}"), exc.transient
            except Exception as exc:  # a step's bug fails its run, not the scheduler
                log.exception("pipeline step failed for connection %s", info.name)
                error = f"a pipeline step failed unexpectedly: {type(exc).__name__}"
            status, retryable = self._outcome(run, error, transient)
            if status != "failed" or not retryable or run.attempt >= max_attempts:
                break
            self.sleep(self.retry_delays[min(run.attempt - 1, len(self.retry_delays) - 1)])
        self._finish(
            run_id,
            status=status,
            attempts=run.attempt,
            sync_run_id=run.sync.run_id if run.sync else None,
            steps=run.summaries,
            error=error,
        )

    @staticmethod
    def _outcome(run: PipelineRun, error: str | None, transient: bool) -> tuple[str, bool]:
        """The run's status, and whether retrying can help: decided by the errors' classes."""
        if error is not None:
            return "failed", transient
        if run.sync is None or run.sync.status == "succeeded":
            return "succeeded", False
        if run.sync.status == "partial":
            return "partial", False
        return "failed", bool(run.sync.errors) and all(e.get("transient") for e in run.sync.errors)

    def start(self, connection_id: int, *, trigger: str = "manual") -> int:
        """Record a run now and carry it out in a background thread; return its id at once."""
        run_id, scheduled_for = self._claim_now(connection_id, trigger)
        thread = threading.Thread(
            target=self.run,
            args=(connection_id,),
            kwargs={"trigger": trigger, "scheduled_for": scheduled_for, "run_id": run_id},
            name=f"run-{run_id}",
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return run_id

    def join(self, timeout: float | None = None) -> None:
        """Wait for the runs ``start`` began (graceful shutdown; tests)."""
        for thread in list(self._threads):
            thread.join(timeout)
