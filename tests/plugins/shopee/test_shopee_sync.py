"""The Shopee connector against its simulator, through the real hub: equal to the ground truth."""

from __future__ import annotations

from plugins.shopee.simulator import ShopeeSimulator
from sdk.simulator import FaultKind, FaultPlan


def test_clean_sync_equals_the_truth(shopee_hub, kit):
    world = kit.make_world(shops=2, days=8, seed=3)
    sim = ShopeeSimulator(world, rate_limit=kit.FAST)
    names = kit.connect(shopee_hub, sim, world)

    results = kit.sync_all(shopee_hub, sim, names)

    assert [r.status for r in results] == ["succeeded"], [r.errors for r in results]
    kit.assert_equals_truth(shopee_hub, sim)
    assert sim.throttled == 0


def test_twenty_shops_ninety_days_with_faults_on_ten_percent_equal_the_truth(sqlite_hub, kit):
    world = kit.make_world(shops=20, days=90, seed=90, orders_per_day=1, refund_rate=0.08)
    faults = FaultPlan(9, kit.fault_rates(0.10), retry_after=0.01)
    sim = ShopeeSimulator(world, rate_limit=kit.FAST, faults=faults)
    names = kit.connect(sqlite_hub, sim, world, per_connection=10)  # two connections, one app

    results = kit.sync_all(sqlite_hub, sim, names)

    assert [r.status for r in results] == ["succeeded"] * 2, [r.errors for r in results]
    kit.assert_equals_truth(sqlite_hub, sim)
    truth = sim.truth()
    assert len(truth["orders"]) > 1000 and len(truth["refunds"]) > 50
    requests = sum(stats.requests for stats in sim.stats.values())
    assert sum(faults.injected.values()) >= 0.08 * requests, "faults were really injected"
    retried = sum(n for kind, n in faults.injected.items() if kind != FaultKind.TOKEN_REVOKED)
    assert sum(r.stats.get("retries", 0) for r in results) >= retried, "each run reports its retries"
    revoked = faults.injected.get(FaultKind.TOKEN_REVOKED, 0)
    assert revoked > 0 and sum(r.stats.get("token_refreshes", 0) for r in results) >= revoked


def test_errors_answered_with_http_200_are_errors_too(sqlite_hub, kit):
    world = kit.make_world(shops=2, days=6, seed=4)
    faults = FaultPlan(3, kit.fault_rates(0.20), retry_after=0.01)
    sim = ShopeeSimulator(world, rate_limit=kit.FAST, faults=faults, errors_in_200=True)
    names = kit.connect(sqlite_hub, sim, world)

    [result] = kit.sync_all(sqlite_hub, sim, names)

    assert result.status == "succeeded", result.errors
    kit.assert_equals_truth(sqlite_hub, sim)
    assert sum(sim.stats[name].statuses[200] for name in sim.stats) == sum(
        stats.requests for stats in sim.stats.values()
    ), "every answer, errors included, came with HTTP 200"
    assert result.stats.get("retry:UpstreamUnavailable", 0) + result.stats.get("retry:RateLimited", 0) > 0


def test_a_detail_served_again_for_other_orders_or_returns_is_asked_again(sqlite_hub, kit):
    world = kit.make_world(shops=1, days=30, seed=12, orders_per_day=12)
    # Detail answers only: a listing page served again is another matter (page numbers cannot tell).
    listings = ["/api/v2/auth/*", "/api/v2/order/get_order_list", "/api/v2/returns/get_return_list"]
    faults = FaultPlan(5, {FaultKind.REPEAT_PAGE: 0.4}, exclude=[*listings, "/api/v2/ads/*"])
    sim = ShopeeSimulator(world, rate_limit=kit.FAST, faults=faults)
    names = kit.connect(sqlite_hub, sim, world)

    [result] = kit.sync_all(sqlite_hub, sim, names)

    assert result.status == "succeeded", result.errors
    for api in ("order.get_order_detail", "payment.get_escrow_detail", "returns.get_return_detail"):
        assert sim.stats[api].faults[FaultKind.REPEAT_PAGE] > 0, f"{api} answers were really served again"
    kit.assert_equals_truth(sqlite_hub, sim)
