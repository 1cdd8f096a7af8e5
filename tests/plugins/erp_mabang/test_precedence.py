"""The write path's precedence rule on hand-made records: two connections, one order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hub_rows import land_pages, order_mapping

from hub.store.tables import standard_tables
from hub.sync.precedence import ORDER_GROUP, group_columns

from .conftest import stored

_mapping = order_mapping

MARKETPLACE = _mapping(defer=False, with_shipped=False)
ERP = _mapping(defer=True, owns=("shipped_at",))
SHOP = {"platform": "fakeshop", "shop_id": "S1"}


def _land(hub, info, mapping, records, stream="orders"):
    land_pages(hub, info, mapping, [records], shop=SHOP, stream=stream)


def _order(total, lines, shipped=None):
    return {"id": "O1", "total": total, "shipped": shipped, "lines": [{"id": n, "sku": n} for n in lines]}


def test_order_tables_group_by_order_and_others_by_key():
    assert group_columns("orders") == group_columns("order_items") == ORDER_GROUP
    assert group_columns("refunds") == group_columns("shipments") == ORDER_GROUP
    assert group_columns("inventory_snapshots") == ("date", "sku", "warehouse")


def test_either_order_gives_one_row_each_side_winning_its_columns(connect, hub):
    market, erp = connect("market"), connect("erp", options={"shop_id": "S9", "seed": 7})
    for first in ("market", "erp"):
        with hub.ready_store.begin() as conn:
            for table in ("orders", "order_items"):
                conn.execute(standard_tables[table].delete())
        steps = {
            "market": lambda: _land(hub, market, MARKETPLACE, [_order("10", ["a", "b"])]),
            "erp": lambda: _land(hub, erp, ERP, [_order("99", ["x"], shipped="2026-09-02T00:00:00Z")]),
        }
        steps[first]()
        steps["erp" if first == "market" else "market"]()
        orders = stored(hub, "orders")
        assert list(orders) == [("fakeshop", "S1", "O1")]
        row = orders[("fakeshop", "S1", "O1")]
        assert row["gross_amount"] == Decimal("10") and row["connection_id"] == market.id, first
        assert row["shipped_at"] == dt.datetime(2026, 9, 2, tzinfo=dt.UTC), first
        assert sorted(k[3] for k in stored(hub, "order_items")) == ["a", "b"], first


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_resending_either_side_keeps_the_other_s_row_and_a_lost_line_goes(connect, hub):
    market, erp = connect("market"), connect("erp", options={"shop_id": "S9", "seed": 7})
    _land(hub, market, MARKETPLACE, [_order("10", ["a", "b"])])
    _land(hub, erp, ERP, [_order("99", ["x"], shipped="2026-09-02T00:00:00Z")])

    _land(hub, erp, ERP, [_order("98", ["x", "y"], shipped="2026-09-03T00:00:00Z")])
    row = stored(hub, "orders")[("fakeshop", "S1", "O1")]
    assert (row["gross_amount"], row["connection_id"]) == (Decimal("10"), market.id)
    assert row["shipped_at"] == dt.datetime(2026, 9, 3, tzinfo=dt.UTC), "the ERP owns shipped_at"

    _land(hub, market, MARKETPLACE, [_order("11", ["a"])])
    row = stored(hub, "orders")[("fakeshop", "S1", "O1")]
    assert row["gross_amount"] == Decimal("11")
    assert row["shipped_at"] == dt.datetime(2026, 9, 3, tzinfo=dt.UTC), "kept: the marketplace maps none"
    assert [k[3] for k in stored(hub, "order_items")] == ["a"], "the re-sent order lost line b"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_without_a_marketplace_the_erp_writes_and_replaces_its_own_rows(connect, hub):
    erp = connect("erp", options={"shop_id": "S9", "seed": 7})
    _land(hub, erp, ERP, [_order("99", ["x", "y"])])
    _land(hub, erp, ERP, [_order("98", ["x"])])
    assert stored(hub, "orders")[("fakeshop", "S1", "O1")]["gross_amount"] == Decimal("98")
    assert [k[3] for k in stored(hub, "order_items")] == ["x"]
