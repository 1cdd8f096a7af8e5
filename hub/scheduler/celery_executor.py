"""Runs on Celery workers: the scheduler enqueues, ``kpihub worker`` processes run.

With ``KPIHUB_EXECUTOR=celery`` the scheduler's ``CeleryExecutor`` sends one message per fire
time to the broker: the connection's id, the trigger, the fire time and the retry limit,
nothing secret. Any number of ``kpihub worker`` processes take those messages and run the same
pipeline the in-process executor runs (``Runner``), under the same per-connection lease and the
same retry rules; what happened is recorded in the hub's ``pipeline_runs`` table, never in a
Celery result backend.

Delivery is at least once: a message is acknowledged only after its run finished
(``acks_late``), so the run of a worker killed mid-way goes back to the queue and another
worker picks it up. The pipeline makes that safe: the fire time's record is found again and
adopted, the sync resumes from its last committed checkpoint and rows are upserted, so nothing
is run twice or written twice. A message that finds its connection running elsewhere is put
back with a delay rather than dropped, since a queue, unlike a timer, may deliver two fire
times of one connection at the same moment.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from typing import Any

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent  # type: ignore[import-untyped]
from apscheduler.executors.base import BaseExecutor  # type: ignore[import-untyped]
from celery import Celery  # type: ignore[import-untyped]
from sqlalchemy import select, update

from sdk import ConfigError

from ..orphans import forget, remember, this_process
from ..store.service_tables import pipeline_runs
from .lease import Lease
from .pipeline import Runner

__all__ = ["RUN_TASK", "CeleryExecutor", "QueuedRunner", "celery_app", "enqueue", "run_worker"]

log = logging.getLogger(__name__)

RUN_TASK = "kpihub.run"
DEFER_SECONDS = 2.0
"""How long a message whose connection is busy waits before it is tried again."""


def celery_app(broker_url: str | None, queue: str, *, redelivery_seconds: float = 3600.0) -> Celery:
    """The Celery application of the hub: one queue, late acknowledgement, no result backend."""
    if not broker_url:
        raise ConfigError(
            "KPIHUB_BROKER_URL is not set: the celery executor needs a broker, "
            "e.g. KPIHUB_BROKER_URL=redis://127.0.0.1:6379/0"
        )
    app = Celery("kpihub", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=queue,
        task_serializer="json",
        accept_content=["json"],
        # The run's record in the hub's database is the result; nothing goes to a backend.
        task_ignore_result=True,
        # Acknowledged once the run is over: a worker killed mid-run leaves its message to
        # be delivered again (Redis does so after the visibility timeout).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A worker holds only the message it runs, so a killed one strands no others.
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": redelivery_seconds,
            # Sweep for stranded messages often enough to honour a short visibility timeout.
            "unacked_restore_interval": max(1.0, min(10.0, redelivery_seconds / 10)),
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
    )
    return app


def enqueue(
    app: Celery,
    connection_id: int,
    *,
    scheduled_for: dt.datetime,
    trigger: str = "schedule",
    max_attempts: int = 1,
) -> None:
    """Send one run to the workers: ids and the fire time only (JSON, nothing secret)."""
    app.send_task(
        RUN_TASK,
        args=[int(connection_id)],
        kwargs={
            "trigger": trigger,
            "scheduled_for": scheduled_for.astimezone(dt.UTC).replace(microsecond=0).isoformat(),
            "max_attempts": int(max_attempts),
        },
    )


class CeleryExecutor(BaseExecutor):  # type: ignore[misc]
    """APScheduler's executor for ``KPIHUB_EXECUTOR=celery``: each fire time becomes a message."""

    def __init__(self, app: Celery) -> None:
        super().__init__()
        self.app = app

    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        events = []
        try:
            for run_time in run_times:  # one when coalesced
                enqueue(
                    self.app,
                    job.args[0],
                    scheduled_for=run_time,
                    max_attempts=int(job.kwargs.get("max_attempts", 1)),
                )
                events.append(JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, job._jobstore_alias, run_time))
        except Exception as exc:  # noqa: BLE001 - broker down: APScheduler logs it, the next fire retries
            self._run_job_error(job.id, exc, exc.__traceback__)
            return
        self._run_job_success(job.id, events)

    def shutdown(self, wait: bool = True) -> None:
        self.app.close()  # the broker connections; the runs themselves are the workers'


class ConnectionBusy(Exception):
    """Another run of the connection holds its lease; the message is to be tried again later."""


