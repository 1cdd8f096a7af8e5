"""A lease row per connection: the one thing that keeps two runs of a connection apart.

Whichever process (a ``kpihub serve``, a worker, the CLI) holds the unexpired lease of a
connection may run it; the others are told who holds it. A holder that dies leaves a lease
that expires, so a crash never blocks a connection for longer than the lease's time to live;
a live holder renews it while it works.
"""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError

from ..store import Store
from ..store.service_tables import run_leases

__all__ = ["Lease", "acquire", "release", "renew"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def acquire(store: Store, connection_id: int, holder: str, ttl: float) -> bool:
    """Take the connection's lease if it is free or expired; return whether we hold it now."""
    expires = _now() + dt.timedelta(seconds=ttl)
    with store.begin() as conn:
        taken = conn.execute(
            update(run_leases)
            .where(run_leases.c.connection_id == connection_id, run_leases.c.expires_at < _now())
            .values(holder=holder, expires_at=expires)
        )
        if taken.rowcount == 1:
            return True
    try:
        with store.engine.begin() as conn:
            conn.execute(
                insert(run_leases).values(connection_id=connection_id, holder=holder, expires_at=expires)
            )
    except IntegrityError:
        return False  # someone holds it (or took it a moment ago)
    return True


def renew(store: Store, connection_id: int, holder: str, ttl: float) -> bool:
    with store.begin() as conn:
        renewed = conn.execute(
            update(run_leases)
            .where(run_leases.c.connection_id == connection_id, run_leases.c.holder == holder)
            .values(expires_at=_now() + dt.timedelta(seconds=ttl))
        )
    return renewed.rowcount == 1


def release(store: Store, connection_id: int, holder: str) -> None:
    with store.begin() as conn:
        conn.execute(
            delete(run_leases).where(
                run_leases.c.connection_id == connection_id, run_leases.c.holder == holder
            )
        )


class Lease:
    """Hold a connection's lease for a ``with`` block, renewing it in the background.

    ``held`` says whether it was taken; the block runs either way so the caller can record a
    skipped run.
    """

    def __init__(self, store: Store, connection_id: int, holder: str, ttl: float = 300.0) -> None:
        self.store, self.connection_id, self.holder, self.ttl = store, connection_id, holder, ttl
        self.held = False
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def __enter__(self) -> Lease:
        self.held = acquire(self.store, self.connection_id, self.holder, self.ttl)
        if self.held:
            self._renewer = threading.Thread(
                target=self._renew, name=f"lease-{self.connection_id}", daemon=True
            )
            self._renewer.start()
        return self

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            renew(self.store, self.connection_id, self.holder, self.ttl)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self.held:
            release(self.store, self.connection_id, self.holder)
