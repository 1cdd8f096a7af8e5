"""The store's migrations create exactly the schema the code declares, on every database."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hub.store import open_store, upsert
from hub.store.tables import metadata, tenants


def test_migrations_match_the_declared_schema(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], "add an alembic migration for these schema changes"
    assert store.revision() == store.head()


def test_upsert_replaces_by_primary_key(store):
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with store.begin() as conn:
        conn.execute(tenants.insert().values(name="t", created_at=now))
        tid = conn.execute(sa.select(tenants.c.id)).scalar_one()
        fx = metadata.tables["fx_rates"]
        base = {"tenant_id": tid, "date": dt.date(2026, 1, 1), "currency": "EUR", "base_currency": "USD"}
        upsert(conn, fx, [{**base, "rate": 1.08, "connection_id": None, "ingested_at": now}])
        upsert(conn, fx, [{**base, "rate": 1.09, "connection_id": None, "ingested_at": now}])
        rows = conn.execute(sa.select(fx.c.rate)).scalars().all()
    assert [float(r) for r in rows] == [1.09]


def test_utc_times_round_trip(store):
    shanghai = dt.timezone(dt.timedelta(hours=8))
    with store.begin() as conn:
        conn.execute(
            tenants.insert().values(name="t", created_at=dt.datetime(2026, 3, 1, 8, 0, tzinfo=shanghai))
        )
        stored = conn.execute(sa.select(tenants.c.created_at)).scalar_one()
    assert stored == dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)
    assert stored.tzinfo is dt.UTC


def test_sqlite_in_missing_directory_is_a_clear_error(tmp_path):
    import pytest

    from sdk import StoreError

    with pytest.raises(StoreError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path}/nowhere/kpihub.db")


def test_json_columns_keep_what_the_standard_library_would(store):
    """JSON text comes from orjson, or from ``json`` where orjson refuses: the values read back
    are those ``json.dumps`` would have given, integers beyond 64 bits and non-ASCII text included."""
    from hub.store.database import json_text
    from hub.store.tables import connections

    values = [
        {"id": "5779", "big": 2**70, "neg": -(2**63), "text": "é 店铺 ✓", "n": [1.5, None, True, {"k": []}]},
        {1: "int keys become text, as json.dumps makes them"},
        [0.1, 1e300, -0.0, "x"],
    ]
    for value in values:
        assert json.loads(json_text(value)) == json.loads(json.dumps(value))
    with store.begin() as conn:
        now = dt.datetime.now(dt.UTC)
        tenant = conn.execute(tenants.insert().values(name="t", created_at=now)).inserted_primary_key[0]
        conn.execute(
            connections.insert().values(
                tenant_id=tenant,
                name="j",
                plugin="fakeshop",
                options=values[0],
                created_at=now,
                updated_at=now,
            )
        )
        assert (
            conn.execute(sa.select(connections.c.options).where(connections.c.name == "j")).scalar_one()
            == values[0]
        )


def test_bulk_upsert_stores_what_upsert_stores(store):
    """The bulk path (COPY on PostgreSQL, a generated row converter everywhere) against the
    plain SQLAlchemy upsert, on awkward values: text COPY must escape, ints in a numeric
    column, times in other zones, nulls, and a second write that updates some rows."""
    from decimal import Decimal

    from hub.store import bulk_upsert
    from hub.store.tables import standard_tables

    orders = standard_tables["orders"]
    now = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)
    shanghai = dt.timezone(dt.timedelta(hours=8))
    with store.begin() as conn:
        tenant = conn.execute(tenants.insert().values(name="t", created_at=now)).inserted_primary_key[0]

    def rows(prefix, amount):
        out = []
        for n, text in enumerate(
            ["plain", "tab\there", "line\nbreak", "back\\slash", "quote'\"", "\\N", "店铺 ✓", ""]
        ):
            out.append(
                {
                    "tenant_id": tenant,
                    "platform": "p",
                    "shop_id": "s",
                    "order_id": f"{prefix}{n}",
                    "site": text,
                    "status": "paid",
                    "currency": "USD",
                    "created_at": now + dt.timedelta(microseconds=n),
                    "updated_at": dt.datetime(2026, 11, 27, 14, 0, n, tzinfo=shanghai),
                    "paid_at": None if n % 2 else now,
                    "gross_amount": amount + n if n % 2 else Decimal(amount) + Decimal("0.0001") * n,
                    "tax": Decimal("0"),
                    "shipping_fee": 0,
                    "discount": Decimal("-1.5"),
                    "ingested_at": now,
                }
            )
        return out

    def read():
        with store.begin() as conn:
            return {r["order_id"]: dict(r) for r in conn.execute(sa.select(orders)).mappings()}

    results = []
    for write in (bulk_upsert, upsert):
        with store.begin() as conn:
            conn.execute(orders.delete())
            write(conn, orders, rows("o", 10))
            write(conn, orders, rows("o", 20)[:3] + rows("n", 30)[:2])  # updates three, adds two
        results.append(read())
    assert results[0] == results[1]
    assert len(results[0]) == 10 and results[0]["o1"]["site"] == "tab\there"
    assert results[0]["o2"]["gross_amount"] == Decimal("20.0002") and results[0]["o5"]["gross_amount"] == 15


def test_lineage_moves_to_the_raw_record_id_and_back(database_url):
    """Migration 0010 points each standard row at its raw record by id, found by the
    (connection, stream, key) the row named before; its downgrade names them again."""
    from alembic import command

    from hub.store.database import _alembic_config

    store = open_store(database_url)
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    try:
        with store.engine.connect() as conn, conn.begin():
            command.upgrade(_alembic_config(conn), "0009")
        with store.engine.begin() as conn:
            old = sa.MetaData()
            old.reflect(conn, only=("tenants", "connections", "raw_records", "fx_rates"))
            conn.execute(old.tables["tenants"].insert(), {"id": 1, "name": "t", "created_at": at})
            conn.execute(
                old.tables["connections"].insert(),
                {"id": 1, "tenant_id": 1, "name": "shop", "plugin": "fake", "options": "{}"}
                | {"created_at": at, "updated_at": at},
            )
            conn.execute(
                old.tables["raw_records"].insert(),
                [
                    {
                        "id": raw_id,
                        "connection_id": 1,
                        "stream": stream,
                        "partition_key": "",
                        "record_key": key,
                    }
                    | {"data": "{}", "fetched_at": at}
                    for raw_id, stream, key in (
                        (5, "orders", "O1"),
                        (6, "returns", "O1"),
                        (7, "orders", "O2"),
                    )
                ],
            )
            # EUR's rate came from the orders stream's O1, not the returns stream's; JPY's has no source.
            conn.execute(
                old.tables["fx_rates"].insert(),
                [
                    {
                        "tenant_id": 1,
                        "date": dt.date(2026, 1, 1),
                        "currency": currency,
                        "base_currency": "USD",
                    }
                    | {
                        "rate": 1,
                        "connection_id": 1,
                        "source_stream": stream,
                        "source_key": key,
                        "ingested_at": at,
                    }
                    for currency, stream, key in (
                        ("EUR", "orders", "O1"),
                        ("GBP", "orders", "O2"),
                        ("JPY", None, None),
                    )
                ],
            )
        store.migrate()
        fx = metadata.tables["fx_rates"]
        with store.engine.connect() as conn:
            lineage = dict(conn.execute(sa.select(fx.c.currency, fx.c.raw_record_id)).tuples().all())
            columns = {c["name"] for c in sa.inspect(conn).get_columns("fx_rates")}
        assert lineage == {"EUR": 5, "GBP": 7, "JPY": None}
        assert "source_key" not in columns and "source_stream" not in columns

        with store.engine.connect() as conn, conn.begin():
            command.downgrade(_alembic_config(conn), "0009")
        with store.engine.connect() as conn:
            back = conn.execute(
                sa.text("SELECT currency, source_stream, source_key FROM fx_rates ORDER BY currency")
            )
            assert [tuple(row) for row in back] == [
                ("EUR", "orders", "O1"),
                ("GBP", "orders", "O2"),
                ("JPY", None, None),
            ]
    finally:
        store.dispose()
