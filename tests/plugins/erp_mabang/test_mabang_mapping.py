"""The default mappings compile; the merge declaration and the subtract transform are checked."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from hub.mapping import compile_mapping, merge_mapping
from hub.mapping.compiled import MergeRule
from hub.mapping_versions import provided_fields
from plugins.erp_mabang import MabangSource
from sdk import MappingError, SourceContext

from .conftest import make_world


@pytest.fixture(scope="module")
def streams():
    from plugins.erp_mabang.simulator import MabangSimulator

    sim = MabangSimulator(make_world(days=2, skus=3))
    creds = sim.credentials()
    options = MabangSource.Options(
        shops={k: {"platform": p, "shop_id": s} for k, (p, s, _) in creds["shops"].items()}
    )
    credentials = MabangSource.Credentials(app_key=creds["app_key"], app_secret=creds["app_secret"])
    source = MabangSource(options, credentials, SourceContext(connection="m"))
    return {stream.name: stream for stream in source.streams()}


def test_every_default_mapping_compiles(streams):
    for stream in streams.values():
        compile_mapping(stream.mapping(), provided=provided_fields(stream))


def test_the_default_rule_defers_orders_lines_and_returns_and_owns_logistics(streams):
    orders = compile_mapping(streams["orders"].mapping(), provided={"platform", "shop_id"})
    assert orders.merges == {
        "orders": MergeRule(defer_to_others=True, owns=("shipped_at", "delivered_at")),
        "order_items": MergeRule(defer_to_others=True),
    }
    returns = compile_mapping(streams["returns"].mapping(), provided={"platform", "shop_id"})
    assert returns.merges == {"refunds": MergeRule(defer_to_others=True)}


def _compile_with_merge(merge):
    spec = {
        "version": 1,
        "targets": {
            "skus": {"merge": merge, "fields": {"sku": "id"}},
        },
    }
    return compile_mapping(spec)


@pytest.mark.parametrize(
    ("merge", "path", "words"),
    [
        ("yes", "targets.skus.merge", "expected an object"),
        ({"defer_to_others": "yes"}, "targets.skus.merge.defer_to_others", "expected true or false"),
        ({"defer_to_others": True, "owns": "name"}, "targets.skus.merge.owns", "list of field names"),
        ({"defer_to_others": True, "owns": ["nmae"]}, "targets.skus.merge.owns[0]", "did you mean 'name'"),
        ({"defer_to_others": True, "owns": ["sku"]}, "targets.skus.merge.owns[0]", "identifies the row"),
        ({"owns": ["name"]}, "targets.skus.merge.owns", "only means something with defer_to_others"),
        ({"defer": True}, "targets.skus.merge.defer", "unknown key"),
    ],
)
def test_a_bad_merge_declaration_names_its_path_and_the_fix(merge, path, words):
    with pytest.raises(MappingError) as caught:
        _compile_with_merge(merge)
    problems = dict(caught.value.problems)
    assert path in problems, problems
    assert words in problems[path]


def test_an_override_removes_or_replaces_the_rule(streams):
    default = streams["orders"].mapping()
    removed = merge_mapping(default, {"targets": {"orders": {"merge": None}}})
    assert "orders" not in compile_mapping(removed, provided={"platform", "shop_id"}).merges
    replaced = merge_mapping(default, {"targets": {"orders": {"merge": {"defer_to_others": True}}}})
    rules = compile_mapping(replaced, provided={"platform", "shop_id"}).merges
    assert rules["orders"] == MergeRule(defer_to_others=True)


def test_subtract_takes_a_number_or_another_field():
    spec = {
        "version": 1,
        "targets": {
            "sku_costs": {
                "fields": {
                    "sku": "sku",
                    "valid_from": {"const": "2026-01-01"},
                    "purchase_cost": {"path": "landed", "transforms": [{"subtract": {"by": "0.5"}}]},
                    "first_leg_cost": {"path": "landed", "transforms": [{"subtract": {"by_path": "buy"}}]},
                    "currency": {"const": "CNY"},
                }
            }
        },
    }
    [(table, row)] = compile_mapping(spec).apply({"sku": "A", "landed": "12.3400", "buy": "10.0001"})
    assert table == "sku_costs"
    assert row["purchase_cost"] == Decimal("11.8400")
    assert row["first_leg_cost"] == Decimal("2.3399")
    with pytest.raises(MappingError, match="by_path 'buy' found no value"):
        compile_mapping(spec).apply({"sku": "A", "landed": "1"})


def test_mapping_files_are_json_data(streams):
    for stream in streams.values():
        assert json.loads(json.dumps(stream.mapping())) == stream.mapping()


def test_amounts_in_both_currencies_must_agree():
    from plugins.erp_mabang.amounts import amount_problems

    sample = {
        "currencyId": "USD",
        "currencyRate": "7.584",
        "orderFee": "97.8336",
        "orderFeeOrigin": "12.9000",
    }
    assert amount_problems(sample, ("orderFee",)) == []
    off = {**sample, "orderFee": "97.9000"}
    [problem] = amount_problems(off, ("orderFee",))
    assert "orderFee 97.9000 (CNY) is not orderFeeOrigin 12.9000 x currencyRate 7.584 = 97.8336" in problem
    [problem] = amount_problems({**sample, "currencyId": ""}, ("orderFee",))
    assert "orderFeeOrigin given without currencyId" in problem
    # No rate: nothing to compare, nothing refused; an amount sent once is not checked either.
    assert amount_problems({**off, "currencyRate": None}, ("orderFee",)) == []
    assert amount_problems({"currencyId": "USD", "orderFee": "1"}, ("orderFee",)) == []
