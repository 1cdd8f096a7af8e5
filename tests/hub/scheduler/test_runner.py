"""The runner: each fire time recorded once, no overlap, retries decided by the error's class."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from fakeshop import data

from hub.connections import set_connection_status
from hub.scheduler import Runner, SyncStep
from hub.scheduler.lease import acquire
from hub.store.tables import standard_tables, sync_runs
from sdk import UpstreamUnavailable

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

FIRE = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def _count(hub, table):
    with hub.ready_store.begin() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_a_run_syncs_to_the_truth_and_records_its_steps(hub, connect, runner, runs):
    info = connect()
    run_id = runner.run(info.id, trigger="schedule", scheduled_for=FIRE)
    (run,) = runs()
    assert run.id == run_id and run.status == "succeeded" and run.attempts == 1
    assert run.steps["sync"]["rows_read"] == 23 and run.sync_run_id == run.steps["sync"]["run_id"]
    truth = data.truth(data.orders(7, 23), shop_id="S1")
    assert _count(hub, standard_tables["orders"]) == len(truth["orders"])


def test_the_same_fire_time_is_recorded_once(hub, connect, runner, runs):
    info = connect()
    other = Runner(hub, steps=[SyncStep()])  # a second scheduler process firing the same job
    assert runner.run(info.id, trigger="schedule", scheduled_for=FIRE) is not None
    assert other.run(info.id, trigger="schedule", scheduled_for=FIRE) is None
    assert len(runs()) == 1 and _count(hub, sync_runs) == 1


def test_a_running_connection_is_skipped_with_a_record(hub, connect, runner, runs):
    info = connect()
    assert acquire(hub.ready_store, info.id, "another-process:7", ttl=60)
    runner.run(info.id, trigger="schedule", scheduled_for=FIRE)
    (run,) = runs()
    assert run.status == "skipped" and "still in progress" in run.error
    assert _count(hub, sync_runs) == 0


def test_a_paused_connection_is_skipped(hub, connect, runner, runs):
    info = connect()
    set_connection_status(hub.ready_store, info, "paused", actor="test")
    runner.run(info.id, trigger="schedule", scheduled_for=FIRE)
    assert runs()[0].status == "skipped" and "paused" in runs()[0].error


def test_transient_failures_are_retried_up_to_the_limit(hub, connect, runner, runs, slept):
    info = connect(options={"shop_id": "S1", "orders": 0, "fail_after_all": True})
    runner.run(info.id, trigger="schedule", scheduled_for=FIRE, max_attempts=3)
    (run,) = runs()
    assert run.status == "failed" and run.attempts == 3
    assert slept == [5.0, 7.0]
    assert run.steps["sync"]["errors"][0]["kind"] == "UpstreamUnavailable"


def test_terminal_failures_are_not_retried(hub, connect, runner, runs, slept):
    info = connect(credentials={"seller_id": "A1", "api_key": "rejected"})
    runner.run(info.id, trigger="schedule", scheduled_for=FIRE, max_attempts=3)
    (run,) = runs()
    assert run.status == "failed" and run.attempts == 1 and slept == []
    assert run.steps["sync"]["errors"][0]["kind"] == "CredentialError"


class Recorder:
    """A later pipeline step: sees the sync's result; may fail transiently once."""

    name = "kpi"

    def __init__(self, fail_first=False):
        self.seen, self.fail_first = [], fail_first

    def __call__(self, hub, run):
        self.seen.append((run.attempt, run.sync.status))
        if self.fail_first and len(self.seen) == 1:
            raise UpstreamUnavailable("the KPI engine is busy")
        return {"recomputed": run.sync.rows_written}


def test_steps_run_in_order_and_a_transient_step_failure_retries(hub, connect, runs, slept):
    info = connect()
    step = Recorder(fail_first=True)
    runner = Runner(hub, steps=[SyncStep(), step], retry_delays=(1.0,), sleep=slept.append)
    runner.run(info.id, trigger="manual", scheduled_for=FIRE, max_attempts=2)
    (run,) = runs()
    assert step.seen == [(1, "succeeded"), (2, "succeeded")]
    assert run.status == "succeeded" and run.attempts == 2 and slept == [1.0]
    assert list(run.steps) == ["sync", "kpi"] and run.steps["kpi"]["recomputed"] == 0


def test_runs_for_now_within_one_second_are_each_recorded(hub, connect, runner, runs, monkeypatch):
    # Fire times are whole seconds and one per (connection, trigger, time) is kept; a run for
    # "now" must not be taken for another process's copy of a run that started the same second.
    monkeypatch.setattr("hub.scheduler.pipeline._now", lambda: FIRE.replace(microsecond=250_000))
    info = connect()
    first = runner.run(info.id)
    second = runner.run(info.id)
    recorded = runs()
    assert first is not None and second is not None and first != second
    assert [run.id for run in recorded] == [first, second]
    assert [run.scheduled_for for run in recorded] == [FIRE, FIRE + dt.timedelta(seconds=1)]
    assert recorded[1].steps["sync"]["rows_written"] == 0
