"""The Amazon simulator: LWA, SP-API and Ads wire formats, limits, paging, sandbox cases, truth."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
import os
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from plugins.amazon.simulator import DEFAULT_LIMITS, AmazonSimulator
from sdk.http.ratelimit import RateLimit
from sdk.records import (
    AdPerformance,
    InventorySnapshot,
    Order,
    OrderItem,
    OrderStatus,
    Refund,
    RefundStatus,
)
from sdk.simulator import SellerWorld, ShopSpec

START = dt.date(2025, 1, 1)
DAYS = 60
FAST = {name: RateLimit(1000, 1000) for name in DEFAULT_LIMITS}
REPORT_TYPE = "application/vnd.createasyncreportrequest.v3+json"
SPECS_DIR = Path(
    os.environ.get("KPIHUB_SPECS_DIR", Path(__file__).resolve().parents[4] / "shared" / "reference" / "specs")
)
ORDERS_MODEL = SPECS_DIR / "amazon-sp-api" / "ordersV0.json"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def world():
    shops = [
        ShopSpec.on_site(
            "amazon", "US", shop_id="AMZUS01", launched_on=dt.date(2023, 1, 1), orders_per_day=8
        ),
        ShopSpec.on_site(
            "amazon", "UK", shop_id="AMZUK01", launched_on=dt.date(2023, 1, 1), orders_per_day=4
        ),
    ]
    return SellerWorld.generate(11, shops=shops, days=DAYS, start=START, skus=150, platforms=("amazon",))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sim(world, clock):
    return AmazonSimulator(world, limits=FAST, clock=clock)


def run(sim, scenario):
    """Run ``scenario(client)`` against the simulator in process."""

    async def main():
        async with httpx.AsyncClient(transport=sim.transport(), base_url="http://amazon.simulator") as client:
            return await scenario(client)

    return asyncio.run(main())


def seller(sim, site="US"):
    shop = next(s for s in sim.shops if s.marketplace.site == site)
    found = next(s for s in sim.credentials()["sellers"] if s["seller_id"] == shop.seller_id)
    return found, shop


async def login(client, sim, account):
    creds = sim.credentials()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": account["refresh_token"],
        "client_id": creds["lwa_client_id"],
        "client_secret": creds["lwa_client_secret"],
    }
    response = await client.post("/lwa/auth/o2/token", data=form)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def ads_headers(sim, token, profile_id=None):
    headers = {"Authorization": f"Bearer {token}", "Amazon-Advertising-API-ClientId": sim.client_id}
    if profile_id is not None:
        headers["Amazon-Advertising-API-Scope"] = str(profile_id)
    return headers


def as_json(response):
    return json.loads(response.content, parse_float=Decimal)


# -- LWA and tokens ------------------------------------------------------------------------------


def test_credentials_are_json_and_name_one_app_and_one_seller_per_shop(sim, world):
    creds = json.loads(json.dumps(sim.credentials()))
    assert creds["lwa_client_id"].startswith("amzn1.application-oa2-client.")
    sellers = creds["sellers"]
    assert len(sellers) == 2 and len({s["seller_id"] for s in sellers}) == 2
    assert {mid: shop for s in sellers for mid, shop in s["marketplaces"].items()} == {
        "ATVPDKIKX0DER": "AMZUS01",
        "A1F83G8C2ARO7P": "AMZUK01",
    }
    assert {s["region"] for s in sellers} == {"NA", "EU"}
    assert all(isinstance(s["ads_profile_id"], int) for s in sellers)
    assert sim.base_urls() == {
        "lwa": "http://amazon.simulator/lwa",
        "sp_api": "http://amazon.simulator/sp",
        "ads": "http://amazon.simulator/ads",
    }


def test_lwa_refresh_works_and_a_revoked_refresh_token_or_wrong_client_gives_invalid_grant(sim):
    account, _ = seller(sim)

    async def scenario(client):
        first = await client.post(
            "/lwa/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": account["refresh_token"],
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
            },
        )
        wrong = await client.post(
            "/lwa/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": account["refresh_token"],
                "client_id": sim.client_id,
                "client_secret": "not-the-secret",
            },
        )
        sim.tokens.revoke_refresh(account["refresh_token"])
        revoked = await client.post(
            "/lwa/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": account["refresh_token"],
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
            },
        )
        return first, wrong, revoked

    first, wrong, revoked = run(sim, scenario)
    body = first.json()
    assert body["access_token"].startswith("Atza|")
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["refresh_token"] == account["refresh_token"]
    for refused in (wrong, revoked):
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
        assert refused.json()["error_description"]


def test_an_expired_or_missing_access_token_gives_403_unauthorized(sim, clock):
    account, shop = seller(sim)
    params = {"MarketplaceIds": shop.marketplace.marketplace_id, "LastUpdatedAfter": "2025-01-01T00:00:00Z"}

    async def scenario(client):
        token = await login(client, sim, account)
        fresh = await client.get("/sp/orders/v0/orders", params=params, headers={"x-amz-access-token": token})
        clock.now += 3601
        expired = await client.get(
            "/sp/orders/v0/orders", params=params, headers={"x-amz-access-token": token}
        )
        missing = await client.get("/sp/orders/v0/orders", params=params)
        renewed = await login(client, sim, account)
        again = await client.get(
            "/sp/orders/v0/orders", params=params, headers={"x-amz-access-token": renewed}
        )
        return fresh, expired, missing, again

    fresh, expired, missing, again = run(sim, scenario)
    assert fresh.status_code == 200 and again.status_code == 200
    assert expired.status_code == 403
    assert expired.json() == {
        "errors": [
            {
                "code": "Unauthorized",
                "message": "Access to requested resource is denied.",
                "details": "The access token you provided has expired.",
            }
        ]
    }
    assert missing.status_code == 403 and missing.json()["errors"][0]["code"] == "Unauthorized"
    assert "x-amzn-ratelimit-limit" not in expired.headers
    assert fresh.headers["x-amzn-ratelimit-limit"] == "1000" and fresh.headers["x-amzn-requestid"]


# -- orders --------------------------------------------------------------------------------------


def world_gross(world, order):
    """Gross recomputed from the lines and the order's own tax, shipping fee and discount."""
    lines = world.items(order.platform, order.shop_id, order.order_id)
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    return subtotal - order.discount + order.shipping_fee + order.tax


