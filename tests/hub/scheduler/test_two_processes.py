"""Two real ``kpihub serve`` processes on one PostgreSQL database: every scheduled run of every
connection happens exactly once (the issue's 1-minute schedule for 5 minutes, scaled to a
3-second schedule for about 14 seconds)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from hub.api.access import create_api_key
from hub.connections import add_connection, list_connections
from hub.scheduler import Runner, SyncStep
from hub.store.service_tables import apscheduler_jobs, pipeline_runs

FIXTURES = Path(__file__).parents[2] / "fixtures"
CONNECTIONS = 10
EVERY = 3


def _serve(*args, env):
    command = [
        sys.executable,
        "-c",
        "from hub.cli import main; main()",
        "serve",
        "--reconcile-seconds",
        "0.5",
        *args,
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(process):
    """Wait for a graceful exit; a process that hangs dumps its threads' stacks (faulthandler)."""
    try:
        return process.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        return "HUNG ON SHUTDOWN\n" + process.communicate(timeout=30)[0]


def _jobs(store, suffix):
    with store.begin() as conn:
        ids = conn.execute(sa.select(apscheduler_jobs.c.id)).scalars().all()
    return sum(job_id.endswith(suffix) for job_id in ids)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_serve_processes_run_each_fire_exactly_once(hub, fake_dist, store):
    env = {
        **os.environ,
        "PYTHONFAULTHANDLER": "1",
        "PYTHONPATH": os.pathsep.join([str(fake_dist), str(FIXTURES), os.environ.get("PYTHONPATH", "")]),
    }
    for n in range(CONNECTIONS):
        add_connection(
            hub.ready_store,
            hub.vault,
            hub.registry,
            name=f"shop{n}",
            plugin="fakeshop",
            options={"shop_id": f"S{n}", "orders": 12, "page_size": 5},
            credentials={"seller_id": "A1", "api_key": f"sk-{n}"},
        )
    # The first sync reads everything; done here so scheduled runs are light and none overlaps.
    runner = Runner(hub, steps=[SyncStep()])
    for info in list_connections(hub.ready_store):
        runner.run(info.id)
    with hub.ready_store.begin() as conn:
        _, key = create_api_key(conn, tenant="default", name="test", role="admin", actor="test")
    headers = {"Authorization": f"Bearer {key}"}

    port = _free_port()
    api = _serve("--port", str(port), env=env)  # API and scheduler
    worker = _serve("--scheduler-only", env=env)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "kpihub serve did not come up"
            time.sleep(0.1)
        # The scheduler-only process is up once it says so (log lines may come first).
        assert any("scheduler running" in worker.stdout.readline() for _ in range(200)), "no scheduler"
        connections = httpx.get(f"{base}/connections", headers=headers).json()["items"]
        assert len(connections) == CONNECTIONS
        for c in connections:
            # The API refuses schedules under a minute; the scaled test writes its own below.
            response = httpx.put(
                f"{base}/connections/{c['id']}/schedule",
                json={"kind": "interval", "every_seconds": 60},
                headers=headers,
            )
            assert response.status_code == 200, response.text
        with store.begin() as conn:
            conn.execute(sa.text(f"UPDATE schedules SET every_seconds = {EVERY}, revision = revision + 1"))
        # The window opens once every new job is in the shared job store (both processes fire
        # from it), and closes well before the shutdown, so every fire in it had its time.
        deadline = time.monotonic() + 30
        while _jobs(store, "-r2") < CONNECTIONS:
            assert time.monotonic() < deadline, "the schedules never reached the job store"
            time.sleep(0.1)
        window_start = dt.datetime.now(dt.UTC)
        time.sleep(4 * EVERY + 2)
        window_end = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=3)
    finally:
        for process in (api, worker):
            process.send_signal(signal.SIGTERM)
        outputs = [_stop(p) for p in (api, worker)]
    # uvicorn re-raises the signal once it has shut down gracefully.
    assert api.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in outputs[0], outputs
    assert worker.returncode == 0, outputs

    with store.begin() as conn:
        rows = conn.execute(sa.select(pipeline_runs).where(pipeline_runs.c.trigger == "schedule")).all()
    everything = rows
    rows = [r for r in rows if window_start <= r.scheduled_for <= window_end]
    # On a loaded machine a run may outlast the interval; the next fire is then skipped with a
    # record, and only while a run of that connection really was in progress.
    for r in rows:
        if r.status == "skipped":
            assert "still in progress" in r.error
            assert any(
                o.connection_id == r.connection_id
                and o.status == "succeeded"
                and o.started_at <= r.started_at
                and (o.finished_at is None or o.finished_at >= r.started_at)
                for o in everything
            ), f"run {r.id} was skipped while nothing ran"
        else:
            assert r.status == "succeeded", (r.status, r.error)
    assert sum(r.status == "succeeded" for r in rows) >= len(rows) * 0.5
    holders = {r.holder.rsplit(":", 1)[0] for r in rows}
    for c in connections:
        fires = sorted(r.scheduled_for for r in rows if r.connection_id == c["id"])
        expected = int((window_end - window_start).total_seconds()) // EVERY
        # Exactly once: one run per fire time in the window, none missing, none twice.
        assert len(fires) == len(set(fires)) >= expected, (c["name"], fires)
        assert all((b - a) == dt.timedelta(seconds=EVERY) for a, b in itertools.pairwise(fires)), fires
    assert len(holders) == 2, f"both processes should have taken runs: {holders}"
