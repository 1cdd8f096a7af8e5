"""A run whose process is gone is reaped: marked interrupted with the reason, its lease released,
so the next run of its connection starts at once; a run that may still be running is left be."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
from fakeshop import data

from hub.orphans import GRACE, reap, this_process
from hub.scheduler import Runner
from hub.store.service_tables import pipeline_runs, run_leases
from hub.store.tables import raw_records, standard_tables, sync_runs

FIXTURES = Path(__file__).parents[1] / "fixtures"
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
NO_LEASE = "interrupted: the process that ran it ({who}) holds no lease on the connection any more"
LEASE_TTL = 3600.0
"""Long enough that the next run could only start at once if the dead run's lease is released."""

CHILD = """
import sys
from hub.context import HubContext
from hub.scheduler import Runner
Runner(HubContext(), lease_ttl=float(sys.argv[2])).run(int(sys.argv[1]))
"""


def _rows(hub, table, order=None):
    with hub.ready_store.begin() as conn:
        return conn.execute(sa.select(table).order_by(order if order is not None else table.c.id)).all()


def test_a_run_killed_mid_sync_is_reaped_and_the_next_run_starts_at_once(hub, connect, fake_dist):
    info = connect()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(fake_dist), str(FIXTURES), os.environ.get("PYTHONPATH", "")]),
        "FAKESHOP_CRASH_AT": "3,2",
        "FAKESHOP_CRASH_WITH": "sigkill",
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(info.id), str(LEASE_TTL)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    # What the kill left: both runs recorded running by the child, its lease held for an hour.
    [left] = _rows(hub, pipeline_runs)
    [left_sync] = _rows(hub, sync_runs)
    [lease] = _rows(hub, run_leases, run_leases.c.connection_id)
    assert (left.status, left_sync.status) == ("running", "running")
    assert (left.host, left_sync.host) == (socket.gethostname(), socket.gethostname())
    assert left.pid == left_sync.pid != os.getpid()
    assert lease.holder.startswith(f"{left.holder}:")
    assert lease.expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=LEASE_TTL / 2)

    run_id = Runner(hub, lease_ttl=LEASE_TTL, retry_delays=(0.0,)).run(info.id)

    old, new = _rows(hub, pipeline_runs)
    assert new.id == run_id
    assert new.status == "succeeded", (new.error, new.steps)  # not skipped: it did not wait
    assert old.status == "interrupted" and old.finished_at is not None
    assert old.error == f"interrupted: the process that ran it (pid {left.pid} on {left.host}) is gone"
    old_sync, new_sync = _rows(hub, sync_runs)
    assert old_sync.status == "interrupted"
    assert [e["error"] for e in old_sync.errors] == [old.error]
    assert new_sync.id == new.sync_run_id and new_sync.status == "succeeded"
    assert _rows(hub, run_leases, run_leases.c.connection_id) == []

    # Nothing lost, nothing doubled: the rows are the fake shop's, each once.
    truth = data.truth(data.orders(7, 23), shop_id="S1")
    orders, items = standard_tables["orders"], standard_tables["order_items"]
    got_orders = {r.order_id: r for r in _rows(hub, orders, orders.c.order_id)}
    assert sorted(got_orders) == sorted(key[2] for key in truth["orders"])
    for key, expected in truth["orders"].items():
        row = got_orders[key[2]]
        assert (row.status, row.gross_amount, row.created_at) == (
            expected["status"],
            expected["gross_amount"],
            expected["created_at"],
        )
    assert len(_rows(hub, items, items.c.order_id)) == len(truth["order_items"])
    assert len(_rows(hub, raw_records)) == 23


def _running(hub, table, *, host, pid, start, started_at=T0, connection_id):
    values = {
        "connection_id": connection_id,
        "status": "running",
        "started_at": started_at,
        "host": host,
        "pid": pid,
        "process_start": start,
    }
    if table is sync_runs:
        values |= {"kind": "sync", "errors": [], "freshness": {}}
    else:
        values |= {
            "trigger": "schedule",
            "scheduled_for": started_at,
            "steps": {},
            "holder": f"{host}:{pid}:x",
        }
    with hub.ready_store.begin() as conn:
        conn.execute(table.insert().values(**values))


def _reap(hub, connection_id, now=T0 + dt.timedelta(minutes=10)):
    with hub.ready_store.begin() as conn:
        return reap(conn, connection_id, now=now)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_pid_of_a_live_process_is_not_taken_for_a_dead_one_that_had_it(hub, connect):
    info = connect()
    me = this_process()
    assert me.start is not None
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # The sleeper's start as the operating system tells it (psutil reads it from /proc).
        start = f"{psutil.boot_time():.0f}:{psutil.Process(sleeper.pid).create_time():.2f}"
        # A live process of this host with the recorded start: its run is running.
        _running(hub, sync_runs, host=me.host, pid=sleeper.pid, start=start, connection_id=info.id)
        # The same pid, but another start: the pid was given to another process since.
        _running(hub, pipeline_runs, host=me.host, pid=sleeper.pid, start="0:1", connection_id=info.id)
        [reused] = _reap(hub, info.id)
        assert reused.endswith(
            f"interrupted: the process that ran it (pid {sleeper.pid} on {me.host}) is gone"
        )
        assert [r.status for r in _rows(hub, sync_runs)] == ["running"]
    finally:
        sleeper.kill()
        sleeper.wait()
    [gone] = _reap(hub, info.id)
    assert gone.startswith("sync run ") and "is gone" in gone
    assert [r.status for r in _rows(hub, sync_runs)] == ["interrupted"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_run_of_another_host_is_reaped_only_once_its_lease_expired(hub, connect):
    info = connect()
    _running(hub, pipeline_runs, host="elsewhere", pid=4242, start="ab:1", connection_id=info.id)
    now = T0 + dt.timedelta(minutes=10)
    with hub.ready_store.begin() as conn:
        conn.execute(
            run_leases.insert().values(
                connection_id=info.id, holder="elsewhere:4242:x:1", expires_at=now + dt.timedelta(seconds=1)
            )
        )
    assert _reap(hub, info.id, now) == []  # its lease is renewed: it may well be running
    [reaped] = _reap(hub, info.id, now + dt.timedelta(seconds=2))
    assert reaped == f"pipeline run 1 {NO_LEASE.format(who='pid 4242 on elsewhere')}"
    assert _rows(hub, run_leases, run_leases.c.connection_id) == []
    # One without process or lease is given GRACE to take its lease after it is recorded.
    _running(hub, sync_runs, host=None, pid=None, start=None, started_at=now, connection_id=info.id)
    assert _reap(hub, info.id, now + GRACE) == []
    [late] = _reap(hub, info.id, now + GRACE + dt.timedelta(seconds=1))
    assert late == f"sync run 1 {NO_LEASE.format(who='not recorded')}"
