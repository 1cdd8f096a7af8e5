"""``quarantined``: raw records kept with an error instead of mapped into the standard tables.

A record its mapping or its stream's checks refuse is kept raw with the reason
(``raw_records.error``) and derives no rows, so every KPI over its table misses it. The check
counts them per connection, stream and reason; ``list_quarantined`` shows the records
themselves (``kpihub check --quarantined CONNECTION``). Raw records are the platform's data,
fine to show to whoever may read the tenant's data, but they are cut to a few thousand
characters and any credential in a URL is masked.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from sdk import NotFound

from ..kpi.basis import CountingBasis
from ..store.tables import connections, raw_records
from .finding import Finding, clip, plural

__all__ = ["QuarantinedRecord", "list_quarantined", "quarantined"]

EXAMPLE_CHARS = 400
"""How much of a raw record a finding shows as its example."""
LISTED_CHARS = 2000
"""How much of each raw record the listing shows."""
REASON_CHARS = 300
REASONS_SHOWN = 10


def quarantined(conn: Connection, tenant_id: int, basis: CountingBasis) -> list[Finding]:
    """One finding per connection and stream with quarantined records, its reasons counted."""
    r, c = raw_records, connections
    rows = conn.execute(
        sa.select(c.c.name, r.c.stream, r.c.error, sa.func.count(), sa.func.min(r.c.id))
        .select_from(r.join(c, c.c.id == r.c.connection_id))
        .where(c.c.tenant_id == tenant_id, r.c.error.is_not(None))
        .group_by(c.c.name, r.c.stream, r.c.error)
    ).all()
    groups: dict[tuple[str, str], list[tuple[int, str, int]]] = defaultdict(list)
    for name, stream, error, count, first_id in rows:
        groups[(name, stream)].append((int(count), str(error), int(first_id)))
    findings = []
    for (name, stream), reasons in sorted(groups.items()):
        reasons.sort(key=lambda item: (-item[0], item[1]))
        total = sum(count for count, _, _ in reasons)
        top_count, top_reason, top_id = reasons[0]
        data = conn.execute(sa.select(r.c.data).where(r.c.id == top_id)).scalar_one()
        others = len(reasons) - 1
        more = f"; {plural(others, 'other reason')}" if others else ""
        findings.append(
            Finding(
                check="quarantined",
                severity="error",
                count=total,
                summary=(
                    f"{plural(total, 'record')} of {name}/{stream} {'is' if total == 1 else 'are'} "
                    f"quarantined (kept raw, in no standard table): {clip(top_reason, REASON_CHARS)} "
                    f"({top_count:,}){more}"
                ),
                example=clip(data, EXAMPLE_CHARS),
                fix=(
                    f"list them with `kpihub check --quarantined {name}`; correct the mapping "
                    f"(`kpihub mapping preview {name} {stream}`, `kpihub mapping set …`) or the "
                    f"connection's options, then `kpihub remap {name}` (or sync it again)"
                ),
                details={
                    "connection": name,
                    "stream": stream,
                    "reasons": [
                        {"reason": clip(reason, REASON_CHARS), "records": count}
                        for count, reason, _ in reasons[:REASONS_SHOWN]
                    ],
                    "other_reasons": max(0, len(reasons) - REASONS_SHOWN),
                },
                scope="connection",
                scope_id=name,
            )
        )
    return findings


@dataclass(frozen=True)
class QuarantinedRecord:
    """One quarantined raw record as shown: its reason and its data (cut, as JSON text)."""

    id: int
    stream: str
    record_key: str
    fetched_at: dt.datetime
    error: str
    data: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_quarantined(
    conn: Connection, tenant_id: int, connection: str, *, stream: str | None = None, limit: int = 20
) -> tuple[int, list[QuarantinedRecord]]:
    """How many records of ``connection`` (and ``stream``) are quarantined, and the first
    ``limit`` of them by stream and arrival. ``NotFound`` names the tenant's connections."""
    found = conn.execute(
        sa.select(connections.c.id).where(
            connections.c.tenant_id == tenant_id, connections.c.name == connection
        )
    ).scalar_one_or_none()
    if found is None:
        names = conn.execute(
            sa.select(connections.c.name)
            .where(connections.c.tenant_id == tenant_id)
            .order_by(connections.c.name)
        ).scalars()
        raise NotFound(
            f"--quarantined {connection!r}: no such connection; the tenant's connections: "
            f"{', '.join(names) or 'none yet'}"
        )
    r = raw_records
    where = [r.c.connection_id == found, r.c.error.is_not(None)]
    if stream is not None:
        where.append(r.c.stream == stream)
    total = int(conn.execute(sa.select(sa.func.count()).select_from(r).where(*where)).scalar_one())
    rows = conn.execute(
        sa.select(r.c.id, r.c.stream, r.c.record_key, r.c.fetched_at, r.c.error, r.c.data)
        .where(*where)
        .order_by(r.c.stream, r.c.id)
        .limit(limit)
    )
    return total, [
        QuarantinedRecord(
            id=int(row.id),
            stream=row.stream,
            record_key=row.record_key,
            fetched_at=row.fetched_at,
            error=clip(row.error, LISTED_CHARS),
            data=clip(row.data, LISTED_CHARS),
        )
        for row in rows
    ]
