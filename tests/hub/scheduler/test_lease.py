"""The lease row: one holder at a time, taken over only once expired."""

from __future__ import annotations

import pytest

from hub.scheduler.lease import Lease, acquire, release


def test_one_holder_at_a_time_and_expired_leases_are_taken_over(hub, connect):
    cid = connect().id
    store = hub.ready_store
    assert acquire(store, cid, "a", ttl=60)
    assert not acquire(store, cid, "b", ttl=60)
    release(store, cid, "b")  # not b's to release
    assert not acquire(store, cid, "b", ttl=60)
    release(store, cid, "a")
    assert acquire(store, cid, "b", ttl=60)
    release(store, cid, "b")
    assert acquire(store, cid, "crashed", ttl=-1)  # a holder that died: its lease runs out
    assert acquire(store, cid, "next", ttl=60)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_lease_context_releases_and_reports(hub, connect):
    cid = connect().id
    with Lease(hub.ready_store, cid, "first") as first, Lease(hub.ready_store, cid, "second") as second:
        assert first.held and not second.held
    with Lease(hub.ready_store, cid, "third") as third:
        assert third.held
