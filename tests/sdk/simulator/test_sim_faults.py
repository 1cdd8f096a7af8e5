"""Fault plans: faults at their rates, the same faults for the same seed, exclusions respected."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from sdk.simulator import FaultKind, FaultPlan

RATES = {
    FaultKind.RATE_LIMIT_429: 0.10,
    FaultKind.SERVER_500: 0.05,
    FaultKind.SERVER_503: 0.05,
    FaultKind.TRUNCATED_JSON: 0.02,
    "repeat_page": 0.03,
}


def draws(plan, n=1000, keys=("orders|app/seller-1",)):
    return [plan.draw(keys[i % len(keys)]) for i in range(n)]


@pytest.mark.parametrize("seed", range(5))
def test_faults_appear_at_about_their_rates(seed):
    plan = FaultPlan(seed, RATES)
    drawn = Counter(draws(plan, 1000, keys=("orders|a", "orders|b", "items|a")))
    for kind, rate in plan.rates.items():
        # Within four standard deviations of the binomial count (the seeds are fixed, so this
        # either always holds or shows a biased draw).
        slack = 4 * math.sqrt(1000 * rate * (1 - rate))
        assert abs(drawn[kind] - 1000 * rate) <= slack, (kind, drawn[kind])
    assert drawn[None] == 1000 - sum(plan.injected.values())
    assert plan.injected == Counter({k: v for k, v in drawn.items() if k is not None})
    assert plan.draws == 1000


def test_same_seed_same_faults_and_other_seed_other_faults():
    first = draws(FaultPlan(7, RATES))
    assert draws(FaultPlan(7, RATES)) == first
    assert draws(FaultPlan(8, RATES)) != first


def test_each_key_has_its_own_sequence_however_keys_interleave():
    alone = FaultPlan(3, RATES)
    a_alone = [alone.draw("a") for _ in range(200)]
    mixed = FaultPlan(3, RATES)
    a_mixed = []
    for i in range(200):
        mixed.draw(f"noise-{i % 7}")
        a_mixed.append(mixed.draw("a"))
    assert a_mixed == a_alone


def test_excluded_paths_and_pauses():
    plan = FaultPlan(1, {FaultKind.SERVER_500: 1.0}, exclude=["/auth/*", "/token"])
    assert not plan.applies_to("/auth/o2/token")
    assert not plan.applies_to("/token")
    assert plan.applies_to("/orders/v0/orders")
    with plan.paused():
        assert not plan.applies_to("/orders/v0/orders")
    assert plan.applies_to("/orders/v0/orders")
    assert plan.draw("x") is FaultKind.SERVER_500


def test_skip_uncounts_a_fault_that_could_not_be_played():
    plan = FaultPlan(1, {FaultKind.REPEAT_PAGE: 1.0})
    plan.draw("x")
    plan.draw("x")
    plan.skip(FaultKind.REPEAT_PAGE)
    assert plan.injected == Counter({FaultKind.REPEAT_PAGE: 1})


@pytest.mark.parametrize(
    "rates",
    [{FaultKind.SERVER_500: 1.5}, {FaultKind.SERVER_500: -0.1}, {"server_500": 0.6, "server_503": 0.6}],
)
def test_impossible_rates_are_refused(rates):
    with pytest.raises(ValueError, match="rates"):
        FaultPlan(1, rates)


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="no_such_fault"):
        FaultPlan(1, {"no_such_fault": 0.1})