async def all_orders(client, token, marketplace_id, page):
    headers = {"x-amz-access-token": token}
    params = {
        "MarketplaceIds": marketplace_id,
        "LastUpdatedAfter": "2024-12-01T00:00:00Z",
        "MaxResultsPerPage": page,
    }
    orders, pages = [], 0
    while True:
        response = await client.get("/sp/orders/v0/orders", params=params, headers=headers)
        assert response.status_code == 200, response.text
        payload = as_json(response)["payload"]
        pages += 1
        orders.extend(payload["Orders"])
        if "NextToken" not in payload:
            return orders, pages, payload
        params = {
            "MarketplaceIds": marketplace_id,
            "NextToken": payload["NextToken"],
            "MaxResultsPerPage": page,
        }


def test_get_orders_pages_every_order_once_with_the_worlds_totals(sim, world):
    account, shop = seller(sim)

    async def scenario(client):
        token = await login(client, sim, account)
        return await all_orders(client, token, shop.marketplace.marketplace_id, 37)

    orders, pages, last = run(sim, scenario)
    expected = world.orders("amazon", shop.shop_id)
    ids = [o["AmazonOrderId"] for o in orders]
    assert len(ids) == len(set(ids)) == len(expected) and set(ids) == {o.order_id for o in expected}
    assert pages == -(-len(expected) // 37)
    keys = [(o["LastUpdateDate"], o["AmazonOrderId"]) for o in orders]
    assert keys == sorted(keys)
    assert "LastUpdatedBefore" in last
    served = {o["AmazonOrderId"]: o for o in orders}
    totals = {}
    for order in expected:
        wire = served[order.order_id]
        assert wire["MarketplaceId"] == "ATVPDKIKX0DER" and wire["SalesChannel"] == "Amazon.com"
        assert wire["PurchaseDate"] == order.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if order.status is OrderStatus.PENDING:
            assert wire["OrderStatus"] == "Pending" and "OrderTotal" not in wire
            continue
        assert wire["OrderTotal"]["CurrencyCode"] == "USD"
        assert isinstance(wire["OrderTotal"]["Amount"], str)
        totals[order.order_id] = world_gross(world, order)
    assert {oid: Decimal(served[oid]["OrderTotal"]["Amount"]) for oid in totals} == totals
    statuses = {o["OrderStatus"] for o in orders}
    assert {"Shipped", "Canceled"} <= statuses


def test_get_orders_validates_its_window(sim):
    account, shop = seller(sim)
    mid = shop.marketplace.marketplace_id
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cases = [
        {"LastUpdatedAfter": "2025-01-01T00:00:00Z"},
        {"MarketplaceIds": mid},
        {"MarketplaceIds": mid, "CreatedAfter": "2025-01-01", "LastUpdatedAfter": "2025-01-01"},
        {"MarketplaceIds": mid, "LastUpdatedAfter": "2025-01-01T00:00:00Z", "LastUpdatedBefore": now},
        {"MarketplaceIds": mid, "LastUpdatedAfter": "2025-01-01T00:00:00Z", "MaxResultsPerPage": "101"},
        {"MarketplaceIds": "A1F83G8C2ARO7P", "LastUpdatedAfter": "2025-01-01T00:00:00Z"},
        {"MarketplaceIds": mid, "NextToken": "garbage"},
    ]

    async def scenario(client):
        token = await login(client, sim, account)
        headers = {"x-amz-access-token": token}
        return [await client.get("/sp/orders/v0/orders", params=p, headers=headers) for p in cases]

    for response in run(sim, scenario):
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["code"] == "InvalidInput"
        assert "x-amzn-ratelimit-limit" in response.headers


def test_order_items_allocate_tax_shipping_and_discount_exactly(sim, world):
    account, shop = seller(sim)
    orders = world.orders("amazon", shop.shop_id)

    async def scenario(client):
        token = await login(client, sim, account)
        headers = {"x-amz-access-token": token}
        out = {}
        for order in orders:
            response = await client.get(f"/sp/orders/v0/orders/{order.order_id}/orderItems", headers=headers)
            assert response.status_code == 200, response.text
            out[order.order_id] = as_json(response)["payload"]
        missing = await client.get("/sp/orders/v0/orders/000-0000000-0000000/orderItems", headers=headers)
        return out, missing

    served, missing = run(sim, scenario)
    assert missing.status_code == 404
    multi_line = discounted = 0
    for order in orders:
        payload = served[order.order_id]
        assert payload["AmazonOrderId"] == order.order_id
        items = payload["OrderItems"]
        lines = world.items("amazon", shop.shop_id, order.order_id)
        assert [i["OrderItemId"] for i in items] == [line.line_id for line in lines]
        assert [i["SellerSKU"] for i in items] == [line.sku for line in lines]
        assert [i["QuantityOrdered"] for i in items] == [line.quantity for line in lines]
        if order.status is OrderStatus.PENDING:
            assert all("ItemPrice" not in i and "ItemTax" not in i for i in items)
            continue

        def total(name, items=items):
            return sum((Decimal(i[name]["Amount"]) for i in items), Decimal(0))

        assert total("ItemTax") == order.tax
        assert total("ShippingPrice") == order.shipping_fee
        assert total("PromotionDiscount") == order.discount
        assert all(Decimal(i[n]["Amount"]) >= 0 for i in items for n in ("ItemTax", "PromotionDiscount"))
        assert [Decimal(i["ItemPrice"]["Amount"]) for i in items] == [
            line.unit_price * line.quantity for line in lines
        ]
        multi_line += len(items) > 1
        discounted += order.discount > 0
    assert multi_line and discounted


# -- finances ------------------------------------------------------------------------------------


def test_refund_events_page_through_completed_refunds_and_obey_the_180_day_rule(sim, world):
    account, shop = seller(sim)
    completed = {
        r.refund_id: r for r in world.refunds("amazon", shop.shop_id) if r.status is RefundStatus.COMPLETED
    }
    assert completed and len(completed) < len(world.refunds("amazon", shop.shop_id)) + 1

    async def scenario(client):
        token = await login(client, sim, account)
        headers = {"x-amz-access-token": token}
        too_wide = await client.get(
            "/sp/finances/v0/financialEvents",
            params={"PostedAfter": "2024-06-01T00:00:00Z", "PostedBefore": "2025-03-05T00:00:00Z"},
            headers=headers,
        )
        events, params = [], {"PostedAfter": "2024-12-31T00:00:00Z", "PostedBefore": "2025-03-10T00:00:00Z"}
        while True:
            response = await client.get(
                "/sp/finances/v0/financialEvents", params={**params, "MaxResultsPerPage": 4}, headers=headers
            )
            assert response.status_code == 200, response.text
            payload = as_json(response)["payload"]
            events.extend(payload["FinancialEvents"]["RefundEventList"])
            if "NextToken" not in payload:
                break
            params = {**params, "NextToken": payload["NextToken"]}
        no_after = await client.get("/sp/finances/v0/financialEvents", headers=headers)
        return too_wide, events, no_after

    too_wide, events, no_after = run(sim, scenario)
    assert too_wide.status_code == 200
    assert too_wide.json()["payload"]["FinancialEvents"]["RefundEventList"] == []
    assert no_after.status_code == 400
    by_id = {}
    for event in events:
        assert event["MarketplaceName"] == "Amazon.com"
        (adjustment,) = event["ShipmentItemAdjustmentList"]
        (charge,) = adjustment["ItemChargeAdjustmentList"]
        assert charge["ChargeType"] == "Principal"
        amount = charge["ChargeAmount"]["CurrencyAmount"]
        assert isinstance(amount, Decimal) and amount == amount.quantize(Decimal("0.01")) and amount < 0
        by_id[adjustment["OrderAdjustmentItemId"]] = (event["AmazonOrderId"], -amount)
    assert len(by_id) == len(events)
    assert by_id == {rid: (r.order_id, r.amount) for rid, r in completed.items()}


# -- FBA inventory -------------------------------------------------------------------------------


def test_inventory_pages_of_50_and_a_next_token_expires_after_30_seconds(sim, clock):
    account, shop = seller(sim)
    mid = shop.marketplace.marketplace_id
    base = {"granularityType": "Marketplace", "granularityId": mid, "marketplaceIds": mid, "details": "true"}

    async def scenario(client):
        token = await login(client, sim, account)
        headers = {"x-amz-access-token": token}

        async def page(next_token=None):
            params = {**base, **({"nextToken": next_token} if next_token else {})}
            return await client.get("/sp/fba/inventory/v1/summaries", params=params, headers=headers)

        first = await page()
        clock.now += 31
        expired = await page(first.json()["pagination"]["nextToken"])
        again = await page()
        clock.now += 29
        second = await page(again.json()["pagination"]["nextToken"])
        return first, expired, second

    first, expired, second = run(sim, scenario)
    assert first.status_code == 200 and second.status_code == 200
    summaries = first.json()["payload"]["inventorySummaries"]
    assert len(summaries) == 50 and first.json()["payload"]["granularity"]["granularityId"] == mid
    assert expired.status_code == 400
    assert expired.json() == {"errors": [{"code": "InvalidInput", "message": "The nextToken has expired"}]}
    rest = second.json()["payload"]["inventorySummaries"]
    assert rest and "nextToken" not in second.json()["pagination"]
    skus = [s["sellerSku"] for s in summaries + rest]
    assert len(skus) == len(set(skus))
    details = summaries[0]["inventoryDetails"]
    assert {"fulfillableQuantity", "inboundWorkingQuantity", "reservedQuantity"} <= set(details)
    assert summaries[0]["condition"] == "NewItem"


# -- rate limits ---------------------------------------------------------------------------------


def test_exceeding_a_limit_gives_quota_exceeded_shared_by_every_seller_of_the_app(world, clock):
    sim = AmazonSimulator(world, clock=clock)  # getInventorySummaries: 2/s, burst 2
    us, us_shop = seller(sim, "US")
    uk, uk_shop = seller(sim, "UK")

    def params(shop):
        mid = shop.marketplace.marketplace_id
        return {"granularityType": "Marketplace", "granularityId": mid, "marketplaceIds": mid}

    async def scenario(client):
        us_token, uk_token = await login(client, sim, us), await login(client, sim, uk)
        path = "/sp/fba/inventory/v1/summaries"
        answers = [
            await client.get(path, params=params(us_shop), headers={"x-amz-access-token": us_token}),
            await client.get(path, params=params(us_shop), headers={"x-amz-access-token": us_token}),
            await client.get(path, params=params(uk_shop), headers={"x-amz-access-token": uk_token}),
        ]
        clock.now += 0.5
        answers.append(
            await client.get(path, params=params(uk_shop), headers={"x-amz-access-token": uk_token})
        )
        return answers

    answers = run(sim, scenario)
    assert [a.status_code for a in answers] == [200, 200, 429, 200]
    throttled = answers[2]
    assert throttled.json() == {
        "errors": [
            {
                "code": "QuotaExceeded",
                "message": "You exceeded your quota for the requested resource.",
                "details": "",
            }
        ]
    }
    assert "retry-after" not in throttled.headers and "x-amzn-ratelimit-limit" not in throttled.headers
    assert answers[0].headers["x-amzn-ratelimit-limit"] == "2"
    assert sim.throttled == 1 and sim.stats["getInventorySummaries"].throttled == 1


def test_limits_override_by_operation_name_and_unknown_names_are_refused(world):
    sim = AmazonSimulator(world, limits={"getOrders": RateLimit(5, 7)})
    assert sim.endpoints["getOrders"].rate_limit == RateLimit(5, 7)
    assert sim.endpoints["getOrderItems"].rate_limit == RateLimit(0.5, 30)
    assert sim.endpoints["lwaToken"].rate_limit is None and not sim.endpoints["lwaToken"].faults
    with pytest.raises(ValueError, match="getOrdersX"):
        AmazonSimulator(world, limits={"getOrdersX": RateLimit(1, 1)})


# -- Ads -----------------------------------------------------------------------------------------


def report_body(start, end):
    columns = [
        "date",
        "campaignId",
        "campaignName",
        "impressions",
        "clicks",
        "cost",
        "sales7d",
        "sales14d",
        "purchases7d",
        "purchases14d",
        "unitsSoldClicks7d",
        "unitsSoldClicks14d",
    ]
    return {
        "name": "SP campaigns",
        "startDate": start,
        "endDate": end,
        "configuration": {
            "adProduct": "SPONSORED_PRODUCTS",
            "groupBy": ["campaign"],
            "columns": columns,
            "reportTypeId": "spCampaigns",
            "timeUnit": "DAILY",
            "format": "GZIP_JSON",
        },
    }


def test_ads_report_flow_duplicate_425_poll_and_download(sim, world):
    account, shop = seller(sim)
    profile = account["ads_profile_id"]

    async def scenario(client):
        token = await login(client, sim, account)
        headers = ads_headers(sim, token, profile)
        post_headers = {**headers, "Content-Type": REPORT_TYPE}
        profiles = await client.get("/ads/v2/profiles", headers=ads_headers(sim, token))
        too_long = await client.post(
            "/ads/reporting/reports",
            content=json.dumps(report_body("2025-01-01", "2025-02-01")),
            headers=post_headers,
        )
        body = json.dumps(report_body("2025-02-01", "2025-03-01"))
        created = await client.post("/ads/reporting/reports", content=body, headers=post_headers)
        duplicate = await client.post("/ads/reporting/reports", content=body, headers=post_headers)
        report_id = created.json()["reportId"]
        polls = [await client.get(f"/ads/reporting/reports/{report_id}", headers=headers) for _ in range(3)]
        download = await client.get(polls[-1].json()["url"])
        after_download = await client.post("/ads/reporting/reports", content=body, headers=post_headers)
        return profiles, too_long, created, duplicate, polls, download, after_download

    profiles, too_long, created, duplicate, polls, download, after_download = run(sim, scenario)
    assert profiles.json() == [
        {
            **profiles.json()[0],
            "profileId": profile,
            "countryCode": "US",
            "currencyCode": "USD",
            "timezone": "America/Los_Angeles",
            "accountInfo": {
                **profiles.json()[0]["accountInfo"],
                "id": account["seller_id"],
                "type": "seller",
                "marketplaceStringId": "ATVPDKIKX0DER",
            },
        }
    ]
    assert too_long.status_code == 400
    assert created.status_code == 200 and created.json()["status"] == "PENDING"
    assert created.json()["url"] is None and created.json()["configuration"]["reportTypeId"] == "spCampaigns"
    report_id = created.json()["reportId"]
    assert duplicate.status_code == 425
    assert duplicate.json() == {"code": "425", "detail": f"The Request is a duplicate of : {report_id}"}
    assert [p.json()["status"] for p in polls] == ["PENDING", "PENDING", "COMPLETED"]
    done = polls[-1].json()
    assert done["url"].endswith(f"/ads/download/{report_id}.json.gz") and done["urlExpiresAt"]
    assert download.status_code == 200 and done["fileSize"] == len(download.content)
    rows = json.loads(gzip.decompress(download.content), parse_float=Decimal)
    spend = [
        r.spend
        for r in world.ad_performance("amazon", shop.shop_id, window=14)
        if r.ad_type == "SPONSORED_PRODUCTS" and dt.date(2025, 2, 1) <= r.date <= dt.date(2025, 3, 1)
    ]
    assert len(rows) == len(spend) > 0
    assert sum(row["cost"] for row in rows) == sum(spend)
    assert all(isinstance(row["campaignId"], int) for row in rows)
    assert after_download.status_code == 200 and after_download.json()["reportId"] != report_id
    assert sim.reports_created == 2


def test_ads_refuse_a_foreign_scope_and_a_missing_client_id(sim):
    us, _ = seller(sim, "US")
    uk, _ = seller(sim, "UK")

    async def scenario(client):
        token = await login(client, sim, us)
        foreign = await client.get(
            "/ads/reporting/reports/nope", headers=ads_headers(sim, token, uk["ads_profile_id"])
        )
        no_client = await client.get("/ads/v2/profiles", headers={"Authorization": f"Bearer {token}"})
        return foreign, no_client

    foreign, no_client = run(sim, scenario)
    assert foreign.status_code == 401 and no_client.status_code == 401


# -- sandbox cases -------------------------------------------------------------------------------


def sandbox_cases(path):
    model = json.loads(ORDERS_MODEL.read_text(encoding="utf-8"))
    responses = model["paths"][path]["get"]["responses"]
    return [
        (int(status), case["request"]["parameters"], case["response"])
        for status, answer in responses.items()
        for case in answer.get("x-amzn-api-sandbox", {}).get("static", [])
    ]


def test_static_sandbox_cases_are_served_verbatim(sim):
    if not ORDERS_MODEL.is_file():
        pytest.skip(
            f"Amazon's ordersV0.json is absent from KPIHUB_SPECS_DIR ({SPECS_DIR}); nothing to compare"
        )
    account, _ = seller(sim)
    orders = sandbox_cases("/orders/v0/orders")
    items = sandbox_cases("/orders/v0/orders/{orderId}/orderItems")

    def query(parameters):
        return {
            name: ",".join(spec["value"]) if isinstance(spec["value"], list) else spec["value"]
            for name, spec in parameters.items()
        }

    async def scenario(client):
        headers = {"x-amz-access-token": await login(client, sim, account)}
        served = []
        for status, parameters, response in orders:
            answer = await client.get("/sp/orders/v0/orders", params=query(parameters), headers=headers)
            served.append((status, response, answer))
        for status, parameters, response in items:
            order_id = parameters["orderId"]["value"]
            answer = await client.get(f"/sp/orders/v0/orders/{order_id}/orderItems", headers=headers)
            served.append((status, response, answer))
        return served

    served = run(sim, scenario)
    assert len(served) >= 6
    names = [json.dumps(response)[:60] for _, response, _ in served]
    assert any("2YgYW55IGNhcm5hbCBwbGVhc3VyZS4" in name for name in names)
    for status, response, answer in served:
        assert answer.status_code == status
        assert answer.json() == response


def test_sandbox_cases_say_so_when_the_specs_are_absent(sim, tmp_path, monkeypatch):
    monkeypatch.setenv("KPIHUB_SPECS_DIR", str(tmp_path))
    account, _ = seller(sim)

    async def scenario(client):
        headers = {"x-amz-access-token": await login(client, sim, account)}
        return await client.get(
            "/sp/orders/v0/orders",
            params={"MarketplaceIds": "ATVPDKIKX0DER", "CreatedAfter": "TEST_CASE_200"},
            headers=headers,
        )

    answer = run(sim, scenario)
    assert answer.status_code == 400
    assert "absent" in answer.json()["errors"][0]["message"]


# -- truth ---------------------------------------------------------------------------------------


def test_truth_is_what_a_connector_reading_the_wire_stores(sim, world):
    """A minimal connector per the contract in the simulator's docstring reproduces ``truth()``."""
    account, shop = seller(sim)
    mid = shop.marketplace.marketplace_id

    async def scenario(client):
        token = await login(client, sim, account)
        headers = {"x-amz-access-token": token}
        orders, _, _ = await all_orders(client, token, mid, 100)
        items = {}
        for order in orders:
            response = await client.get(
                f"/sp/orders/v0/orders/{order['AmazonOrderId']}/orderItems", headers=headers
            )
            items[order["AmazonOrderId"]] = as_json(response)["payload"]["OrderItems"]
        refunds = as_json(
            await client.get(
                "/sp/finances/v0/financialEvents",
                params={"PostedAfter": "2024-12-01T00:00:00Z", "PostedBefore": "2025-04-01T00:00:00Z"},
                headers=headers,
            )
        )["payload"]["FinancialEvents"]["RefundEventList"]
        stock, next_token = [], None
        while True:
            params = {"granularityType": "Marketplace", "granularityId": mid, "marketplaceIds": mid}
            params |= {"details": "true", **({"nextToken": next_token} if next_token else {})}
            page = (await client.get("/sp/fba/inventory/v1/summaries", params=params, headers=headers)).json()
            stock.extend(page["payload"]["inventorySummaries"])
            if not (next_token := page["pagination"].get("nextToken")):
                break
        ads = ads_headers(sim, token, account["ads_profile_id"])
        rows = []
        for start, end in (("2025-01-01", "2025-01-31"), ("2025-02-01", "2025-03-02")):
            created = await client.post(
                "/ads/reporting/reports",
                content=json.dumps(report_body(start, end)),
                headers={**ads, "Content-Type": REPORT_TYPE},
            )
            report_id = created.json()["reportId"]
            while (report := (await client.get(f"/ads/reporting/reports/{report_id}", headers=ads)).json())[
                "status"
            ] != "COMPLETED":
                pass
            download = await client.get(report["url"])
            rows.extend(json.loads(gzip.decompress(download.content), parse_float=Decimal))
        return orders, items, refunds, stock, rows

    orders, items, refunds, stock, rows = run(sim, scenario)
    status = {"Pending": "pending", "Unshipped": "paid", "Shipped": "shipped", "Canceled": "cancelled"}
    common = {"platform": "amazon", "shop_id": shop.shop_id}

    def when(text):
        return dt.datetime.fromisoformat(text)

    def amount(money):
        return Decimal(money["Amount"]) if money else Decimal(0)

    got = {
        table: {} for table in ("orders", "order_items", "refunds", "ad_performance", "inventory_snapshots")
    }

    def keep(record):
        got[record.table][tuple(getattr(record, n) for n in record.natural_key)] = record

    for order in orders:
        lines = items[order["AmazonOrderId"]]
        keep(
            Order(
                **common,
                order_id=order["AmazonOrderId"],
                site="US",
                status=status[order["OrderStatus"]],
                currency="USD",
                created_at=when(order["PurchaseDate"]),
                updated_at=when(order["LastUpdateDate"]),
                ship_by=when(order["LatestShipDate"]),
                deliver_by=when(order["LatestDeliveryDate"]),
                gross_amount=amount(order.get("OrderTotal")),
                tax=sum((amount(i.get("ItemTax")) for i in lines), Decimal(0)),
                shipping_fee=sum((amount(i.get("ShippingPrice")) for i in lines), Decimal(0)),
                discount=sum((amount(i.get("PromotionDiscount")) for i in lines), Decimal(0)),
                buyer_country=order["ShippingAddress"]["CountryCode"],
                fulfilment_channel=order["FulfillmentChannel"],
            )
        )
        for line in lines:
            price = amount(line.get("ItemPrice"))
            keep(
                OrderItem(
                    **common,
                    order_id=order["AmazonOrderId"],
                    line_id=line["OrderItemId"],
                    sku=line["SellerSKU"],
                    platform_item_id=line["ASIN"],
                    quantity=line["QuantityOrdered"],
                    unit_price=price / line["QuantityOrdered"],
                    amount=price,
                    currency="USD",
                )
            )
    for event in refunds:
        adjustment = event["ShipmentItemAdjustmentList"][0]
        charge = adjustment["ItemChargeAdjustmentList"][0]["ChargeAmount"]
        keep(
            Refund(
                **common,
                refund_id=adjustment["OrderAdjustmentItemId"],
                order_id=event["AmazonOrderId"],
                amount=-charge["CurrencyAmount"],
                currency=charge["CurrencyCode"],
                created_at=when(event["PostedDate"]),
                status="completed",
            )
        )
    for row in rows:
        keep(
            AdPerformance(
                **common,
                date=dt.date.fromisoformat(row["date"]),
                campaign_id=str(row["campaignId"]),
                campaign_name=row["campaignName"],
                ad_type="sponsored_products",
                spend=row["cost"],
                attributed_sales=row["sales14d"],
                attributed_orders=row["purchases14d"],
                attributed_units=row["unitsSoldClicks14d"],
                clicks=row["clicks"],
                impressions=row["impressions"],
                currency="USD",
                attribution_window_days=14,
            )
        )
    for summary in stock:
        details = summary["inventoryDetails"]
        keep(
            InventorySnapshot(
                **common,
                date=when(summary["lastUpdatedTime"]).date(),
                sku=summary["sellerSku"],
                warehouse=f"FBA-{shop.shop_id}",
                warehouse_type="fba",
                on_hand=details["fulfillableQuantity"],
                inbound=details["inboundWorkingQuantity"]
                + details["inboundShippedQuantity"]
                + details["inboundReceivingQuantity"],
                reserved=details["reservedQuantity"]["totalReservedQuantity"],
            )
        )

    truth = sim.truth(ad_window=14)
    for table, rows_by_key in truth.items():
        expected = {k: v for k, v in rows_by_key.items() if getattr(v, "shop_id", None) == shop.shop_id}
        assert expected, table
        assert got[table] == expected, table
    assert {o.status for o in truth["orders"].values()} <= {"pending", "paid", "shipped", "cancelled"}
    assert all(r.status is RefundStatus.COMPLETED for r in truth["refunds"].values())
    assert {r.attribution_window_days for r in sim.truth(ad_window=7)["ad_performance"].values()} == {7}


# -- Orders API v2026-01-01 ----------------------------------------------------------------------

V2026 = "/sp/orders/2026-01-01/orders"
ORDERS_2026_MODEL = SPECS_DIR / "amazon-sp-api" / "orders_2026-01-01.json"
EVERYTHING = "PROCEEDS,FULFILLMENT,RECIPIENT"


@pytest.fixture(scope="module")
def busy_world():
    """Four busy days: every status, pending orders included, in both shops."""
    shops = [
        ShopSpec.on_site(
            "amazon", "US", shop_id="AMZUS01", launched_on=dt.date(2023, 1, 1), orders_per_day=120
        ),
        ShopSpec.on_site(
            "amazon", "UK", shop_id="AMZUK01", launched_on=dt.date(2023, 1, 1), orders_per_day=80
        ),
    ]
    return SellerWorld.generate(
        12, shops=shops, days=4, start=dt.date(2025, 3, 1), skus=40, platforms=("amazon",)
    )


@pytest.fixture
def busy(busy_world, clock):
    return AmazonSimulator(busy_world, limits=FAST, clock=clock)


async def search_all(client, token, params, page=100):
    """Every page of a ``searchOrders`` listing: (orders, pages, the last body)."""
    headers = {"x-amz-access-token": token}
    orders, pages, current = [], 0, {**params, "maxResultsPerPage": page}
    while True:
        response = await client.get(V2026, params=current, headers=headers)
        assert response.status_code == 200, response.text
        body = as_json(response)
        assert "payload" not in body
        pages += 1
        orders.extend(body["orders"])
        if "pagination" not in body:
            return orders, pages, body
        current = {**params, "maxResultsPerPage": page, "paginationToken": body["pagination"]["nextToken"]}


def breakdown(entries, kind):
    return sum((Decimal(e["subtotal"]["amount"]) for e in entries if e["type"] == kind), Decimal(0))


def test_search_orders_pages_every_order_once_with_proceeds_that_add_up(busy, busy_world):
    sim, world = busy, busy_world
    account, shop = seller(sim)
    params = {"lastUpdatedAfter": "2024-12-01T00:00:00Z", "includedData": EVERYTHING + ",PROMOTION,TAX"}

    async def scenario(client):
        token = await login(client, sim, account)
        listed = await search_all(client, token, params, 37)
        bare = await client.get(
            V2026,
            params={"createdAfter": "2024-12-01T00:00:00Z", "marketplaceIds": "ATVPDKIKX0DER"},
            headers={"x-amz-access-token": token},
        )
        return listed, bare

    (orders, pages, last), bare = run(sim, scenario)
    expected = world.orders("amazon", shop.shop_id)
    ids = [o["orderId"] for o in orders]
    assert len(ids) == len(set(ids)) == len(expected) and set(ids) == {o.order_id for o in expected}
    assert pages == -(-len(expected) // 37)
    keys = [(o["lastUpdatedTime"], o["orderId"]) for o in orders]
    assert keys == sorted(keys)
    assert "lastUpdatedBefore" in last and "createdBefore" not in last
    served = {o["orderId"]: o for o in orders}
    statuses = set()
    for order in expected:
        wire = served[order.order_id]
        statuses.add(wire["fulfillment"]["fulfillmentStatus"])
        assert wire["salesChannel"] == {
            "channelName": "AMAZON",
            "marketplaceId": "ATVPDKIKX0DER",
            "marketplaceName": "Amazon.com",
        }
        items = wire["orderItems"]
        assert [i["orderItemId"] for i in items] == [
            line.line_id for line in world.items("amazon", shop.shop_id, order.order_id)
        ]
        if order.status is OrderStatus.PENDING:
            assert wire["fulfillment"]["fulfillmentStatus"] == "PENDING" and "proceeds" not in wire
            assert all(not {"proceeds", "promotion", "tax"} & set(i) for i in items)
            assert all("price" not in i["product"] for i in items)
            continue
        proceeds = wire["proceeds"]
        assert proceeds["grandTotal"]["currencyCode"] == "USD"
        assert Decimal(proceeds["grandTotal"]["amount"]) == world_gross(world, order) == order.gross_amount
        assert sum(Decimal(i["proceeds"]["proceedsTotal"]["amount"]) for i in items) == order.gross_amount
        for kind in ("ITEM", "SHIPPING", "TAX", "DISCOUNT"):
            per_item = sum(breakdown(i["proceeds"]["breakdowns"], kind) for i in items)
            assert breakdown(proceeds["breakdowns"], kind) == per_item, kind
        assert breakdown(proceeds["breakdowns"], "DISCOUNT") == -order.discount
        assert all(i["tax"]["taxCollections"][0]["model"] == "MARKETPLACE_FACILITATOR" for i in items)
        assert all(
            ("promotion" in i) == (breakdown(i["proceeds"]["breakdowns"], "DISCOUNT") < 0) for i in items
        )
    assert statuses == {"PENDING", "UNSHIPPED", "SHIPPED", "CANCELLED"}
    assert bare.status_code == 200 and "createdBefore" in bare.json()
    assert bare.headers["x-amzn-ratelimit-limit"] == "1000" and bare.headers["x-amzn-requestid"]
    for order in bare.json()["orders"]:
        assert not {"proceeds", "fulfillment", "recipient"} & set(order)
        assert all(
            not {"proceeds", "fulfillment"} & set(i) and i["product"]["sellerSku"]
            for i in order["orderItems"]
        )


def test_truth_is_what_a_connector_reading_search_orders_stores(busy):
    """Orders and items rebuilt from v2026 pages alone, per the docstring's mapping, are the truth."""
    sim = busy
    sites = {"ATVPDKIKX0DER": ("US", "USD"), "A1F83G8C2ARO7P": ("UK", "GBP")}
    status = {"PENDING": "pending", "UNSHIPPED": "paid", "SHIPPED": "shipped", "CANCELLED": "cancelled"}
    channel = {"AMAZON": "AFN", "MERCHANT": "MFN"}

    async def scenario(client):
        listings = []
        for account in sim.credentials()["sellers"]:
            token = await login(client, sim, account)
            orders, _, _ = await search_all(
                client, token, {"createdAfter": "2024-12-01T00:00:00Z", "includedData": EVERYTHING}
            )
            listings.append((account, orders))
        return listings

    def when(text):
        return dt.datetime.fromisoformat(text) if text else None

    got = {"orders": {}, "order_items": {}}

    def keep(record):
        got[record.table][tuple(getattr(record, n) for n in record.natural_key)] = record

    for account, orders in run(sim, scenario):
        for order in orders:
            marketplace = order["salesChannel"]["marketplaceId"]
            site, currency = sites[marketplace]
            common = {"platform": "amazon", "shop_id": account["marketplaces"][marketplace]}
            fulfillment = order["fulfillment"]
            breakdowns = order.get("proceeds", {}).get("breakdowns", [])
            keep(
                Order(
                    **common,
                    order_id=order["orderId"],
                    site=site,
                    status=status[fulfillment["fulfillmentStatus"]],
                    currency=order.get("proceeds", {}).get("grandTotal", {}).get("currencyCode", currency),
                    created_at=when(order["createdTime"]),
                    updated_at=when(order["lastUpdatedTime"]),
                    ship_by=when(fulfillment.get("shipByWindow", {}).get("latestDateTime")),
                    deliver_by=when(fulfillment.get("deliverByWindow", {}).get("latestDateTime")),
                    gross_amount=Decimal(order.get("proceeds", {}).get("grandTotal", {}).get("amount", "0")),
                    tax=breakdown(breakdowns, "TAX"),
                    shipping_fee=breakdown(breakdowns, "SHIPPING"),
                    discount=-breakdown(breakdowns, "DISCOUNT"),
                    buyer_country=order["recipient"]["deliveryAddress"]["countryCode"],
                    fulfilment_channel=channel[fulfillment["fulfilledBy"]],
                )
            )
            for item in order["orderItems"]:
                product = item["product"]
                unit = product.get("price", {}).get("unitPrice", {}).get("amount", "0")
                keep(
                    OrderItem(
                        **common,
                        order_id=order["orderId"],
                        line_id=item["orderItemId"],
                        sku=product["sellerSku"],
                        platform_item_id=product.get("asin"),
                        quantity=item["quantityOrdered"],
                        unit_price=Decimal(unit),
                        amount=breakdown(item.get("proceeds", {}).get("breakdowns", []), "ITEM"),
                        currency=currency,
                    )
                )

    truth = sim.truth(orders_api="2026-01-01")
    assert {row.shop_id for row in truth["orders"].values()} == {"AMZUS01", "AMZUK01"}
    for table in ("orders", "order_items"):
        assert got[table] == truth[table], table
        assert truth[table] == sim.truth(orders_api="v0")[table], table
    assert any(row.discount > 0 for row in truth["orders"].values())
    pending = {row.shop_id for row in truth["orders"].values() if row.status is OrderStatus.PENDING}
    assert pending == {"AMZUS01", "AMZUK01"}
    with pytest.raises(ValueError, match="orders_api"):
        sim.truth(orders_api="v1")


def test_search_orders_validates_its_parameters_and_its_pagination_token(sim, clock):
    account, shop = seller(sim)
    mid = shop.marketplace.marketplace_id
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    after = {"lastUpdatedAfter": "2025-01-01T00:00:00Z"}
    cases = [
        {"marketplaceIds": mid},
        {"createdAfter": "2025-01-01T00:00:00Z", **after},
        {"createdAfter": "2025-01-01T00:00:00Z", "lastUpdatedBefore": "2025-02-01T00:00:00Z"},
        {**after, "createdBefore": "2025-02-01T00:00:00Z"},
        {**after, "lastUpdatedBefore": now},
        {**after, "lastUpdatedBefore": "2024-12-01T00:00:00Z"},
        {**after, "maxResultsPerPage": "0"},
        {**after, "maxResultsPerPage": "101"},
        {**after, "includedData": "PROCEEDS,EVERYTHING"},
        {**after, "fulfillmentStatuses": "Shipped"},
        {**after, "marketplaceIds": "A1F83G8C2ARO7P"},
        {**after, "paginationToken": "garbage"},
    ]

    async def scenario(client):
        headers = {"x-amz-access-token": await login(client, sim, account)}
        refused = [await client.get(V2026, params=p, headers=headers) for p in cases]
        first = await client.get(V2026, params={**after, "maxResultsPerPage": 5}, headers=headers)
        follow = {**after, "paginationToken": first.json()["pagination"]["nextToken"]}
        other = await client.get(
            V2026, params={**follow, "lastUpdatedAfter": "2025-01-02T00:00:00Z"}, headers=headers
        )
        more = await client.get(V2026, params={**follow, "marketplaceIds": mid}, headers=headers)
        same = await client.get(
            V2026, params={**follow, "maxResultsPerPage": 7, "includedData": "PROCEEDS"}, headers=headers
        )
        clock.now += 24 * 3600 + 1
        headers = {"x-amz-access-token": await login(client, sim, account)}
        expired = await client.get(V2026, params=follow, headers=headers)
        sandbox = await client.get(V2026, params={"createdAfter": "TEST_CASE_400"}, headers=headers)
        one = await client.get(f"{V2026}/{first.json()['orders'][0]['orderId']}", headers=headers)
        missing = await client.get(f"{V2026}/000-0000000-0000000", headers=headers)
        return refused, first, [other, more], same, expired, sandbox, one, missing

    refused, first, mismatched, same, expired, sandbox, one, missing = run(sim, scenario)
    for response in [*refused, *mismatched, expired]:
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["code"] == "InvalidInput"
        assert "x-amzn-ratelimit-limit" in response.headers
    assert "Exactly one of createdAfter and lastUpdatedAfter" in refused[0].json()["errors"][0]["message"]
    assert "Exactly one of createdAfter and lastUpdatedAfter" in refused[1].json()["errors"][0]["message"]
    assert "expired" in expired.json()["errors"][0]["message"]
    assert same.status_code == 200, same.text
    assert len(same.json()["orders"]) == 7 and same.json()["orders"][0]["proceeds"]
    assert same.json()["orders"][0]["orderId"] not in {o["orderId"] for o in first.json()["orders"]}
    assert one.status_code == 200 and one.json()["order"]["orderId"] == first.json()["orders"][0]["orderId"]
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NotFound"
    if ORDERS_2026_MODEL.is_file():
        model = json.loads(ORDERS_2026_MODEL.read_text(encoding="utf-8"))
        (case,) = model["paths"]["/orders/2026-01-01/orders"]["get"]["responses"]["400"][
            "x-amzn-api-sandbox"
        ]["static"]
        assert sandbox.status_code == 400 and sandbox.json() == case["response"]


def test_search_orders_keeps_amazons_rate_limit_shared_by_the_apps_sellers(world, clock):
    sim = AmazonSimulator(world, clock=clock)  # searchOrders: 0.0056/s, burst 20
    assert sim.endpoints["searchOrders"].rate_limit == RateLimit(0.0056, 20)
    us, us_shop = seller(sim, "US")
    uk, uk_shop = seller(sim, "UK")

    def params(shop):
        return {
            "marketplaceIds": shop.marketplace.marketplace_id,
            "createdAfter": "2025-01-01T00:00:00Z",
            "createdBefore": "2025-01-01T06:00:00Z",
            "maxResultsPerPage": 1,
        }

    async def scenario(client):
        us_token, uk_token = await login(client, sim, us), await login(client, sim, uk)
        answers = [
            await client.get(V2026, params=params(us_shop), headers={"x-amz-access-token": us_token})
            for _ in range(20)
        ]
        answers.append(
            await client.get(V2026, params=params(uk_shop), headers={"x-amz-access-token": uk_token})
        )
        clock.now += 1 / 0.0056
        answers.append(
            await client.get(V2026, params=params(uk_shop), headers={"x-amz-access-token": uk_token})
        )
        return answers

    answers = run(sim, scenario)
    assert [a.status_code for a in answers] == [200] * 20 + [429, 200]
    throttled = answers[20]
    assert throttled.json() == {
        "errors": [
            {
                "code": "QuotaExceeded",
                "message": "You exceeded your quota for the requested resource.",
                "details": "",
            }
        ]
    }
    assert "retry-after" not in throttled.headers and "x-amzn-ratelimit-limit" not in throttled.headers
    assert answers[0].headers["x-amzn-ratelimit-limit"] == "0.0056"
    assert sim.stats["searchOrders"].throttled == 1 and sim.throttled == 1
