"""Landing: several pages in one write equal landing them one after another; spellings the
database holds as one key land as one record."""

from __future__ import annotations

import pytest
from hub_rows import land_pages, order_mapping, stored
from sqlalchemy import select

from hub.store.tables import raw_records, standard_tables

SHOP = {"platform": "fakeshop", "shop_id": "S1"}


def _order(order_id, total, lines, day=1):
    lines = [{"id": line, "sku": line} for line in lines]
    return {"id": order_id, "total": total, "at": f"2026-09-{day:02d}T10:00:00Z", "lines": lines}


# Groups of pages as a sync hands them over: a record re-sent in a later page of the same
# group (losing a line), one re-sent in a later group, one that is quarantined the second
# time (no total), and an order the other connection already holds.
GROUPS = [
    [
        [_order("O1", "10", ["a", "b"]), _order("O2", "20", ["c"])],
        [_order("O1", "11", ["a"], day=2), _order("O3", "30", ["d"])],
        [_order("O2", "21", ["c", "e"], day=3), _order("O9", "90", ["z"])],
    ],
    [
        [_order("O3", "31", ["d", "f"], day=4), _order("O4", "40", ["g"])],
        [_order("O2", None, ["c"], day=5), _order("O1", "12", [], day=5)],
    ],
]


def _snapshot(hub):
    """The rows, each naming the raw record it came from by its connection and key (ids depend
    on the order records were first stored in), and the raw records."""
    with hub.ready_store.begin() as conn:
        sources = {
            row.id: (row.connection_id, row.record_key)
            for row in conn.execute(
                raw_records.select().with_only_columns(
                    raw_records.c.id, raw_records.c.connection_id, raw_records.c.record_key
                )
            )
        }
    tables = {
        name: {
            key: {
                **{c: v for c, v in row.items() if c not in ("ingested_at", "raw_record_id")},
                "source": sources[row["raw_record_id"]],
            }
            for key, row in stored(hub, name).items()
        }
        for name in ("orders", "order_items")
    }
    with hub.ready_store.begin() as conn:
        raws = conn.execute(
            raw_records.select().with_only_columns(
                raw_records.c.connection_id, raw_records.c.record_key, raw_records.c.data, raw_records.c.error
            )
        ).all()
    return tables, sorted(map(tuple, raws), key=repr)


def _land(hub, info, mapping, pages):
    return land_pages(hub, info, mapping, pages, shop=SHOP)


def _clear(hub):
    with hub.ready_store.begin() as conn:
        for table in ("order_items", "orders"):
            conn.execute(standard_tables[table].delete())
        conn.execute(raw_records.delete())


@pytest.mark.parametrize("defer", [False, True], ids=["takes-over", "defers"])
def test_pages_landed_together_equal_pages_landed_one_by_one(connect, hub, defer):
    mine, other = connect("mine"), connect("other")
    results = {}
    for way in ("one by one", "together"):
        _clear(hub)
        _land(hub, other, order_mapping(), [[_order("O9", "99", ["y"])]])
        counts = []
        for group in GROUPS:
            if way == "one by one":
                for page in group:
                    counts += _land(hub, mine, order_mapping(defer=defer), [page])
            else:
                counts += _land(hub, mine, order_mapping(defer=defer), group)
        results[way] = (_snapshot(hub), [(c.read, c.rejected) for c in counts])
    assert results["together"] == results["one by one"]
    tables, _ = results["together"][0]
    # The outcome itself, so both ways cannot agree on something wrong.
    orders = tables["orders"]
    assert sorted(k[2] for k in orders) == ["O1", "O3", "O4", "O9"], "O2 is quarantined at last"
    assert orders[("fakeshop", "S1", "O1")]["gross_amount"] == 12
    assert sorted(k[3] for k in tables["order_items"] if k[2] in ("O1", "O3")) == ["d", "f"]
    assert orders[("fakeshop", "S1", "O9")]["connection_id"] == (other.id if defer else mine.id)
    # Each row names the raw record it was derived from: its writer's record of that order.
    for name in ("orders", "order_items"):
        for key, row in tables[name].items():
            assert row["source"] == (row["connection_id"], f'["{key[2]}"]'), (name, key)


def test_keys_the_database_holds_as_one_still_land(connect, hub):
    """MariaDB's default collation holds "o1" and "O1" as one key, the others as two. Either
    way a record re-sent with the other spelling lands, and every row names a stored raw
    record of its own order."""
    mine = connect("mine")
    _land(hub, mine, order_mapping(), [[_order("o1", "10", ["a"])]])
    _land(hub, mine, order_mapping(), [[_order("O1", "11", ["a"]), _order("o2", "20", ["b"])]])
    with hub.ready_store.begin() as conn:
        raws = dict(conn.execute(select(raw_records.c.id, raw_records.c.record_key)).tuples().all())
    assert len(raws) == (2 if hub.ready_store.engine.dialect.name == "mysql" else 3)
    for table in ("orders", "order_items"):
        rows = stored(hub, table)
        assert len(rows) == len(raws), table  # one order (and one line) per stored record
        for key, row in rows.items():
            assert raws[row["raw_record_id"]].lower() == f'["{key[2]}"]'.lower(), (table, key)
