"""The default mappings against Shopee's own ``response_sample``\\ s (read from KPIHUB_SPECS_DIR).

The samples are Shopee's documentation data, kept outside the repository; two of them are
not valid JSON as published (an extra opening brace, missing commas) and are repaired here
the way a reader of the page would. Each sample record is shaped as the stream yields it and
mapped with the stream's default mapping: every row must be a valid standard row.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from hub.mapping import compile_mapping
from hub.mapping_versions import provided_fields
from hub.sync.landing import derive
from plugins.shopee import ShopeeSource
from plugins.shopee.client import ShopAuth
from plugins.shopee.errors import classify
from sdk import SourceContext

SPECS = Path(os.environ.get("KPIHUB_SPECS_DIR", Path(__file__).parents[4] / "shared" / "reference" / "specs"))
SHOPEE = SPECS / "shopee"
pytestmark = pytest.mark.skipif(
    not (SHOPEE / "v2.order.get_order_detail.json").is_file(),
    reason=f"Shopee's API definitions are absent from KPIHUB_SPECS_DIR ({SHOPEE})",
)


def sample(name):
    """The first response_sample of definition ``name``, as JSON."""
    value = json.loads((SHOPEE / f"{name}.json").read_text(encoding="utf-8"))["response_sample"][0]["value"]
    if isinstance(value, dict):
        return value
    try:
        return json.loads(value)
    except ValueError:
        pass
    text = value.strip()
    if re.match(r"^\{\s*\{", text):  # an unbalanced doubled opening brace
        text = text[1:]
    text = re.sub(r'([0-9el"}\]])(\s*\n\s*")', r"\1,\2", text)  # a missing comma before a key
    return json.loads(text)


def _source():
    return ShopeeSource(
        ShopeeSource.Options(partner_id=2001887, shops={"322300222": "VN"}),
        ShopeeSource.Credentials(partner_key="k", refresh_tokens={"322300222": "r"}),
        SourceContext("specs"),
    )


def _map(stream_name, record):
    source = _source()
    [stream] = [s for s in source.streams() if s.name == stream_name]
    [partition] = stream.partitions()
    mapping = compile_mapping(stream.mapping(), provided=provided_fields(stream))
    derived = derive(mapping, record, {**source.mapping_defaults(), **partition.defaults})
    assert derived.error is None, derived.error
    rows = {}
    for table, row in derived.rows:
        rows.setdefault(table, []).append(row)
    return rows


def _utc(epoch):
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def test_order_detail_with_escrow_maps_to_orders_items_and_shipments():
    detail = sample("v2.order.get_order_detail")
    escrow = sample("v2.payment.get_escrow_detail")
    assert classify(httpx.Response(200, request=httpx.Request("GET", "http://x/")), detail) is None
    [order] = detail["response"]["order_list"]

    rows = _map("orders", {**order, "escrow": escrow["response"]})

    [mapped] = rows["orders"]
    income = escrow["response"]["order_income"]
    assert mapped["order_id"] == order["order_sn"] and mapped["status"] == "delivered"  # COMPLETED
    assert mapped["gross_amount"] == Decimal(str(order["total_amount"])) and mapped["currency"] == "VND"
    assert mapped["created_at"] == _utc(order["create_time"]) and mapped["paid_at"] == _utc(order["pay_time"])
    assert mapped["shipped_at"] == _utc(order["pickup_done_time"])
    assert mapped["ship_by"] == _utc(order["ship_by_date"])
    fees = sum(Decimal(str(income[k])) for k in ("commission_fee", "service_fee", "seller_transaction_fee"))
    assert mapped["platform_fees"] == fees
    assert mapped["shipping_fee"] == Decimal(str(income["buyer_paid_shipping_fee"]))
    assert mapped["buyer_country"] == "VN" and mapped["site"] == "VN"
    [line] = rows["order_items"]
    item = order["item_list"][0]
    assert line["line_id"] == f"{item['order_item_id']}-{item['model_id']}"
    assert line["sku"] == item["model_sku"] and line["quantity"] == item["model_quantity_purchased"]
    assert line["amount"] == Decimal(str(item["model_discounted_price"])) * item["model_quantity_purchased"]
    [shipment] = rows["shipments"]
    package = order["package_list"][0]
    assert shipment["shipment_id"] == package["package_number"]
    assert shipment["carrier"] == package["shipping_carrier"]


def test_an_order_without_escrow_keeps_fees_unknown():
    [order] = sample("v2.order.get_order_detail")["response"]["order_list"]
    unpaid = {**order, "order_status": "UNPAID", "pay_time": 0, "pickup_done_time": 0, "escrow": None}

    [mapped] = _map("orders", unpaid)["orders"]

    assert mapped["status"] == "pending" and mapped["paid_at"] is None and mapped["shipped_at"] is None
    assert mapped["platform_fees"] is None and mapped["tax"] == 0


def test_return_detail_and_list_entries_map_to_refunds():
    detail = sample("v2.returns.get_return_detail")
    listing = sample("v2.returns.get_return_list")
    for body in (detail, listing):  # Shopee's samples write "-" for "no error"
        assert classify(httpx.Response(200, request=httpx.Request("GET", "http://x/")), body) is None

    [refund] = _map("returns", detail["response"])["refunds"]
    assert refund["refund_id"] == detail["response"]["return_sn"] and refund["status"] == "processing"
    assert refund["amount"] == Decimal("13.97") and refund["currency"] == "SGD"
    assert refund["created_at"] == _utc(detail["response"]["create_time"])
    for entry in listing["response"]["return"]:
        [row] = _map("returns", entry)["refunds"]
        assert row["status"] == "cancelled" and row["order_id"] == entry["order_sn"]


def test_cpc_daily_performance_maps_to_ad_performance():
    [day] = sample("v2.ads.get_all_cpc_ads_daily_performance")["response"]

    [row] = _map("ads", {**day, "shop_id": "322300222"})["ad_performance"]

    assert row["date"] == dt.date(2021, 3, 17) and row["spend"] == Decimal(str(day["expense"]))
    assert (
        row["attributed_sales"] == Decimal(str(day["broad_gmv"])) and row["impressions"] == day["impression"]
    )
    assert row["currency"] == "VND" and row["shop_id"] == "322300222" and row["attribution_window_days"] == 7


def test_the_refresh_answer_sample_is_read_and_its_new_refresh_token_kept():
    answer = sample("v2.public.refresh_access_token")
    saved = []

    async def persist(tokens):
        saved.append(tokens)

    def handler(request):
        assert request.url.path == "/api/v2/auth/access_token/get"
        assert json.loads(request.content)["refresh_token"] == "old"
        return httpx.Response(200, json=answer)

    import asyncio

    async def run():
        auth = ShopAuth(
            partner_id=2001887,
            partner_key="k",
            shop_id="322300222",
            refresh_token="old",
            access_token=None,
            expires_at=0.0,
            persist=persist,
        )
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://x") as client:
            auth.bind(client)
            await auth.refresh(client)
        return auth

    auth = asyncio.run(run())
    [tokens] = saved
    assert tokens.refresh_token == answer["refresh_token"] == auth.refresh_token
    assert tokens.access_token == answer["access_token"] == auth.access_token
