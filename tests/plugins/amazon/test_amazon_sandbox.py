"""The connector's parsing of Amazon's own sandbox examples (from the official API models)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from hub.mapping import compile_mapping
from hub.mapping_versions import provided_fields
from hub.sync.landing import derive
from plugins.amazon import AmazonSource
from plugins.amazon.simulator import AmazonSimulator
from sdk import SourceContext, TerminalError
from sdk.simulator import SellerWorld

SPECS_DIR = Path(
    os.environ.get("KPIHUB_SPECS_DIR", Path(__file__).parents[4] / "shared" / "reference" / "specs")
)
ORDERS_MODEL = SPECS_DIR / "amazon-sp-api" / "ordersV0.json"

pytestmark = pytest.mark.skipif(
    not ORDERS_MODEL.is_file(), reason=f"Amazon's ordersV0.json is absent from KPIHUB_SPECS_DIR ({SPECS_DIR})"
)


def _cases(path):
    model = json.loads(ORDERS_MODEL.read_text(encoding="utf-8"))
    responses = model["paths"][path]["get"]["responses"]
    return [
        (int(status), case["request"]["parameters"], case["response"])
        for status, answer in responses.items()
        for case in answer.get("x-amzn-api-sandbox", {}).get("static", [])
    ]


def _source(sim):
    creds = sim.credentials()
    seller = creds["sellers"][0]
    urls = sim.base_urls()
    return AmazonSource(
        AmazonSource.Options(
            seller_id=seller["seller_id"],
            region=seller["region"].lower(),
            marketplaces={"ATVPDKIKX0DER": "sandbox-us"},
            orders_api="v0",  # the sandbox cases compared here are the v0 model's
            sp_api_url=urls["sp_api"],
            ads_url=urls["ads"],
            lwa_url=urls["lwa"] + "/auth/o2/token",
        ),
        AmazonSource.Credentials(
            lwa_client_id=creds["lwa_client_id"],
            lwa_client_secret=creds["lwa_client_secret"],
            refresh_token=seller["refresh_token"],
        ),
        SourceContext("sandbox", transport=sim.transport()),
    )


@pytest.fixture
def sim():
    world = SellerWorld.generate(4, shops=1, days=2, start=dt.date(2026, 9, 1), platforms=("amazon",))
    return AmazonSimulator(world)


def test_sandbox_orders_map_to_valid_standard_rows(sim):
    items_by_order = {
        response["payload"]["AmazonOrderId"]: response["payload"]["OrderItems"]
        for status, _, response in _cases("/orders/v0/orders/{orderId}/orderItems")
        if status == 200 and "payload" in response
    }
    source = _source(sim)
    orders_stream = source.streams()[0]
    [partition] = orders_stream.partitions()
    mapping = compile_mapping(orders_stream.mapping(), provided=provided_fields(orders_stream))
    defaults = {**source.mapping_defaults(), **partition.defaults}

    async def fetch():
        try:
            fetched = []
            for status, parameters, response in _cases("/orders/v0/orders"):
                if status != 200:
                    continue
                params = {
                    k: ",".join(v["value"]) if isinstance(v["value"], list) else v["value"]
                    for k, v in parameters.items()
                }
                _, body = await source.clients.sp_api.request(
                    "GET", "/orders/v0/orders", endpoint="getOrders", params=params
                )
                assert body == response, "served verbatim"
                fetched.extend(body["payload"]["Orders"])
            return fetched
        finally:
            await source.aclose()

    orders = asyncio.run(fetch())
    assert orders, "the model has sandbox orders"
    for order in orders:
        raw = {**order, "OrderItems": items_by_order.get(order["AmazonOrderId"], [])}
        derived = derive(mapping, raw, defaults)
        assert derived.error is None, derived.error
        rows = dict(derived.rows[:1])
        assert rows["orders"]["order_id"] == order["AmazonOrderId"]
        if "OrderTotal" in order:
            assert rows["orders"]["gross_amount"] == Decimal(order["OrderTotal"]["Amount"])
        assert rows["orders"]["created_at"] == dt.datetime.fromisoformat(
            order["PurchaseDate"].replace("Z", "+00:00")
        )


def test_sandbox_400_is_a_terminal_error_with_amazons_code(sim):
    source = _source(sim)
    [(_, parameters, response)] = [c for c in _cases("/orders/v0/orders") if c[0] == 400]
    params = {
        k: ",".join(v["value"]) if isinstance(v["value"], list) else v["value"] for k, v in parameters.items()
    }

    async def fetch():
        try:
            await source.clients.sp_api.request(
                "GET", "/orders/v0/orders", endpoint="getOrders", params=params
            )
        finally:
            await source.aclose()

    with pytest.raises(TerminalError, match=response["errors"][0]["code"]):
        asyncio.run(fetch())
