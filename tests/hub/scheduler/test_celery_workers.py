"""Runs on Celery workers: two real ``kpihub worker`` processes on a Redis broker and one
PostgreSQL hub database take 40 enqueued runs; one worker is killed with SIGKILL mid-run.

Every run completes exactly once (one succeeded pipeline run, with its own succeeded sync, per
enqueued fire time), the killed worker's run is delivered again and finished by another
worker, and the standard rows equal the fake shop's truth: nothing lost, nothing doubled.
Then the scheduler itself, set to ``KPIHUB_EXECUTOR=celery``, only enqueues: its fires are run
by the workers, never by the scheduler's process.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_EXECUTED
from fakeshop import data
from sqlalchemy.engine import make_url

from hub.connections import add_connection, list_connections
from hub.context import HubContext
from hub.kpi.basis import current_basis
from hub.scheduler import HubScheduler, Runner, SyncStep
from hub.scheduler.celery_executor import celery_app, enqueue
from hub.settings import Settings
from hub.store.service_tables import pipeline_runs
from hub.store.tables import standard_tables, sync_runs

FIXTURES = Path(__file__).parents[2] / "fixtures"
REDIS_URL = os.environ.get("KPIHUB_TEST_REDIS_URL")
REDIS_DB = 13  # this module's own database number, so no other test's messages are swept
CONNECTIONS = 4
FIRES = 10  # per connection: 40 runs
ORDERS = 30
LEASE = 3
REDELIVERY = 5

pytestmark = [
    pytest.mark.skipif(
        not REDIS_URL, reason="KPIHUB_TEST_REDIS_URL is not set (.ci/run sets it to the local Redis)"
    ),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


@pytest.fixture
def broker(monkeypatch):
    """A broker URL on this module's Redis database and a queue no other test uses."""
    url = make_url(REDIS_URL).set(database=str(REDIS_DB)).render_as_string(hide_password=False)
    queue = f"kpihub-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("KPIHUB_BROKER_URL", url)
    monkeypatch.setenv("KPIHUB_QUEUE", queue)
    return url, queue


def _worker(env, log: Path, **extra):
    command = [
        sys.executable,
        "-c",
        "from hub.cli import main; main()",
        "worker",
        "--lease-seconds",
        str(LEASE),
        "--redelivery-seconds",
        str(REDELIVERY),
    ]
    with log.open("w") as out:  # the child keeps its own descriptor
        return subprocess.Popen(command, env={**env, **extra}, stdout=out, stderr=subprocess.STDOUT)


def _wait_ready(process, log: Path, timeout=30.0, word=" ready."):
    deadline = time.monotonic() + timeout
    while word not in log.read_text():
        assert process.poll() is None, f"the worker exited early:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"the worker never became ready:\n{log.read_text()}"
        time.sleep(0.1)


def _stop(process, log: Path):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # Celery's warm shutdown: the run in hand finishes
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"the worker did not stop:\n{log.read_text()}") from None


def _runs(store, trigger="schedule"):
    with store.begin() as conn:
        return conn.execute(sa.select(pipeline_runs).where(pipeline_runs.c.trigger == trigger)).all()


def _wait_for_runs(store, count, processes, logs, timeout):
    deadline = time.monotonic() + timeout
    while True:
        rows = _runs(store)
        done = [r for r in rows if r.status != "running"]
        if len(done) >= count:
            return rows
        if time.monotonic() > deadline:
            tails = "\n".join(log.read_text()[-3000:] for log in logs)
            raise AssertionError(f"{len(done)} of {count} runs finished in {timeout}s:\n{tails}")
        time.sleep(0.2)


