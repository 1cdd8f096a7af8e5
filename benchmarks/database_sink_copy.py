"""The database sink's write rate on PostgreSQL against a plain ``COPY`` of the same rows.

Rows shaped like ``kpi_fact`` (its published columns) are generated once. Then, each into a
fresh table of the same shape on the PostgreSQL at ``--url`` (default
``KPIHUB_TEST_POSTGRES_URL``), in a private schema dropped afterwards:

- **COPY**: ``COPY kpi_fact (...) FROM STDIN`` with psycopg, the rows written one by one with
  ``write_row``: the baseline, what PostgreSQL can take from Python at best.
- **sink, replace** (``push(full=True)``): the sink's first push or ``--full``: rows COPYed
  straight into the emptied table inside the push's transaction.
- **sink, upsert into an empty table** (``push(full=False)``): COPY into a temporary staging
  table, then ``INSERT … SELECT … ON CONFLICT DO UPDATE``.
- **sink, upsert of changed rows** (``--changed`` % of the rows, new values) into the full table:
  an incremental push.

Each figure is rows ÷ wall seconds of the whole call (row conversion, COPY, merge, commit);
the ratio is to the COPY baseline. Target (issue 7): the sink ≥ 0.5 of COPY.

    python benchmarks/database_sink_copy.py [--rows 500000] [--changed 1] [--url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time
import uuid

import psycopg
import sqlalchemy as sa

from plugins.database import DatabaseSink
from sdk import TableBatch, TableSchema

COLUMNS = {
    "metric_id": "str",
    "grain": "str",
    "period_start": "date",
    "scope_type": "str",
    "scope_id": "str",
    "platform": "str",
    "shop_id": "str",
    "value": "float",
    "numerator": "float",
    "denominator": "float",
    "unit": "str",
    "currency": "str",
    "basis_version": "int",
    "computed_at": "datetime",
    "contract_version": "str",
}
KEY = ("metric_id", "grain", "period_start", "scope_type", "scope_id")


def make_rows(count: int, *, bump: float = 0.0) -> list[dict]:
    stamp = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rows = []
    for i in range(count):
        shop = i // 3000
        value = (i * 7919 % 100_000) / 7.0 + bump
        rows.append(
            {
                "metric_id": ("gmv", "orders", "roas", "aov", "refund_rate")[i % 5],
                "grain": "day",
                "period_start": dt.date(2025, 1, 1) + dt.timedelta(days=(i // 5) % 600),
                "scope_type": "shop",
                "scope_id": f"amazon:shop-{shop}",
                "platform": "amazon",
                "shop_id": f"shop-{shop}",
                "value": value,
                "numerator": value,
                "denominator": 1.0,
                "unit": "USD",
                "currency": "USD",
                "basis_version": 1,
                "computed_at": stamp,
                "contract_version": "1.0",
            }
        )
    return rows


def plain_copy(url: str, schema: str, rows: list[dict]) -> float:
    """Seconds to COPY ``rows`` into a fresh table created by the sink's own DDL."""
    conninfo = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    names = list(COLUMNS)
    with psycopg.connect(conninfo, options=f"-csearch_path={schema}") as conn:
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY copy_target ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in names])
        conn.commit()
        return time.perf_counter() - started


def sink_push(url: str, table: str, rows: list[dict], *, full: bool) -> float:
    sink = DatabaseSink(DatabaseSink.Options(batch_size=20_000), DatabaseSink.Credentials(url=url))

    async def run() -> float:
        try:
            await sink.prepare([TableSchema(table, COLUMNS, KEY)])
            started = time.perf_counter()
            await sink.push(TableBatch(table, COLUMNS, KEY, iter(rows)), full=full)
            return time.perf_counter() - started
        finally:
            await sink.aclose()

    return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--changed", type=float, default=1.0, help="percent of rows changed for the upsert")
    parser.add_argument("--url", default=os.environ.get("KPIHUB_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.url:
        print("set KPIHUB_TEST_POSTGRES_URL or pass --url (a PostgreSQL URL)", file=sys.stderr)
        return 2
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(args.url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(args.url).update_query_dict({"options": f"-csearch_path={schema}"})
    target = url.render_as_string(hide_password=False)
    try:
        rows = make_rows(args.rows)
        # The baseline table gets exactly the sink's DDL (types, primary key), created empty.
        sink_push(target, "copy_target", [], full=True)
        baseline = plain_copy(args.url, schema, rows)
        replace = sink_push(target, "sink_replace", rows, full=True)
        upsert_empty = sink_push(target, "sink_upsert", rows, full=False)
        changed = make_rows(args.rows, bump=0.5)[:: max(1, round(100 / args.changed))]
        upsert_changed = sink_push(target, "sink_upsert", changed, full=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    copy_rate = args.rows / baseline
    print(f"{args.rows:,} kpi_fact rows ({len(COLUMNS)} columns) on PostgreSQL")
    print(f"{'run':38} {'rows':>9} {'seconds':>8} {'rows/s':>10} {'÷ COPY':>7}")
    results = [
        ("plain COPY (baseline)", args.rows, baseline),
        ("sink, replace (COPY into the table)", args.rows, replace),
        ("sink, upsert into empty (stage+merge)", args.rows, upsert_empty),
        (f"sink, upsert {len(changed):,} changed rows", len(changed), upsert_changed),
    ]
    for name, count, seconds in results:
        rate = count / seconds
        print(f"{name:38} {count:>9,} {seconds:>8.2f} {rate:>10,.0f} {rate / copy_rate:>7.2f}")
    worst = min(count / seconds / copy_rate for _, count, seconds in results[1:3])
    print(f"full-table pushes ÷ COPY ≥ 0.5: {'PASS' if worst >= 0.5 else 'FAIL'} (worst {worst:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
