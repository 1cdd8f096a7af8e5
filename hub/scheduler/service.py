"""The scheduler: APScheduler 3 with its job store in the hub's database.

Each enabled schedule of an active connection is one job whose id carries the schedule's
revision, so a changed schedule replaces its job and an unchanged one keeps its next fire
time across restarts; a run missed while the hub was down is run once on start (coalesced).
Jobs carry only ids; the ``PipelineExecutor`` hands each fire time to the ``Runner``, which
records it once, whichever of several scheduler processes fired it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import logging
import threading
from typing import Any

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent  # type: ignore[import-untyped]
from apscheduler.executors.base import BaseExecutor  # type: ignore[import-untyped]
from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError  # type: ignore[import-untyped]
from apscheduler.jobstores.memory import MemoryJobStore  # type: ignore[import-untyped]
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy import select

from sdk import ConfigError

from ..store.service_tables import schedules
from ..store.tables import connections
from .pipeline import Runner

__all__ = ["HubScheduler", "build_trigger", "scheduled_run"]

log = logging.getLogger(__name__)

JOB_PREFIX = "schedule-"


def scheduled_run(connection_id: int, max_attempts: int = 3) -> None:
    """The job function a schedule stores. The ``PipelineExecutor`` runs the pipeline in its
    place, with the fire time; this body only runs if a job reaches another executor."""
    raise RuntimeError("scheduled runs go through the PipelineExecutor")


def build_trigger(
    kind: str, every_seconds: int | None, cron: str | None, timezone: str, anchor: dt.datetime
) -> Any:
    """The APScheduler trigger for a schedule; ``ConfigError`` naming the field if it is bad."""
    if kind == "interval":
        if not every_seconds or every_seconds < 1:
            raise ConfigError("every_seconds: an interval schedule needs a whole number of seconds >= 1")
        # Anchored, so every process computes the same fire times for the same schedule.
        return IntervalTrigger(seconds=every_seconds, start_date=anchor, timezone=dt.UTC)
    if kind == "cron":
        try:
            return CronTrigger.from_crontab(cron or "", timezone=timezone)
        except (ValueError, TypeError, LookupError) as exc:
            raise ConfigError(
                f"cron: {cron!r} is not a valid crontab expression in {timezone}: {exc}"
            ) from None
    raise ConfigError(f"kind: {kind!r} is not a schedule kind; use interval or cron")


class PipelineExecutor(BaseExecutor):  # type: ignore[misc]
    """Runs scheduled jobs through the runner, passing the fire time APScheduler computed."""

    def __init__(self, runner: Runner, max_workers: int = 4) -> None:
        super().__init__()
        self.runner = runner
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="pipeline")

    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        def call() -> list[JobExecutionEvent]:
            events = []
            # Coalesced jobs bring one run time; without coalescing each is its own run.
            for run_time in run_times:
                self.runner.run(
                    job.args[0],
                    trigger="schedule",
                    scheduled_for=run_time,
                    max_attempts=int(job.kwargs.get("max_attempts", 1)),
                )
                events.append(JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, job._jobstore_alias, run_time))
            return events

        def done(future: concurrent.futures.Future[list[JobExecutionEvent]]) -> None:
            if future.cancelled():  # never started: shut down before its turn
                self._run_job_success(job.id, [])
                return
            exc = future.exception()
            if exc is not None:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        self._pool.submit(call).add_done_callback(done)

    def shutdown(self, wait: bool = True) -> None:
        # Runs already going finish (each commits page by page); queued ones do not start.
        self._pool.shutdown(wait, cancel_futures=True)


def run_executor(runner: Runner, max_workers: int) -> BaseExecutor:
    """Where fired runs go, as ``KPIHUB_EXECUTOR`` says: this process, or Celery workers."""
    settings = runner.hub.settings
    if settings.executor == "celery":
        from .celery_executor import CeleryExecutor, celery_app  # Celery loads only when chosen

        return CeleryExecutor(celery_app(settings.broker_url, settings.queue))
    return PipelineExecutor(runner, max_workers)


class HubScheduler:
    """Keeps APScheduler's jobs in step with the ``schedules`` table and runs them."""

    def __init__(self, runner: Runner, *, reconcile_seconds: float = 15.0, max_workers: int = 4) -> None:
        self.runner = runner
        store = runner.hub.ready_store
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=store.engine), "local": MemoryJobStore()},
            executors={"default": run_executor(runner, max_workers), "local": ThreadPoolExecutor(1)},
            # A run missed while the hub was down runs once when it is back, however late.
            # Overlapping fires are let through to the runner, which records them as skipped
            # (APScheduler's own max_instances would drop them without a trace).
            job_defaults={"coalesce": True, "max_instances": 1000, "misfire_grace_time": None},
            timezone=dt.UTC,
        )
        self.reconcile_seconds = reconcile_seconds
        # Reconciling calls the scheduler's own API, which takes the locks its shutdown holds
        # while it waits for running jobs: a reconcile job caught mid-way would deadlock the
        # shutdown. Shutdown therefore waits for a reconcile in progress and turns later ones
        # into no-ops before it stops the scheduler.
        self._reconcile_lock = threading.Lock()
        self._stopping = False

    def start(self) -> None:
        self.scheduler.start()
        self.reconcile()
        self.scheduler.add_job(
            self.reconcile,
            IntervalTrigger(seconds=self.reconcile_seconds),
            id="reconcile",
            jobstore="local",
            executor="local",
            replace_existing=True,
        )

    def shutdown(self, wait: bool = True) -> None:
        """Stop firing; with ``wait``, let the runs in progress finish first."""
        with self._reconcile_lock:  # waits for a reconcile in progress; later ones do nothing
            self._stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        if wait:
            self.runner.join()

    def wanted(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        """Job id -> (trigger, kwargs) for every enabled schedule of an active connection."""
        with self.runner.hub.ready_store.begin() as conn:
            rows = conn.execute(
                select(schedules)
                .join(connections, connections.c.id == schedules.c.connection_id)
                .where(schedules.c.enabled.is_(True), connections.c.status == "active")
            ).all()
        jobs = {}
        for row in rows:
            try:
                trigger = build_trigger(row.kind, row.every_seconds, row.cron, row.timezone, row.anchor)
            except ConfigError as exc:  # stored before a rule tightened: skip it, say why
                log.warning("schedule %s is not valid and does not run: %s", row.id, exc)
                continue
            job_id = f"{JOB_PREFIX}{row.id}-c{row.connection_id}-r{row.revision}"
            jobs[job_id] = (
                trigger,
                {"connection_id": int(row.connection_id), "max_attempts": int(row.max_attempts)},
            )
        return jobs

    def reconcile(self) -> None:
        """Add jobs for new or changed schedules, remove those of deleted or paused ones."""
        with self._reconcile_lock:
            if not self._stopping:
                self._reconcile()

    def _reconcile(self) -> None:
        wanted = self.wanted()
        for job in self.scheduler.get_jobs(jobstore="default"):
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                with contextlib.suppress(JobLookupError):  # removed by another process already
                    self.scheduler.remove_job(job.id, jobstore="default")
        for job_id, (trigger, kwargs) in wanted.items():
            if self.scheduler.get_job(job_id, jobstore="default") is not None:
                continue
            # Another scheduler process may have added it a moment ago.
            with contextlib.suppress(ConflictingIdError):
                self.scheduler.add_job(
                    scheduled_run,
                    trigger,
                    args=[kwargs["connection_id"]],
                    kwargs={"max_attempts": kwargs["max_attempts"]},
                    id=job_id,
                    jobstore="default",
                    executor="default",
                )

    def jobs(self) -> list[tuple[str, dt.datetime | None]]:
        return [(job.id, job.next_run_time) for job in self.scheduler.get_jobs(jobstore="default")]
