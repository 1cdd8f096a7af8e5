"""``stale_data`` and ``sync_failed``: connections whose newest data is old, or whose runs fail.

Both read ``connection_health`` (``hub.kpi.connection_health``), the same reading the
``stale_data`` and ``sync_failed`` alert rules use, so the report and the alerts agree. A
connection's data is as new as the newest time any of its streams recorded; recent days of a
connection older than the limit are incomplete, whatever the KPIs show for them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from ..kpi.basis import CountingBasis
from ..kpi.connection_health import connection_health
from .finding import Finding, clip, plural

__all__ = ["DEFAULT_STALE_HOURS", "stale_data", "sync_failed"]

DEFAULT_STALE_HOURS = 48.0
"""A connection whose newest data is older than this is stale, unless the caller says otherwise.
Platforms publish a day's data within a day; two leave room for a run that was late."""
ERROR_CHARS = 300


def stale_data(
    conn: Connection,
    tenant_id: int,
    basis: CountingBasis,
    *,
    now: dt.datetime,
    hours: float = DEFAULT_STALE_HOURS,
) -> list[Finding]:
    """Active connections with no data newer than ``hours`` before ``now`` (or none at all)."""
    findings = []
    for health in connection_health(conn, tenant_id, now):
        if health.age_hours is not None and health.age_hours <= hours:
            continue
        if health.newest is None:
            summary = f"connection {health.name} has delivered no data yet"
            example = f"last run: {health.last_status or 'none'}"
        else:
            summary = (
                f"connection {health.name}: its newest data is {health.age_hours:,.0f} hours old "
                f"(limit {hours:g}): the days since are missing from its shops' KPIs"
            )
            example = f"newest data time {health.newest.isoformat()}"
        findings.append(
            Finding(
                check="stale_data",
                severity="warning",
                count=1,
                summary=summary,
                example=example,
                fix=(
                    f"run `kpihub sync {health.name}` and look at its errors if it fails; a connection "
                    "synced on a schedule may have its schedule paused or its credentials expired"
                ),
                details={
                    "connection": health.name,
                    "newest": None if health.newest is None else health.newest.isoformat(),
                    "age_hours": None if health.age_hours is None else round(health.age_hours, 1),
                    "limit_hours": hours,
                },
                scope="connection",
                scope_id=health.name,
            )
        )
    return findings


def sync_failed(conn: Connection, tenant_id: int, basis: CountingBasis, *, now: dt.datetime) -> list[Finding]:
    """Connections whose last runs failed (counted in a row), or whose last run read only
    some of its streams (``partial``: counted by the streams that failed)."""
    findings = []
    for health in connection_health(conn, tenant_id, now):
        errors = health.last_errors
        first = clip(str(errors[0].get("error", "")), ERROR_CHARS) if errors else "no error recorded"
        if health.failed_in_row:
            count = health.failed_in_row
            runs = "its last run" if count == 1 else f"its last {count:,} runs"
            summary = f"connection {health.name}: {runs} failed, so nothing new was read"
        elif health.last_status == "partial":
            count = len(errors)
            streams = ", ".join(sorted({str(e.get("stream")) for e in errors if e.get("stream")})) or "?"
            summary = (
                f"connection {health.name}: its last run failed on {plural(count, 'stream')} ({streams}), "
                "whose data is missing since"
            )
        else:
            continue
        findings.append(
            Finding(
                check="sync_failed",
                severity="error",
                count=count,
                summary=summary,
                example=first,
                fix=(
                    "fix what the error names (expired credentials: new ones through `PATCH "
                    "/api/v1/connections/ID`; options; the platform's limits), then "
                    f"`kpihub sync {health.name}`; transient errors are retried by the next scheduled run"
                ),
                details={"connection": health.name, "last_status": health.last_status, "errors": len(errors)},
                scope="connection",
                scope_id=health.name,
            )
        )
    return findings
