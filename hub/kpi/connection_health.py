"""How each connection's data is doing: how old its newest data is and how its runs went.

One reading shared by the ``stale_data`` and ``sync_failed`` alert rules (``alerts.py``) and
the data-quality report (``hub.quality``), so a rule and the report never disagree about
which connection is stale or failing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from ..store.tables import connections, sync_runs

__all__ = ["ConnectionHealth", "connection_health"]

FAILED = ("failed", "interrupted")
DELIVERED = ("succeeded", "partial")
"""Runs whose freshness counts: a partial run stored what its other streams read."""


@dataclass(frozen=True)
class ConnectionHealth:
    """One active connection: its newest data time and its latest finished runs."""

    connection_id: int
    name: str
    newest: dt.datetime | None
    """The newest data time any delivered run recorded (``sync_runs.freshness``); None: never."""
    age_hours: float | None
    """Hours from ``newest`` to the time asked about; None when there was never any data."""
    failed_in_row: int
    """Finished runs that failed (or were interrupted) in a row, newest first."""
    last_status: str | None
    """The newest finished run's status; None before the first run finished."""
    last_errors: list[dict[str, Any]] = field(default_factory=list)
    """The newest finished run's errors (one per failed stream), as the run recorded them."""


def _parse_time(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None  # freshness written by an older or foreign run: not a time we can use
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def connection_health(
    conn: Connection, tenant_id: int, now: dt.datetime, *, name: str | None = None
) -> list[ConnectionHealth]:
    """The health of the tenant's active connections (only ``name`` when given), by name."""
    query = select(connections.c.id, connections.c.name).where(
        connections.c.tenant_id == tenant_id, connections.c.status == "active"
    )
    if name is not None:
        query = query.where(connections.c.name == name)
    found = []
    for connection_id, connection_name in conn.execute(query.order_by(connections.c.name)).all():
        runs = conn.execute(
            select(sync_runs.c.status, sync_runs.c.freshness, sync_runs.c.errors)
            .where(sync_runs.c.connection_id == connection_id, sync_runs.c.status != "running")
            .order_by(sync_runs.c.started_at.desc(), sync_runs.c.id.desc())
        ).all()
        failed = 0
        for status, _, _ in runs:
            if status not in FAILED:
                break
            failed += 1
        times = [
            _parse_time(value)
            for status, freshness, _ in runs
            if status in DELIVERED
            for value in (freshness or {}).values()
        ]
        newest = max((t for t in times if t is not None), default=None)
        age = None if newest is None else (now - newest).total_seconds() / 3600
        found.append(
            ConnectionHealth(
                connection_id=int(connection_id),
                name=connection_name,
                newest=newest,
                age_hours=age,
                failed_in_row=failed,
                last_status=runs[0].status if runs else None,
                last_errors=list(runs[0].errors or []) if runs else [],
            )
        )
    return found
