"""Pushing into the seller's database on PostgreSQL, MariaDB and SQLite: a first push, 1 % of
the KPI values changed plus a new contract column, a push killed midway and re-run — after
each, every target table equals the hub's."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.publish import add_sink, catalog, push_sink
from hub.publish.reader import read_rows
from hub.store.kpi_tables import dim_metric, kpi_fact
from hub.store.tables import metadata as store_metadata

ROWS = 3_000


def normal(value):
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def target_rows(url: str, table: str, key: tuple[str, ...]) -> dict[tuple, dict]:
    engine = sa.create_engine(url)
    try:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(sa.select(reflected))]
    finally:
        engine.dispose()
    return {tuple(str(r[k]) for k in key): {c: normal(v) for c, v in r.items()} for r in rows}


def hub_rows(store, table, tenant_id) -> dict[tuple, dict]:
    out = {}
    for r in read_rows(store, table, tenant_id):
        out[tuple(str(r[k]) for k in table.key)] = {c: normal(v) for c, v in r.items()}
    return out


def assert_equal(store, url, metadata, tenant_id):
    for table in catalog(metadata).values():
        if table.name not in ("kpi_fact", "dim_metric"):
            continue
        expected = hub_rows(store, table, tenant_id)
        got = target_rows(url, table.name, table.key)
        assert len(got) == len(expected), table.name
        for key, row in expected.items():
            assert {c: got[key][c] for c in row} == row, (table.name, key)


class Killed(BaseException):
    """Stands for the process dying: nothing below catches it."""


def test_push_change_evolve_kill_and_rerun_equal_the_hub(sink_hub, target_url, seed):
    store = sink_hub.ready_store
    tenant_id = seed(store, ROWS)
    add_sink(
        store,
        sink_hub.vault,
        sink_hub.registry,
        name="warehouse",
        plugin="database",
        options={"batch_size": 500},
        credentials={"url": target_url},
        tables=["kpi_fact", "dim_metric"],
    )

    def push(metadata=None, progress=None, full=False):
        return asyncio.run(
            push_sink(
                store,
                sink_hub.vault,
                sink_hub.registry,
                "warehouse",
                metadata=metadata,
                progress=progress,
                full=full,
            )
        )

    first = push()
    assert first.succeeded, first.tables
    assert {t.table: (t.action, t.rows) for t in first.tables} == {
        "dim_metric": ("replaced", 5),
        "kpi_fact": ("replaced", ROWS),
    }
    assert_equal(store, target_url, store_metadata, tenant_id)

    # Nothing changed: nothing moves.
    assert {t.action for t in push().tables} == {"skipped"}

    # 1 % of the values change (the engine restamps computed_at), and the contract gains a column.
    later = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    with store.begin() as conn:
        keys = conn.execute(
            sa.select(kpi_fact.c.metric_id, kpi_fact.c.period_start, kpi_fact.c.scope_id).order_by(
                kpi_fact.c.period_start, kpi_fact.c.metric_id, kpi_fact.c.scope_id
            )
        ).all()
        for metric, day, scope in keys[::100]:
            conn.execute(
                kpi_fact.update()
                .where(
                    kpi_fact.c.metric_id == metric,
                    kpi_fact.c.period_start == day,
                    kpi_fact.c.scope_id == scope,
                )
                .values(value=kpi_fact.c.numerator * 2 + 1, computed_at=later)
            )
        conn.execute(sa.text("ALTER TABLE kpi_fact ADD COLUMN paced_value FLOAT"))
        conn.execute(sa.text("UPDATE kpi_fact SET paced_value = 0.5 WHERE metric_id = 'gmv'"))
    wider = sa.MetaData()
    dim_metric.to_metadata(wider)
    fact_v2 = kpi_fact.to_metadata(wider)
    fact_v2.append_column(sa.Column("paced_value", sa.Float, nullable=True))

    second = push(metadata=wider)
    assert second.succeeded, second.tables
    assert {t.table: t.action for t in second.tables} == {"dim_metric": "skipped", "kpi_fact": "upserted"}
    assert_equal(store, target_url, wider, tenant_id)

    # A third push is killed after its first batch reached the target; the re-run repairs it.
    with store.begin() as conn:
        conn.execute(
            kpi_fact.update()
            .where(kpi_fact.c.metric_id == "roas")
            .values(value=7.25, computed_at=later + dt.timedelta(hours=1))
        )
    sent = []

    def die_midway(table, rows, total):
        sent.append(rows)
        if table == "kpi_fact" and len(sent) == 1:
            raise Killed

    with pytest.raises(Killed):
        push(metadata=wider, progress=die_midway)
    rerun = push(metadata=wider)
    assert rerun.succeeded, rerun.tables
    assert {t.table: t.action for t in rerun.tables} == {"dim_metric": "skipped", "kpi_fact": "upserted"}
    assert_equal(store, target_url, wider, tenant_id)

    # Rows deleted in the hub are noticed by the count check and the table rebuilt.
    with store.begin() as conn:
        conn.execute(kpi_fact.delete().where(kpi_fact.c.metric_id == "aov"))
    after_delete = push(metadata=wider)
    assert {t.table: t.action for t in after_delete.tables}["kpi_fact"] == "replaced"
    assert_equal(store, target_url, wider, tenant_id)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_standard_fact_tables_can_be_pushed_too(sink_hub, target_url, seed):
    from hub.store.tables import standard_tables

    store = sink_hub.ready_store
    tenant_id = seed(store, 10)
    orders = standard_tables["orders"]
    stamp = dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC)
    with store.begin() as conn:
        conn.execute(
            orders.insert(),
            [
                {
                    "tenant_id": tenant_id,
                    "platform": "amazon",
                    "shop_id": "S1",
                    "order_id": f"O-{i}",
                    "status": "paid",
                    "currency": "USD",
                    "created_at": stamp,
                    "updated_at": stamp,
                    "gross_amount": Decimal(i) + Decimal("0.1234"),
                    "tax": Decimal(0),
                    "shipping_fee": Decimal(0),
                    "discount": Decimal(0),
                    "ingested_at": stamp,
                    "connection_id": None,
                }
                for i in range(25)
            ],
        )
    add_sink(
        store,
        sink_hub.vault,
        sink_hub.registry,
        name="warehouse",
        plugin="database",
        options={},
        credentials={"url": target_url},
        tables=["orders"],
    )
    result = asyncio.run(push_sink(store, sink_hub.vault, sink_hub.registry, "warehouse"))
    assert {t.table: (t.action, t.rows) for t in result.tables} == {"orders": ("replaced", 25)}
    got = target_rows(target_url, "orders", ("platform", "shop_id", "order_id"))
    assert len(got) == 25
    assert got[("amazon", "S1", "O-7")]["gross_amount"] == 7.1234
    assert (
        "tenant_id" not in got[("amazon", "S1", "O-7")]
        and "connection_id" not in got[("amazon", "S1", "O-7")]
    )
