"""Top-down decomposition: exact to the cent, proportional to its basis, checked by roll-up."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.kpi.decompose import decompose, rollup_check, split_exact
from hub.kpi.targets import list_targets, set_target
from hub.store.tables import standard_tables
from sdk import ConfigError

TOTAL = Decimal("12345678.91")
Q2 = dt.date(2026, 4, 1)

# The point of these tests does not depend on the database: one is enough.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@settings(max_examples=100, deadline=None)
@given(
    total=st.integers(min_value=0, max_value=10**12).map(lambda cents: Decimal(cents) / 100),
    weights=st.lists(
        st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False), min_size=1, max_size=40
    ).filter(lambda ws: sum(ws) > 0),
)
def test_split_sums_exactly_and_each_part_is_within_a_cent_of_its_share(total, weights):
    named = {f"k{i}": w for i, w in enumerate(weights)}
    parts = split_exact(total, named)
    assert sum(parts.values()) == total
    whole = sum(Fraction(w) for w in weights)
    for key, w in named.items():
        exact = Fraction(total) * Fraction(w) / whole
        assert abs(Fraction(parts[key]) - exact) < Fraction(1, 100)
        assert parts[key] == parts[key].quantize(Decimal("0.01"))


def test_split_refuses_what_it_cannot_split():
    with pytest.raises(ConfigError, match="more than 2 decimals"):
        split_exact(Decimal("1.005"), {"a": 1})
    with pytest.raises(ConfigError, match="add up to 0"):
        split_exact(Decimal(10), {"a": 0, "b": 0})
    with pytest.raises(ConfigError, match="must not be negative"):
        split_exact(Decimal(10), {"a": -1, "b": 2})


def _children_by_parent(targets):
    groups = defaultdict(list)
    for t in targets:
        if t.parent_scope_type:
            groups[(t.parent_scope_type, t.parent_scope_id)].append(t)
    return groups


def test_a_quarter_company_target_splits_to_teams_people_shops_and_categories_and_rolls_back_up(store, org):
    set_target(
        store,
        metric_id="net_sales",
        grain="quarter",
        period="2026-Q2",
        scope_type="tenant",
        scope_id="default",
        value=TOTAL,
    )
    result = decompose(store, metric_id="net_sales", grain="quarter", period="2026-Q2")
    targets = list_targets(store, metric_id="net_sales", grain="quarter", period="2026-Q2")
    by_type = defaultdict(list)
    for t in targets:
        by_type[t.scope_type].append(t)
    assert len(by_type["team"]) == 3
    assert len(by_type["person"]) == 10
    assert len(by_type["shop"]) == 40
    # Every shop with last quarter's sales is split into the categories it sold.
    expected_categories = {f"{shop}/{c}" for shop, sales in org.category_sales.items() for c in sales}
    assert {t.scope_id for t in by_type["category"]} == expected_categories

    # Independent roll-up: at every level the parts add up to the parent, to the cent.
    children = _children_by_parent(targets)
    by_key = {(t.scope_type, t.scope_id): t for t in targets}
    for parent_key, parts in children.items():
        assert sum(p.target_value for p in parts) == by_key[parent_key].target_value, parent_key
    for level in ("team", "person", "shop"):
        assert sum(t.target_value for t in by_type[level]) == TOTAL, level
    # From the leaves alone (categories, and new shops with nothing sold yet) back to the company.
    leaves = [t for t in targets if (t.scope_type, t.scope_id) not in children and t.scope_type != "tenant"]
    assert {t.scope_type for t in leaves} == {"category", "shop"}
    assert {t.scope_id for t in leaves if t.scope_type == "shop"} == org.new_shops
    assert sum(t.target_value for t in leaves) == TOTAL
    assert rollup_check(store, metric_id="net_sales", grain="quarter", period="2026-Q2") == []

    # The tree follows the organisation: people under their team, shops under their owner.
    for t in by_type["person"]:
        assert t.parent_scope_id == org.team_of[t.scope_id]
    for t in by_type["shop"]:
        assert t.parent_scope_id == org.owner[t.scope_id]
        assert t.phase == ("new" if t.scope_id in org.new_shops else "mature")

    # Teams are split by last quarter's share, within a cent of the exact proportion.
    history = sum(Fraction(org.history[("team", t)]) for t in org.teams)
    for t in by_type["team"]:
        exact = Fraction(TOTAL) * Fraction(org.history[("team", t.scope_id)]) / history
        assert abs(Fraction(t.target_value) - exact) < Fraction(1, 100)
    # A shop's categories by last quarter's item sales (cancelled orders out).
    for shop, sales in org.category_sales.items():
        parts = {t.scope_id.split("/", 1)[1]: t for t in children[("shop", shop)]}
        whole = sum(sales.values())
        for category, amount in sales.items():
            exact = Fraction(by_key[("shop", shop)].target_value) * Fraction(amount) / Fraction(whole)
            assert abs(Fraction(parts[category].target_value) - exact) < Fraction(1, 100)
    # New shops have no history: each gets half the average share of its mature siblings.
    assert any("new shop" in note for note in result.notes)
    for shop in org.new_shops:
        siblings = [s for s in children[("person", org.owner[shop])] if s.scope_id not in org.new_shops]
        if siblings:
            average = sum(Fraction(org.history[("shop", s.scope_id)]) for s in siblings) / len(siblings)
            new = next(s for s in children[("person", org.owner[shop])] if s.scope_id == shop)
            ratio = Fraction(new.target_value) / Fraction(siblings[0].target_value)
            expected = average / 2 / Fraction(org.history[("shop", siblings[0].scope_id)])
            assert abs(ratio - expected) < Fraction(1, 1000)

    # Decomposing again, less deep, replaces the earlier split (shops and categories go).
    decompose(store, metric_id="net_sales", grain="quarter", period="2026-Q2", down_to="person")
    again = list_targets(store)
    assert {t.scope_type for t in again} == {"tenant", "team", "person"}
    assert len(again) == 14
    assert rollup_check(store, metric_id="net_sales", grain="quarter", period="2026-Q2") == []


@SQLITE_ONLY
def test_a_new_shop_with_a_short_history_gets_half_the_average_share_of_its_siblings(store, seeder, facts):
    """A shop launched ten weeks before the quarter sold for a few weeks of the last one: its
    own share of last quarter is tiny, and a target from it would be beaten many times over.
    The rule: a new shop gets the average share of its siblings (those with a history) x 0.5."""
    org = seeder(store)
    launched = Q2 - dt.timedelta(weeks=10)
    shops = standard_tables["shops"]
    # A few weeks' sales each, next to the mature shops' 10,000 and more.
    ramp_up = {shop: 500.0 + 125 * n for n, shop in enumerate(sorted(org.new_shops))}
    with store.begin() as conn:
        new_ids = [key.split(":", 1)[1] for key in org.new_shops]
        conn.execute(shops.update().where(shops.c.shop_id.in_(new_ids)).values(launched_on=launched))
        facts(
            conn,
            org.tid,
            [
                {
                    "metric_id": "net_sales",
                    "grain": "quarter",
                    "period_start": dt.date(2026, 1, 1),
                    "scope_type": "shop",
                    "scope_id": shop,
                    "value": value,
                }
                for shop, value in ramp_up.items()
            ],
        )
    set_target(
        store,
        metric_id="net_sales",
        grain="quarter",
        period="2026-Q2",
        scope_type="tenant",
        scope_id="default",
        value=TOTAL,
    )
    decompose(store, metric_id="net_sales", grain="quarter", period="2026-Q2", down_to="shop")
    targets = list_targets(store, metric_id="net_sales", grain="quarter", period="2026-Q2")
    by_key = {(t.scope_type, t.scope_id): t for t in targets}
    children = _children_by_parent(targets)

    checked = 0
    for person in sorted({org.owner[s] for s in org.new_shops}):
        shops_of = children[("person", person)]
        mature = [s.scope_id for s in shops_of if s.scope_id not in org.new_shops]
        assert mature, "each owner of a new shop has mature shops to compare with"
        average = sum(Fraction(org.history[("shop", m)]) for m in mature) / len(mature)
        weight = {
            s.scope_id: average / 2
            if s.scope_id in org.new_shops
            else Fraction(org.history[("shop", s.scope_id)])
            for s in shops_of
        }
        parent = Fraction(by_key[("person", person)].target_value)
        for s in shops_of:
            exact = parent * weight[s.scope_id] / sum(weight.values())
            assert abs(Fraction(s.target_value) - exact) < Fraction(1, 100), s.scope_id
            assert s.phase == ("new" if s.scope_id in org.new_shops else "mature")
            checked += s.scope_id in org.new_shops
        # Exact to the cent, whatever the shares.
        assert sum(s.target_value for s in shops_of) == by_key[("person", person)].target_value
    assert checked == len(org.new_shops)
    assert rollup_check(store, metric_id="net_sales", grain="quarter", period="2026-Q2") == []


@SQLITE_ONLY
def test_explicit_weights_keep_hand_set_parts_and_phase_weights(store, org):
    set_target(
        store,
        metric_id="gmv",
        grain="month",
        period="2026-04",
        scope_type="tenant",
        scope_id="default",
        value="100000",
    )
    set_target(
        store,
        metric_id="gmv",
        grain="month",
        period="2026-04",
        scope_type="team",
        scope_id="T1",
        value="50000",
    )
    decompose(
        store,
        metric_id="gmv",
        grain="month",
        period="2026-04",
        down_to="shop",
        method="weights",
        weights={
            "team": {"T2": 1, "T3": 3},
            "person": dict.fromkeys(org.team_of, 1),
            "shop": {"@new": 1, "@mature": 3},
        },
    )
    targets = {(t.scope_type, t.scope_id): t for t in list_targets(store, metric_id="gmv")}
    assert targets[("team", "T1")].source == "set"
    assert targets[("team", "T1")].target_value == Decimal(50000)
    assert targets[("team", "T2")].target_value == Decimal("12500.00")
    assert targets[("team", "T3")].target_value == Decimal("37500.00")
    # Within one person, a mature shop gets three times a new shop's target (to the cent).
    for person in org.team_of:
        shops = [t for t in targets.values() if t.scope_type == "shop" and t.parent_scope_id == person]
        phases = {t.phase for t in shops}
        if phases == {"new", "mature"}:
            new = next(t for t in shops if t.phase == "new").target_value
            mature = next(t for t in shops if t.phase == "mature").target_value
            assert abs(mature - 3 * new) <= Decimal("0.03")
    assert rollup_check(store, metric_id="gmv", grain="month", period="2026-04") == []


@SQLITE_ONLY
def test_roll_up_check_names_what_does_not_add_up(store, org):
    for team, value in (("T1", "100"), ("T2", "200")):
        set_target(
            store,
            metric_id="gmv",
            grain="month",
            period="2026-04",
            scope_type="team",
            scope_id=team,
            value=value,
        )
    set_target(
        store,
        metric_id="gmv",
        grain="month",
        period="2026-04",
        scope_type="tenant",
        scope_id="default",
        value="1000",
    )
    gaps = rollup_check(store, metric_id="gmv", grain="month", period="2026-04")
    assert len(gaps) == 1
    gap = gaps[0]
    assert (gap.scope_type, gap.target_value, gap.parts_total, gap.missing) == ("tenant", 1000, 300, ("T3",))
    assert "difference -700" in gap.describe()


@SQLITE_ONLY
def test_bad_decompositions_change_nothing(store, org):
    set_target(
        store,
        metric_id="gmv",
        grain="month",
        period="2026-04",
        scope_type="tenant",
        scope_id="default",
        value="1000",
    )
    before = list_targets(store)
    with pytest.raises(ConfigError, match="no team weight for T3"):
        decompose(
            store,
            metric_id="gmv",
            grain="month",
            period="2026-04",
            method="weights",
            weights={"team": {"T1": 1, "T2": 1}},
        )
    with pytest.raises(ConfigError, match=r"weights must map a level \(team, person, shop, category\)"):
        decompose(
            store,
            metric_id="gmv",
            grain="month",
            period="2026-04",
            method="weights",
            weights={"team": [1, 2]},
        )
    with pytest.raises(ConfigError, match="the team weight of T2 must be a number, zero or more"):
        decompose(
            store,
            metric_id="gmv",
            grain="month",
            period="2026-04",
            method="weights",
            weights={"team": {"T1": 1, "T2": "lots", "T3": 1}},
        )
    with pytest.raises(ConfigError, match="no gmv target for tenant default in 2026-05"):
        decompose(store, metric_id="gmv", grain="month", period="2026-05")
    set_target(
        store,
        metric_id="gmv",
        grain="month",
        period="2026-04",
        scope_type="team",
        scope_id="T1",
        value="5000",
    )
    with pytest.raises(ConfigError, match="add up to more than its target"):
        decompose(store, metric_id="gmv", grain="month", period="2026-04")
    after = [t for t in list_targets(store) if (t.scope_type, t.scope_id) != ("team", "T1")]
    assert after == before
