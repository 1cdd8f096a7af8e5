"""What a worker does with one delivered run, without a broker: the rules that make at-least-once
delivery safe (a finished fire time is not run again, a dead worker's run is adopted, a busy
connection puts the message back), and the plain errors of a worker started without a broker."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from fakeshop import data

from hub.connections import set_connection_status
from hub.scheduler import SyncStep
from hub.scheduler.celery_executor import ConnectionBusy, QueuedRunner
from hub.scheduler.lease import acquire
from hub.store.service_tables import pipeline_runs, run_leases
from hub.store.tables import standard_tables, sync_runs

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

FIRE = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def worker_runner(hub):
    return QueuedRunner(hub, steps=[SyncStep()], lease_ttl=5.0)


def _take(runner, connection_id, fire=FIRE):
    return runner.take(connection_id, trigger="schedule", scheduled_for=fire, max_attempts=1)


def _count(hub, table):
    with hub.ready_store.begin() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_a_second_delivery_of_a_finished_run_does_nothing(hub, connect, worker_runner, runs):
    info = connect()
    run_id = _take(worker_runner, info.id)
    assert run_id is not None
    assert _take(QueuedRunner(hub, steps=[SyncStep()]), info.id) is None
    (run,) = runs()
    assert run.id == run_id and run.status == "succeeded"
    assert _count(hub, sync_runs) == 1


def test_a_dead_workers_run_is_adopted_and_finished_once(hub, connect, worker_runner, runs):
    info = connect()
    # What a worker killed mid-run leaves: its record still running, its lease expired.
    with hub.ready_store.begin() as conn:
        conn.execute(
            pipeline_runs.insert().values(
                connection_id=info.id,
                trigger="schedule",
                scheduled_for=FIRE,
                status="running",
                steps={},
                holder="gone:1:abc",
                started_at=FIRE,
            )
        )
        conn.execute(
            run_leases.insert().values(
                connection_id=info.id, holder="gone:1:abc:x", expires_at=FIRE - dt.timedelta(seconds=1)
            )
        )
    run_id = _take(worker_runner, info.id)
    (run,) = runs()
    assert run.id == run_id and run.status == "succeeded" and run.holder == worker_runner.holder
    truth = data.truth(data.orders(7, 23), shop_id="S1")
    assert _count(hub, standard_tables["orders"]) == len(truth["orders"])


def test_a_busy_connection_sends_the_message_back_and_records_nothing(hub, connect, worker_runner, runs):
    info = connect()
    assert acquire(hub.ready_store, info.id, "another-run", ttl=60)
    with pytest.raises(ConnectionBusy):
        _take(worker_runner, info.id)
    assert runs() == []


def test_a_paused_connection_is_recorded_skipped(hub, connect, worker_runner, runs):
    info = connect()
    set_connection_status(hub.ready_store, info, "paused", actor="test")
    _take(worker_runner, info.id)
    (run,) = runs()
    assert run.status == "skipped" and "paused" in run.error


def _worker(env):
    command = [sys.executable, "-c", "from hub.cli import main; main()", "worker"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_a_worker_without_a_broker_says_which_setting_is_missing(hub_env, database_url):
    env = {k: v for k, v in os.environ.items() if k != "KPIHUB_BROKER_URL"}
    result = _worker(env)
    assert result.returncode != 0
    assert "KPIHUB_BROKER_URL is not set" in result.stderr and "Traceback" not in result.stderr
