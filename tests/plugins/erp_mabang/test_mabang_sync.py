"""The Mabang connector through the real hub, against the simulator's ground truth."""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import time

import httpx
import pytest
import sqlalchemy as sa

from hub.connections import add_connection, get_connection, open_source, update_connection
from hub.store.tables import raw_records, stream_states
from hub.sync import remap_connection
from plugins.erp_mabang.simulator import MabangSimulator
from sdk import ConfigError
from sdk.simulator import FaultKind, FaultPlan

from .conftest import (
    SCALE,
    assert_equals_truth,
    connect_mabang,
    mabang_options,
    make_world,
    stored,
    sync,
    today_gmt8,
)

TABLES = (
    "orders",
    "order_items",
    "refunds",
    "shipments",
    "skus",
    "sku_costs",
    "inventory_snapshots",
    "fx_rates",
)
FAULT_KINDS = (
    FaultKind.RATE_LIMIT_429,
    FaultKind.RATE_LIMIT_429_NO_RETRY_AFTER,
    FaultKind.SERVER_500,
    FaultKind.SERVER_503,
    FaultKind.TRUNCATED_JSON,
    FaultKind.MALFORMED_JSON,
)


@functools.cache
def big_world():
    """90 days, 2,000 SKUs, three shops (one Amazon US) and so three warehouses: own, 3PL, FBA."""
    return make_world(days=90, skus=2000, orders_per_day=3.0, seed=31)


def _faults(seed=7):
    return FaultPlan(seed, {kind: 0.10 / len(FAULT_KINDS) for kind in FAULT_KINDS}, retry_after=0.01)


def _check_shape(sim):
    truth = sim.truth(today_gmt8())
    assert len(truth["skus"]) == 2000
    assert {row.warehouse_type for row in truth["inventory_snapshots"].values()} == {"own", "3pl", "fba"}
    assert len({row.warehouse for row in truth["inventory_snapshots"].values()}) == 3
    return truth


def test_small_world_equals_truth_on_every_database(mabang_hub):
    sim = MabangSimulator(make_world(), time_scale=SCALE)
    name = connect_mabang(mabang_hub, sim)

    result = sync(mabang_hub, name, sim.transport())

    assert result.status == "succeeded", result.errors
    assert_equals_truth(mabang_hub, sim.truth(today_gmt8()), TABLES)
    shops = stored(mabang_hub, "shops")
    for platform, shop_id in sim.shops.values():
        assert shops[(platform, shop_id)]["shop_name"] == sim.world.shop(platform, shop_id).name
    assert sim.throttled == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ninety_days_2000_skus_with_faults_on_ten_percent_equal_the_truth(mabang_hub):
    faults = _faults()
    sim = MabangSimulator(big_world(), faults=faults, time_scale=SCALE)
    truth = _check_shape(sim)
    name = connect_mabang(mabang_hub, sim)

    result = sync(mabang_hub, name, sim.transport())

    assert result.status == "succeeded", result.errors
    assert_equals_truth(mabang_hub, truth, TABLES)
    injected = sum(faults.injected.values())
    # Few requests (about 50), so the share drawn varies around the planned 10 %.
    assert injected >= 3, faults.injected
    assert result.stats["retries"] >= injected


class Killed(BaseException):
    """Stands for the process dying: not an Exception, nothing in the hub may swallow it."""


class KillingTransport(httpx.AsyncBaseTransport):
    """Passes requests to ``inner``; the ``kill_at``-th one dies instead of being answered."""

    def __init__(self, inner, kill_at):
        self.inner = inner
        self.kill_at = kill_at
        self.seen = 0

    async def handle_async_request(self, request):
        self.seen += 1
        if self.seen == self.kill_at:
            raise Killed(f"killed at request {self.seen}")
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_killed_twice_and_resumed_equals_the_truth(mabang_hub):
    faults = _faults(seed=9)
    sim = MabangSimulator(big_world(), faults=faults, time_scale=SCALE)
    truth = sim.truth(today_gmt8())
    name = connect_mabang(mabang_hub, sim)

    # Die while reading stock (whole listing in pages) and again inside an orders listing.
    for kill_at in (6, 25):
        with pytest.raises(Killed):
            sync(mabang_hub, name, KillingTransport(sim.transport(), kill_at))
    info = get_connection(mabang_hub.ready_store, name)
    with mabang_hub.ready_store.begin() as conn:
        saved = conn.execute(stream_states.select().where(stream_states.c.connection_id == info.id)).all()
    assert saved, "the killed runs committed pages and their checkpoints"

    start = time.monotonic()
    result = sync(mabang_hub, name, sim.transport())

    assert result.status == "succeeded", result.errors
    assert_equals_truth(mabang_hub, truth, TABLES)
    assert time.monotonic() - start < 120


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_unmapped_shops_are_named_in_a_warning_and_not_read(mabang_hub, caplog):
    sim = MabangSimulator(make_world(days=5, skus=10), time_scale=SCALE)
    options = mabang_options(sim)
    left_out = sorted(options["shops"])[-1]
    del options["shops"][left_out]
    creds = sim.credentials()
    add_connection(
        mabang_hub.ready_store,
        mabang_hub.vault,
        mabang_hub.registry,
        name="mabang",
        plugin="erp_mabang",
        options=options,
        credentials={"app_key": creds["app_key"], "app_secret": creds["app_secret"]},
    )

    with caplog.at_level(logging.WARNING, logger="kpihub.erp_mabang"):
        assert sync(mabang_hub, "mabang", sim.transport()).status == "succeeded"

    [warning] = [r.getMessage() for r in caplog.records if "not map" in r.getMessage()]
    assert left_out in warning
    platform, shop_id = sim.shops[left_out]
    assert not [key for key in stored(mabang_hub, "orders") if key[:2] == (platform, shop_id)]
    assert sim.app_secret not in caplog.text
    # It is kept, quarantined with a reason that names it, for the data-quality report.
    assert _quarantined_shops(mabang_hub) == [(json.dumps([left_out]), left_out)]

    # Mapped, then remapped from raw: it stays quarantined (its record was listed under another
    # shop's partition, whose key it must not take), and that shop's row is unchanged.
    before = stored(mabang_hub, "shops")
    info = update_connection(
        mabang_hub.ready_store,
        mabang_hub.vault,
        mabang_hub.registry,
        get_connection(mabang_hub.ready_store, "mabang"),
        options=mabang_options(sim),
        actor="test",
    )
    source = open_source(mabang_hub.ready_store, mabang_hub.vault, mabang_hub.registry, info)
    assert remap_connection(mabang_hub.ready_store, info, source).status == "succeeded"
    assert _quarantined_shops(mabang_hub) == [(json.dumps([left_out]), left_out)]
    assert {k: v["shop_name"] for k, v in stored(mabang_hub, "shops").items()} == {
        k: v["shop_name"] for k, v in before.items()
    }
    # Synced again, it lands under its own key and is quarantined no more.
    assert sync(mabang_hub, "mabang", sim.transport()).status == "succeeded"
    assert _quarantined_shops(mabang_hub) == []
    assert (platform, shop_id) in stored(mabang_hub, "shops")


