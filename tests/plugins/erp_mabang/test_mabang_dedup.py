"""The same order from Mabang and from the Amazon connector lands once: Amazon's amounts,
Mabang's logistics and costs, whichever syncs first; a client's override changes the rule."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest

from hub.connections import add_connection, get_connection, open_source
from hub.mapping_versions import save_override
from hub.sync import remap_connection
from plugins.amazon.simulator import DEFAULT_LIMITS, AmazonSimulator
from plugins.erp_mabang.simulator import MabangSimulator
from sdk.http import RateLimit

from .conftest import SCALE, connect_mabang, make_world, stored, sync, today_gmt8

ERP_EXTRA = Decimal("1.0000")


class ErpDisagrees(httpx.AsyncBaseTransport):
    """Mabang's copy of each order's total is off by one unit, so the winner can be told apart."""

    def __init__(self, inner):
        self.inner = inner

    async def handle_async_request(self, request):
        response = await self.inner.handle_async_request(request)
        await response.aread()
        body = json.loads(response.content)
        if json.loads(request.content)["api"] == "order-get-order-list-new" and "data" in body:
            for order in body["data"]["data"]:
                origin = Decimal(order["orderFeeOrigin"]) + ERP_EXTRA
                order["orderFeeOrigin"] = str(origin)
                # Both sides move: the connector quarantines an order whose two sides disagree.
                order["orderFee"] = str((origin * Decimal(order["currencyRate"])).quantize(Decimal("0.0001")))
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(response.status_code, headers=headers, json=body)


@pytest.fixture
def both(mabang_hub):
    world = make_world(days=8, skus=30, orders_per_day=5.0, seed=41)
    limits = {name: RateLimit(limit.rate * 200, limit.burst) for name, limit in DEFAULT_LIMITS.items()}
    amazon_sim = AmazonSimulator(world, limits=limits)
    mabang_sim = MabangSimulator(world, time_scale=SCALE)
    creds = amazon_sim.credentials()
    [seller] = creds["sellers"]
    urls = amazon_sim.base_urls()
    add_connection(
        mabang_hub.ready_store,
        mabang_hub.vault,
        mabang_hub.registry,
        name="amazon",
        plugin="amazon",
        options={
            "seller_id": seller["seller_id"],
            "region": seller["region"].lower(),
            "marketplaces": seller["marketplaces"],
            "start_date": (world.start - dt.timedelta(days=1)).isoformat(),
            "sp_api_url": urls["sp_api"],
            "ads_url": urls["ads"],
            "lwa_url": urls["lwa"] + "/auth/o2/token",
            "report_poll_seconds": 0.01,
            "rate_limit_scale": 200,
        },
        credentials={
            "lwa_client_id": creds["lwa_client_id"],
            "lwa_client_secret": creds["lwa_client_secret"],
            "refresh_token": seller["refresh_token"],
        },
    )
    connect_mabang(mabang_hub, mabang_sim)
    [(platform, shop_id)] = [key for key in mabang_sim.shops.values() if key[0] == "amazon"]
    return {
        "world": world,
        "amazon": lambda: sync(mabang_hub, "amazon", amazon_sim.transport()),
        "mabang": lambda: sync(mabang_hub, "mabang", ErpDisagrees(mabang_sim.transport())),
        "mabang_sim": mabang_sim,
        "shop": (platform, shop_id),
    }


def _of_shop(rows, shop):
    return {key: row for key, row in rows.items() if (row["platform"], row["shop_id"]) == shop}


def assert_merged(hub, both):
    world, shop, sim = both["world"], both["shop"], both["mabang_sim"]
    truth = sim.truth(today_gmt8())
    orders = stored(hub, "orders")
    amazon_orders = {(o.platform, o.shop_id, o.order_id): o for o in world.orders(*shop)}
    assert set(_of_shop(orders, shop)) == set(amazon_orders), "each Amazon order once"
    for key, order in amazon_orders.items():
        row = orders[key]
        assert row["gross_amount"] == order.gross_amount, "Amazon's amount wins"
        assert row["shipped_at"] == order.shipped_at, "Mabang's ship time"
        assert row["delivered_at"] == order.delivered_at, "Mabang's delivery time"
        assert row["paid_at"] == order.paid_at, "filled from Mabang where Amazon says nothing"
        # The freight the ERP recorded: Amazon knows no shipping cost, its shipping fee is the buyer's.
        known = truth["orders"][key]
        assert (row["shipping_cost"], row["shipping_cost_currency"]) == (
            known.shipping_cost,
            known.shipping_cost_currency,
        ), "Mabang's shipping cost"
        assert (row["shipping_cost"] is None) == (order.shipped_at is None)
    # Lines: Amazon's (its line ids), none of Mabang's own numbering for the same orders.
    items = _of_shop(stored(hub, "order_items"), shop)
    assert set(items) == {(i.platform, i.shop_id, i.order_id, i.line_id) for i in world.order_items(*shop)}
    # Shipments and costs are Mabang's alone.
    assert set(stored(hub, "shipments")) == set(truth["shipments"])
    assert set(stored(hub, "sku_costs")) == set(truth["sku_costs"])
    # Shops without a direct connector: Mabang's orders, with Mabang's (disagreeing) total.
    for other in set(sim.shops.values()) - {shop}:
        for order in world.orders(*other):
            row = orders[(order.platform, order.shop_id, order.order_id)]
            assert row["gross_amount"] == order.gross_amount + ERP_EXTRA
    assert len(orders) == len(truth["orders"])


def test_an_order_from_both_lands_once_with_each_side_winning_its_columns(mabang_hub, both):
    # Mabang first: Amazon then takes its orders over (every dialect's delete and keep paths).
    _both_orders_then_resend_and_remap(mabang_hub, both, "mabang")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_same_when_amazon_syncs_first(mabang_hub, both):
    _both_orders_then_resend_and_remap(mabang_hub, both, "amazon")


def _both_orders_then_resend_and_remap(mabang_hub, both, first):
    second = "mabang" if first == "amazon" else "amazon"
    assert both[first]().status == "succeeded"
    assert both[second]().status == "succeeded"
    assert_merged(mabang_hub, both)

    # Re-sending either side, or remapping Mabang, deletes nothing of the other's.
    for name in ("mabang", "amazon"):
        again = both[name]()
        assert again.status == "succeeded", again.errors
    hub = mabang_hub
    for name in ("mabang", "amazon"):
        info = get_connection(hub.ready_store, name)
        source = open_source(hub.ready_store, hub.vault, hub.registry, info)
        assert remap_connection(hub.ready_store, info, source).status == "succeeded"
    # Remapping Amazon dropped what Mabang had merged into its rows; Mabang's remap restores it.
    info = get_connection(hub.ready_store, "mabang")
    source = open_source(hub.ready_store, hub.vault, hub.registry, info)
    assert remap_connection(hub.ready_store, info, source).status == "succeeded"
    assert_merged(mabang_hub, both)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_client_override_of_the_rule_changes_the_outcome(mabang_hub, both):
    hub = mabang_hub
    info = get_connection(hub.ready_store, "mabang")
    source = open_source(hub.ready_store, hub.vault, hub.registry, info)
    [orders_stream] = [s for s in source.streams() if s.name == "orders"]
    # This client trusts the ERP's totals: its orders no longer defer to the marketplace's.
    with hub.ready_store.begin() as conn:
        save_override(conn, info.id, orders_stream, {"targets": {"orders": {"merge": None}}}, actor="test")
    asyncio.run(source.aclose())

    assert both["amazon"]().status == "succeeded"
    assert both["mabang"]().status == "succeeded"

    orders = stored(hub, "orders")
    for order in both["world"].orders(*both["shop"]):
        assert orders[(order.platform, order.shop_id, order.order_id)]["gross_amount"] == (
            order.gross_amount + ERP_EXTRA
        )
