"""The Shopee connector against its simulator, through the real hub: equal to the ground truth."""

from __future__ import annotations

from plugins.shopee.simulator import ShopeeSimulator


def test_clean_sync_equals_the_truth(shopee_hub, kit):
    world = kit.make_world(shops=2, days=8, seed=3)
    sim = ShopeeSimulator(world, rate_limit=kit.FAST)
    names = kit.connect(shopee_hub, sim, world)

    results = kit.sync_all(shopee_hub, sim, names)

    assert [r.status for r in results] == ["succeeded"], [r.errors for r in results]
    kit.assert_equals_truth(shopee_hub, sim)
    assert sim.throttled == 0

