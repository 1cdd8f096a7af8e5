"""Fixtures for the scheduler: a runner that does not sleep, schedules written straight to the store."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa

from hub.scheduler import Runner, SyncStep
from hub.store.service_tables import pipeline_runs, schedules


@pytest.fixture
def slept():
    return []


@pytest.fixture
def runner(hub, slept):
    return Runner(hub, steps=[SyncStep()], retry_delays=(5.0, 7.0), sleep=slept.append)


@pytest.fixture
def schedule(hub):
    """``schedule(connection_id, every_seconds=1)``: an interval schedule anchored on a whole second."""

    def add(connection_id, every_seconds=1, *, anchor=None, max_attempts=1):
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        with hub.ready_store.begin() as conn:
            conn.execute(
                schedules.insert().values(
                    connection_id=connection_id,
                    kind="interval",
                    every_seconds=every_seconds,
                    timezone="UTC",
                    enabled=True,
                    max_attempts=max_attempts,
                    revision=1,
                    anchor=anchor or now,
                    created_at=now,
                    updated_at=now,
                )
            )

    return add


@pytest.fixture
def runs(hub):
    """``runs(connection_id=None)``: the pipeline runs recorded, oldest fire time first."""

    def read(connection_id=None):
        query = sa.select(pipeline_runs).order_by(pipeline_runs.c.scheduled_for, pipeline_runs.c.id)
        if connection_id is not None:
            query = query.where(pipeline_runs.c.connection_id == connection_id)
        with hub.ready_store.begin() as conn:
            return conn.execute(query).all()

    return read


def wait_until(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def waiter():
    return wait_until