def test_two_workers_run_each_enqueued_run_once_and_survive_a_sigkill(
    hub, fake_dist, store, broker, tmp_path
):
    broker_url, queue = broker
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(fake_dist), str(FIXTURES), os.environ.get("PYTHONPATH", "")]),
    }
    for n in range(CONNECTIONS):
        add_connection(
            hub.ready_store,
            hub.vault,
            hub.registry,
            name=f"shop{n}",
            plugin="fakeshop",
            options={"shop_id": f"S{n}", "seed": n, "orders": ORDERS, "page_size": 5},
            credentials={"seller_id": "A1", "api_key": f"sk-{n}"},
            tenant="default" if n % 2 else "second",
        )
    infos = list_connections(hub.ready_store)
    ids = [info.id for info in infos]
    # A tenant's counting basis is created on first use, and two first uses at once collide on
    # its key (a race of the KPI step, reported); it exists before the runs start.
    with hub.ready_store.begin() as conn:
        for tenant_id in {info.tenant_id for info in infos}:
            current_basis(conn, tenant_id)
    # All connections but the first are synced once beforehand, so their scheduled runs are
    # light (nothing new, so the steps after the sync have nothing to do). The first one's
    # first run reads every page and is the run worker A is killed in.
    presync = Runner(hub, steps=[SyncStep()])
    for cid in ids[1:]:
        presync.run(cid)
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log", tmp_path / "worker-c.log"]
    # Worker A kills itself with SIGKILL at page 3 of the first connection it syncs: mid-run,
    # with pages 0-2 committed and the run's message taken but not acknowledged.
    a = _worker(env, logs[0], FAKESHOP_CRASH_AT="3,2", FAKESHOP_CRASH_WITH="sigkill")
    b = c = None
    app = celery_app(broker_url, queue)
    try:
        first = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=10)
        fires = {(cid, first + dt.timedelta(minutes=k)) for k in range(FIRES) for cid in ids}
        ordered = [(ids[0], first), *sorted(fires - {(ids[0], first)}, key=lambda f: (f[1], f[0]))]
        _wait_ready(a, logs[0])
        enqueue(app, ids[0], scheduled_for=first, max_attempts=2)
        # B starts once A has taken that first run, so A, not B, is the one in it.
        _wait_ready(a, logs[0], word=" received")
        b = _worker(env, logs[1])
        _wait_ready(b, logs[1])
        for cid, when in ordered[1:]:
            enqueue(app, cid, scheduled_for=when, max_attempts=2)
        a.wait(timeout=30)
        assert a.returncode == -signal.SIGKILL, f"worker A was meant to die mid-run:\n{logs[0].read_text()}"
        # A replacement joins, as an operator would start one: two workers again.
        c = _worker(env, logs[2])
        rows = _wait_for_runs(store, len(fires), (b, c), logs[1:], timeout=60)
    finally:
        for process, log in zip((a, b, c), logs, strict=True):
            if process is not None:
                _stop(process, log)
        app.close()

    # Exactly once: one record per enqueued fire time, each succeeded with its own sync.
    assert {(r.connection_id, r.scheduled_for) for r in rows} == fires
    assert len(rows) == len(fires)
    assert [(r.id, r.status, r.error) for r in rows if r.status != "succeeded"] == []
    sync_ids = [r.sync_run_id for r in rows]
    assert len(set(sync_ids)) == len(fires)
    with store.begin() as conn:
        syncs = conn.execute(sa.select(sync_runs.c.id, sync_runs.c.status, sync_runs.c.connection_id)).all()
    by_id = {s.id: s for s in syncs}
    assert all(by_id[i].status == "succeeded" for i in sync_ids)
    # The killed worker's sync is the one left unfinished; its run was finished by another.
    orphans = [s for s in syncs if s.status != "succeeded"]
    assert [(s.connection_id, s.status) for s in orphans] == [(ids[0], "interrupted")]
    assert "left by" in logs[1].read_text() + logs[2].read_text()
    # Runs were taken by more than one worker process.
    assert len({r.holder for r in rows}) >= 2

    # Nothing lost, nothing doubled: the standard rows are the fake shop's truth.
    expected_orders, expected_items = {}, {}
    for n in range(CONNECTIONS):
        truth = data.truth(data.orders(n, ORDERS), shop_id=f"S{n}")
        expected_orders |= {key[1:]: row for key, row in truth["orders"].items()}
        expected_items |= truth["order_items"]
    orders, items = standard_tables["orders"], standard_tables["order_items"]
    with store.begin() as conn:
        got = conn.execute(sa.select(orders.c.shop_id, orders.c.order_id, orders.c.gross_amount)).all()
        item_count = conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one()
    assert len(got) == len(expected_orders)
    assert {(r.shop_id, r.order_id): r.gross_amount for r in got} == {
        key: row["gross_amount"] for key, row in expected_orders.items()
    }
    assert item_count == len(expected_items)


def test_the_celery_scheduler_only_enqueues(
    hub, fake_dist, store, broker, tmp_path, connect, schedule, monkeypatch
):
    """A scheduler set to the Celery executor sends its fires to the queue; a worker runs them."""
    monkeypatch.setenv("KPIHUB_EXECUTOR", "celery")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(fake_dist), str(FIXTURES), os.environ.get("PYTHONPATH", "")]),
    }
    info = connect()
    Runner(hub, steps=[SyncStep()]).run(info.id)  # synced once, so each scheduled run is light
    schedule(info.id, every_seconds=1)
    scheduler_hub = HubContext(Settings())
    scheduler_hub.__dict__["registry"] = hub.registry
    runner = Runner(scheduler_hub)
    scheduler = HubScheduler(runner, reconcile_seconds=60)
    sent: list[dt.datetime] = []  # the fire times the executor put on the queue
    scheduler.scheduler.add_listener(lambda event: sent.append(event.scheduled_run_time), EVENT_JOB_EXECUTED)
    log = tmp_path / "worker.log"
    worker = _worker(env, log)
    try:
        _wait_ready(worker, log)
        scheduler.start()
        time.sleep(3)
        scheduler.shutdown(wait=True)
        rows = _wait_for_runs(store, len(sent), (worker,), [log], timeout=30)
    finally:
        _stop(worker, log)
        scheduler_hub.close()
    # Each fire is run once, by the worker: the scheduler's process ran none itself.
    fires = [r.scheduled_for for r in rows]
    assert len(sent) >= 2 and sorted(fires) == sorted(sent)
    assert all(r.status == "succeeded" for r in rows), [(r.status, r.error) for r in rows]
    assert runner.holder not in {r.holder for r in rows}
    assert {r.holder.split(":")[1] for r in rows} == {str(worker.pid)}