def _quarantined_shops(hub):
    """(record key, the Mabang shop id its reason names) of each quarantined shops record."""
    with hub.ready_store.begin() as conn:
        rows = conn.execute(
            sa.select(raw_records.c.record_key, raw_records.c.error).where(
                raw_records.c.stream == "shops", raw_records.c.error.is_not(None)
            )
        ).all()
    found = []
    for key, error in rows:
        assert "is not in the connection's `shops` option" in error
        found.append((key, error.removeprefix("Mabang shop ").split(" ")[0]))
    return found


BAD_OPTIONS = [
    ({"shops": {}}, "shops"),
    ({"shops": {"1": {"platform": "amazon"}}}, "shop_id"),
    ({"max_rows": 5000}, "max_rows"),
    ({"api_version": "v2"}, "api_version"),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_options_are_refused_naming_the_field(mabang_hub):
    sim = MabangSimulator(make_world(days=1, skus=2))
    for change, words in BAD_OPTIONS:
        with pytest.raises(ConfigError, match=words):
            add_connection(
                mabang_hub.ready_store,
                mabang_hub.vault,
                mabang_hub.registry,
                name="bad",
                plugin="erp_mabang",
                options={**mabang_options(sim), **change},
                credentials={"app_key": "1", "app_secret": "s"},
            )


class BreaksOneOrder(httpx.AsyncBaseTransport):
    """The CNY total of the first order listed no longer matches its original-currency total."""

    def __init__(self, inner):
        self.inner = inner
        self.broken = None

    async def handle_async_request(self, request):
        response = await self.inner.handle_async_request(request)
        await response.aread()
        body = json.loads(response.content)
        api = json.loads(request.content)["api"]
        if api == "order-get-order-list-new" and self.broken is None and body.get("data", {}).get("data"):
            order = body["data"]["data"][0]
            order["orderFee"] = "1.0000"
            self.broken = order["platformOrderId"]
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(response.status_code, headers=headers, json=body)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_order_whose_two_currencies_disagree_is_quarantined_with_the_reason(mabang_hub):
    sim = MabangSimulator(make_world(days=5, skus=10), time_scale=SCALE)
    name = connect_mabang(mabang_hub, sim)
    transport = BreaksOneOrder(sim.transport())

    result = sync(mabang_hub, name, transport)

    assert result.status == "succeeded" and result.rows_rejected == 1
    assert transport.broken is not None
    with mabang_hub.ready_store.begin() as conn:
        [error] = conn.execute(
            sa.select(raw_records.c.error).where(raw_records.c.error.is_not(None))
        ).scalars()
    assert "orderFee 1.0000 (CNY) is not orderFeeOrigin" in error
    assert transport.broken not in {key[2] for key in stored(mabang_hub, "orders")}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_orders_updated_after_a_run_are_read_by_the_next(mabang_hub):
    sim = MabangSimulator(make_world(days=6, skus=10), time_scale=SCALE)
    name = connect_mabang(mabang_hub, sim)
    assert sync(mabang_hub, name, sim.transport()).status == "succeeded"
    info = get_connection(mabang_hub.ready_store, name)
    with mabang_hub.ready_store.begin() as conn:
        states = conn.execute(
            sa.select(stream_states.c.state).where(
                stream_states.c.connection_id == info.id, stream_states.c.stream == "orders"
            )
        ).scalars()
        bound = min(dt.datetime.fromisoformat(state["after"]) for state in states)

    # Orders move on one second after the first run's upper bound, as Mabang would stamp them.
    moved = sim.world.update_orders(0.5, at=bound + dt.timedelta(seconds=1))
    assert moved
    time.sleep(2)  # the next run's bound (a minute behind its start) must pass that second
    assert sync(mabang_hub, name, sim.transport()).status == "succeeded"

    assert_equals_truth(mabang_hub, sim.truth(today_gmt8()), ("orders", "order_items", "shipments"))
