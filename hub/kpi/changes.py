"""What changed since the last compute: content digests of lookups and the watermark's lag window.

Two things used to make an incremental compute do more than the data asked for:

- Whole-listing streams (SKUs, SKU costs, FX rates, shops …) rewrite every row on each sync, so
  their ``ingested_at`` moves although nothing changed. Lookups are therefore compared by
  *content*: a digest of every row (provenance columns left out) kept with the compute state.
  FX rates get one digest per date, so a changed rate recomputes only its own days.
- The watermark trails the compute's start (rows a sync commits while a compute runs may carry
  an earlier ``ingested_at``), so the next compute re-reads that lag window. The window's
  fingerprint — rows per distinct ``ingested_at`` in it, taken before the compute reads any data
  — tells whether anything arrived there after the compute looked; if not, the next compute
  starts from the previous start instead of the watermark.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from ..store.kpi_tables import kpi_moved
from ..store.tables import standard_tables

__all__ = [
    "LOOKUPS",
    "changed_fx_dates",
    "fingerprint_window",
    "fx_digests",
    "lookup_digests",
    "window_tables",
]

LOOKUPS = ("shops", "skus", "staff", "teams", "assignments", "sku_costs")
# Where a row came from, not what it says: a re-sync may change these without changing a KPI.
_PROVENANCE = {"tenant_id", "connection_id", "raw_record_id", "ingested_at"}


def _content(table: sa.Table) -> list[sa.Column[Any]]:
    return [c for c in table.c if c.name not in _PROVENANCE]


def _digest(rows: Any) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(repr(tuple(row)).encode())
        h.update(b"\n")
    return h.hexdigest()


def lookup_digests(conn: Connection, tenant_id: int) -> dict[str, str]:
    """One content digest per lookup table (rows in primary-key order)."""
    out: dict[str, str] = {}
    for name in LOOKUPS:
        table = standard_tables[name]
        stmt = (
            sa.select(*_content(table))
            .where(table.c.tenant_id == tenant_id)
            .order_by(*[c for c in table.primary_key.columns if c.name != "tenant_id"])
        )
        out[name] = _digest(conn.execute(stmt))
    return out


def fx_digests(conn: Connection, tenant_id: int) -> dict[str, str]:
    """A content digest of the FX rates of each date (ISO date -> digest)."""
    fx = standard_tables["fx_rates"]
    stmt = (
        sa.select(*_content(fx))
        .where(fx.c.tenant_id == tenant_id)
        .order_by(fx.c.date, fx.c.currency, fx.c.base_currency)
    )
    by_date: dict[str, list[Any]] = {}
    for row in conn.execute(stmt):
        by_date.setdefault(_iso_date(row.date), []).append(row)
    return {day: _digest(rows) for day, rows in by_date.items()}


def changed_fx_dates(old: dict[str, str], new: dict[str, str]) -> set[dt.date]:
    """Dates whose rates were added, changed or removed."""
    return {dt.date.fromisoformat(d) for d in set(old) | set(new) if old.get(d) != new.get(d)}


def window_tables() -> list[str]:
    """Standard tables whose new rows name touched partitions (lookups and FX go by digest)."""
    return [name for name in standard_tables if name not in LOOKUPS and name != "fx_rates"]


def fingerprint_window(
    conn: Connection, tenant_id: int, low: dt.datetime, high: dt.datetime
) -> dict[str, list[list[Any]]]:
    """Rows per distinct ``ingested_at`` in (low, high], per table (a sync stamps one time per run).

    A row committed later with a stamp inside the window adds a stamp or raises a count.
    """
    out: dict[str, list[list[Any]]] = {}
    for name in window_tables():
        table = standard_tables[name]
        stmt = (
            sa.select(table.c.ingested_at, sa.func.count())
            .where(table.c.tenant_id == tenant_id, table.c.ingested_at > low, table.c.ingested_at <= high)
            .group_by(table.c.ingested_at)
            .order_by(table.c.ingested_at)
        )
        stamps = [[str(at), int(n)] for at, n in conn.execute(stmt)]
        if stamps:
            out[name] = stamps
    # A landing that only removed or moved rows writes no row, only its records of where they were.
    moved = (
        sa.select(kpi_moved.c.recorded_at, sa.func.count())
        .where(
            kpi_moved.c.tenant_id == tenant_id, kpi_moved.c.recorded_at > low, kpi_moved.c.recorded_at <= high
        )
        .group_by(kpi_moved.c.recorded_at)
        .order_by(kpi_moved.c.recorded_at)
    )
    stamps = [[str(at), int(n)] for at, n in conn.execute(moved)]
    if stamps:
        out["kpi_moved"] = stamps
    return out


def _iso_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]
