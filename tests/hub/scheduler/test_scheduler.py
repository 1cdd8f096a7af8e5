"""APScheduler with its job store in the hub database: schedules fire the pipeline, overlapping
fires are skipped with a record, jobs survive a restart, and runs missed while down coalesce."""

from __future__ import annotations

import datetime as dt
import itertools
import time

import pytest
import sqlalchemy as sa

from hub.context import HubContext
from hub.scheduler import HubScheduler, Runner, SyncStep
from hub.store.service_tables import apscheduler_jobs

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _fresh_hub(hub):
    """Another process's view of the same database: its own engine, settings and registry."""
    other = HubContext(hub.settings)
    other.__dict__["registry"] = hub.registry
    return other


class Slow:
    """A pipeline step that takes longer than the schedule's interval."""

    name = "slow"

    def __call__(self, hub, run):
        time.sleep(1.6)
        return {}


def test_a_schedule_fires_the_pipeline(hub, connect, schedule, runs, waiter):
    info = connect()
    schedule(info.id, every_seconds=1)
    scheduler = HubScheduler(Runner(hub, steps=[SyncStep()]), reconcile_seconds=0.5)
    scheduler.start()
    try:
        waiter(lambda: sum(r.status == "succeeded" for r in runs()) >= 2, what="two scheduled runs")
        with hub.ready_store.begin() as conn:
            stored = conn.execute(sa.select(apscheduler_jobs.c.id)).scalars().all()
    finally:
        scheduler.shutdown()
    done = runs()
    assert stored == [f"schedule-1-c{info.id}-r1"]
    assert done[0].steps["sync"]["rows_read"] == 23  # the first run reads everything, later ones nothing new
    fires = [r.scheduled_for for r in done]
    assert len(set(fires)) == len(fires) and all(f.microsecond == 0 for f in fires)
    assert all(r.trigger == "schedule" for r in done)


def test_an_overlapping_fire_is_skipped_with_a_record(hub, connect, schedule, runs, waiter):
    info = connect()
    schedule(info.id, every_seconds=1)
    scheduler = HubScheduler(Runner(hub, steps=[SyncStep(), Slow()]), reconcile_seconds=0.5)
    scheduler.start()
    try:
        waiter(lambda: any(r.status == "skipped" for r in runs()), what="a skipped fire")
    finally:
        scheduler.shutdown()
    done = runs()
    skipped = [r for r in done if r.status == "skipped"]
    assert skipped and all("still in progress" in r.error for r in skipped)
    ran = sorted((r.started_at, r.finished_at) for r in done if r.status == "succeeded")
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(ran)), "two runs overlapped"


def test_jobs_survive_a_restart_and_missed_runs_coalesce(hub, connect, schedule, runs, waiter):
    info = connect()
    schedule(info.id, every_seconds=1)
    first = HubScheduler(Runner(hub, steps=[SyncStep()]), reconcile_seconds=60)
    first.start()
    waiter(lambda: len(runs()) >= 1, what="a first run")
    first.shutdown()
    stopped = dt.datetime.now(dt.UTC)
    with hub.ready_store.begin() as conn:
        (before,) = conn.execute(sa.select(apscheduler_jobs.c.id)).scalars().all()

    time.sleep(3.2)  # three or four fire times pass while no scheduler runs

    other = _fresh_hub(hub)
    second = HubScheduler(Runner(other, steps=[SyncStep()]), reconcile_seconds=60)
    restarted = dt.datetime.now(dt.UTC)
    second.start()
    try:
        # The same job, loaded from the store: a re-created one would have no missed run.
        assert [job_id for job_id, _ in second.jobs()] == [before]
        waiter(lambda: any(r.started_at >= restarted for r in runs()), what="the coalesced run")
    finally:
        second.shutdown()
        other.close()
    missed = [r for r in runs() if stopped < r.scheduled_for <= restarted]
    assert len(missed) == 1, [r.scheduled_for for r in runs()]
    assert missed[0].status == "succeeded"


def test_a_paused_connections_job_is_removed(hub, connect, schedule):
    from hub.connections import set_connection_status

    info = connect()
    schedule(info.id, every_seconds=3600)
    scheduler = HubScheduler(Runner(hub, steps=[SyncStep()]), reconcile_seconds=60)
    scheduler.start()
    try:
        assert len(scheduler.jobs()) == 1
        set_connection_status(hub.ready_store, info, "paused", actor="test")
        scheduler.reconcile()
        assert scheduler.jobs() == []
    finally:
        scheduler.shutdown()


def test_shutdown_during_a_reconcile_does_not_deadlock(hub, connect, schedule):
    """A reconcile job calls the scheduler's API, whose locks a waiting shutdown holds."""
    import threading

    info = connect()
    schedule(info.id, every_seconds=3600)
    scheduler = HubScheduler(Runner(hub, steps=[SyncStep()]), reconcile_seconds=0.2)
    inside = threading.Event()
    wanted = scheduler.wanted

    def slow_wanted():
        inside.set()
        time.sleep(0.5)  # the shutdown begins while this reconcile is half-way
        return wanted()

    scheduler.start()
    scheduler.wanted = slow_wanted
    assert inside.wait(5)
    stopper = threading.Thread(target=scheduler.shutdown)
    stopper.start()
    stopper.join(15)
    assert not stopper.is_alive(), "shutdown deadlocked with a reconcile job"
