"""The database sink against real PostgreSQL, MariaDB and SQLite: types, keys, upserts, evolution."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from decimal import Decimal

import pytest
import sqlalchemy as sa

from plugins.database import DatabaseSink
from sdk import ConfigError, TableBatch, TableSchema

COLUMNS = {
    "metric_id": "str",
    "period_start": "date",
    "scope_id": "str",
    "value": "float",
    "amount": "decimal",
    "orders": "int",
    "final": "bool",
    "computed_at": "datetime",
}
KEY = ("metric_id", "period_start", "scope_id")


def sink_for(url: str, **options) -> DatabaseSink:
    return DatabaseSink(DatabaseSink.Options(**options), DatabaseSink.Credentials(url=url))


def row(i: int, *, value: float = 1.5) -> dict:
    return {
        "metric_id": f"m{i % 3}",
        "period_start": dt.date(2026, 1, 1) + dt.timedelta(days=i // 3),
        "scope_id": f"shop-{i}",
        "value": value * i,
        "amount": Decimal(i) / 4,
        "orders": i,
        "final": i % 2 == 0,
        "computed_at": dt.datetime(2026, 2, 1, 12, 30, tzinfo=dt.UTC) + dt.timedelta(microseconds=i * 7),
    }


def read_back(url: str, table: str) -> dict[tuple, dict]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))]
    finally:
        engine.dispose()
    out = {}
    for r in rows:
        if isinstance(r["period_start"], str):  # SQLite keeps dates as text
            r["period_start"] = dt.date.fromisoformat(r["period_start"])
        stamp = r["computed_at"]
        if isinstance(stamp, str):
            stamp = dt.datetime.fromisoformat(stamp)
        r["computed_at"] = stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)
        r["final"] = bool(r["final"])
        r["amount"] = Decimal(str(r["amount"])).quantize(Decimal("0.0001"))
        out[tuple(r[k] for k in KEY)] = r
    return out


def expected(rows: list[dict]) -> dict[tuple, dict]:
    out = {}
    for r in rows:
        r = dict(r, amount=r["amount"].quantize(Decimal("0.0001")))
        out[tuple(r[k] for k in KEY)] = r
    return out


async def push(sink, rows, *, full=False, columns=COLUMNS):
    schema = TableSchema("kpi_sample", dict(columns), KEY)
    await sink.prepare([schema])
    return await sink.push(TableBatch("kpi_sample", dict(columns), KEY, iter(rows)), full=full)


def test_upsert_full_and_additive_columns_round_trip_with_types(database_url):
    sink = sink_for(database_url, batch_size=7)
    first = [row(i) for i in range(40)]

    async def scenario():
        try:
            assert await push(sink, first) == 40
            assert read_back(database_url, "kpi_sample") == expected(first)
            # Upsert: a tenth of the rows change, five are new; nothing is duplicated.
            changed = [row(i, value=2.5) for i in range(0, 40, 10)] + [row(i) for i in range(40, 45)]
            await push(sink, changed)
            now = {**expected(first), **expected(changed)}
            assert read_back(database_url, "kpi_sample") == now
            assert await sink.count("kpi_sample") == 45
            # A new contract column is added in place; existing rows keep their values.
            wider = dict(COLUMNS, unit="str")
            await push(sink, [dict(row(1), unit="USD")], columns=wider)
            after = read_back(database_url, "kpi_sample")
            assert len(after) == 45
            assert after[("m1", dt.date(2026, 1, 1), "shop-1")]["unit"] == "USD"
            assert after[("m2", dt.date(2026, 1, 1), "shop-2")]["unit"] is None
            assert {k: {c: v for c, v in r.items() if c != "unit"} for k, r in after.items()} == now
            # Full: the table's rows are replaced by the batch's.
            await push(sink, [dict(row(i), unit="EUR") for i in range(3)], full=True, columns=wider)
            assert sorted(r["scope_id"] for r in read_back(database_url, "kpi_sample").values()) == [
                "shop-0",
                "shop-1",
                "shop-2",
            ]
        finally:
            await sink.aclose()

    asyncio.run(scenario())


def test_non_finite_floats_arrive_as_null(database_url):
    sink = sink_for(database_url)

    async def scenario():
        try:
            await push(sink, [row(1, value=math.nan), row(2, value=math.inf)])
        finally:
            await sink.aclose()

    asyncio.run(scenario())
    assert [r["value"] for r in read_back(database_url, "kpi_sample").values()] == [None, None]


def test_a_bad_url_is_a_config_error_without_the_password():
    sink = sink_for("notadialect://user:hunter2@host/db")
    with pytest.raises(ConfigError) as caught:
        asyncio.run(sink.prepare([TableSchema("t", {"a": "int"}, ("a",))]))
    assert "hunter2" not in str(caught.value)
    assert "SQLAlchemy URL" in str(caught.value)


@pytest.mark.parametrize("added", ["a NOT NULL column", "a CHECK constraint"])
def test_rows_the_clients_table_refuses_are_a_config_error_naming_table_and_column(database_url, added):
    # The client's own kpi_sample: the sink's columns plus what the client added to it.
    from plugins.database.schema import sql_table

    metadata = sa.MetaData()
    table = sql_table(TableSchema("kpi_sample", COLUMNS, KEY), metadata)
    if added == "a NOT NULL column":
        table.append_column(sa.Column("note", sa.Text, nullable=False))
    else:
        table.append_constraint(sa.CheckConstraint("orders < 3", name="few_orders"))
    engine = sa.create_engine(database_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(table.insert(), [dict(row(0), note="kept") if added.endswith("column") else row(0)])
    finally:
        engine.dispose()
    before = read_back(database_url, "kpi_sample")
    expected_message = {
        "a NOT NULL column": "the target database refused the rows for table 'kpi_sample': its column 'note' "
        "is NOT NULL without a default, and the published rows do not fill it; drop the column, allow "
        "NULL in it or give it a default",
        "a CHECK constraint": "the target database refused the rows for table 'kpi_sample': they break a "
        "constraint or a column type of the client's table",
    }[added]
    url = sa.engine.make_url(database_url)
    # PostgreSQL is written by COPY (then a merge, when appending) or by INSERT … ON CONFLICT.
    for use_copy in (True, False) if url.get_backend_name() == "postgresql" else (True,):
        for full in (False, True):
            sink = sink_for(database_url, use_copy=use_copy)

            async def scenario(sink=sink, full=full):
                try:
                    await push(sink, [row(i) for i in range(1, 6)], full=full)
                finally:
                    await sink.aclose()

            with pytest.raises(ConfigError) as caught:
                asyncio.run(scenario())
            message = str(caught.value)
            assert message.startswith(expected_message), (use_copy, full, message)
            # Neither the database's address nor a row's values (PostgreSQL's DETAIL quotes the row).
            assert (url.host or url.database) not in message and "shop-" not in message
            assert read_back(database_url, "kpi_sample") == before