class QueuedRunner(Runner):
    """The ``Runner`` as a worker uses it: the lease is taken before the fire time's record, so
    a record found still running while we hold the lease belongs to a holder that died (its
    lease expired), and is adopted instead of being counted as done."""

    def take(
        self, connection_id: int, *, trigger: str, scheduled_for: dt.datetime, max_attempts: int
    ) -> int | None:
        """Run one delivered fire time; its record's id, or ``None`` if it was already done.

        Raises ``ConnectionBusy`` while another run of the connection holds the lease.
        """
        scheduled_for = scheduled_for.replace(microsecond=0)
        info = self._info(connection_id)
        if info is None:
            log.info("connection %s no longer exists; its queued run is dropped", connection_id)
            return None
        if info.status != "active":
            run_id = self._claim(connection_id, trigger, scheduled_for)
            if run_id is not None:
                self._finish(run_id, status="skipped", error=f"the connection is {info.status}")
            return run_id
        stamp = scheduled_for.strftime("%Y%m%dT%H%M%S")
        self.reap(connection_id)
        with Lease(self.hub.ready_store, connection_id, f"{self.holder}:{stamp}", self.lease_ttl) as lease:
            if not lease.held:
                raise ConnectionBusy(f"a run of connection {connection_id} is in progress")
            run_id = self._claim(connection_id, trigger, scheduled_for)
            if run_id is None:
                run_id = self._adopt(connection_id, trigger, scheduled_for)
                if run_id is None:
                    return None  # delivered twice; the first delivery finished it
            try:
                self._attempts(run_id, info, trigger, scheduled_for, max_attempts)
            except BaseException:
                forget(pipeline_runs, run_id)  # cut off: the next run of the connection reaps it
                raise
        return run_id

    def skip(self, connection_id: int, *, trigger: str, scheduled_for: dt.datetime, reason: str) -> None:
        """Record a fire time that waited too long for its connection as skipped."""
        run_id = self._claim(connection_id, trigger, scheduled_for.replace(microsecond=0))
        if run_id is not None:
            self._finish(run_id, status="skipped", error=reason)

    def _adopt(self, connection_id: int, trigger: str, scheduled_for: dt.datetime) -> int | None:
        """Take over the fire time's record if its run never finished (its worker died)."""
        with self.hub.ready_store.begin() as conn:
            row = conn.execute(
                select(pipeline_runs.c.id, pipeline_runs.c.status, pipeline_runs.c.holder).where(
                    pipeline_runs.c.connection_id == connection_id,
                    pipeline_runs.c.trigger == trigger,
                    pipeline_runs.c.scheduled_for == scheduled_for,
                )
            ).one()
            if row.status not in ("running", "interrupted"):
                return None
            log.warning(
                "run %s of connection %s was left by %s; running it again", row.id, connection_id, row.holder
            )
            conn.execute(
                update(pipeline_runs)
                .where(pipeline_runs.c.id == row.id)
                .values(holder=self.holder, status="running", finished_at=None, **this_process().values())
            )
            remember(pipeline_runs, int(row.id))
        return int(row.id)


def register_run_task(app: Celery, runner: QueuedRunner, *, max_wait: float = 3600.0) -> Any:
    """The task a worker runs for each message, bound to this process's runner."""

    @app.task(name=RUN_TASK, bind=True, max_retries=None, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def run(self: Any, connection_id: int, trigger: str, scheduled_for: str, max_attempts: int) -> None:
        fire = dt.datetime.fromisoformat(scheduled_for)
        try:
            runner.take(connection_id, trigger=trigger, scheduled_for=fire, max_attempts=max_attempts)
        except ConnectionBusy:
            if (dt.datetime.now(dt.UTC) - fire).total_seconds() > max_wait:
                runner.skip(
                    connection_id,
                    trigger=trigger,
                    scheduled_for=fire,
                    reason="a run of this connection was still in progress",
                )
                return
            raise self.retry(countdown=DEFER_SECONDS) from None

    return run


def run_worker(
    runner: QueuedRunner,
    broker_url: str | None,
    queue: str,
    *,
    redelivery_seconds: float = 3600.0,
    max_wait: float = 3600.0,
    hostname: str | None = None,
) -> int:
    """Run a Celery worker in this process until it is stopped; return its exit code.

    One run at a time (pool ``solo``): start more ``kpihub worker`` processes to run more.
    """
    app = celery_app(broker_url, queue, redelivery_seconds=redelivery_seconds)
    register_run_task(app, runner, max_wait=max_wait)
    worker = app.Worker(
        pool="solo",
        concurrency=1,
        queues=[queue],
        hostname=hostname or f"kpihub-{os.getpid()}@{socket.gethostname()}",
        loglevel="INFO",
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    worker.start()
    return int(worker.exitcode or 0)
