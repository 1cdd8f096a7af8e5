"""Client overrides on a default mapping, and reading mapping documents from text."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hub.mapping import compile_mapping, load_mapping_text, merge_mapping
from sdk.errors import MappingError

DEFAULT: dict[str, Any] = {
    "version": 1,
    "targets": {
        "orders": {
            "fields": {
                "order_id": "id",
                "status": {"path": "state", "transforms": [{"map_values": {"values": {"A": "paid"}}}]},
                "currency": {"const": "USD"},
                "created_at": {"path": "created", "transforms": ["parse_timestamp"]},
                "updated_at": {"path": "updated", "transforms": ["parse_timestamp"]},
                "gross_amount": {"path": "total", "transforms": ["to_decimal"]},
                "site": "site",
            }
        },
        "order_items": {
            "each": "lines",
            "fields": {
                "order_id": "record.id",
                "line_id": "item.n",
                "sku": "item.sku",
                "quantity": "item.qty",
                "unit_price": "item.price",
                "amount": "item.amount",
                "currency": {"const": "USD"},
            },
        },
    },
}


# --- merge ---------------------------------------------------------------------------------


def test_an_override_replaces_only_the_fields_it_names() -> None:
    override = {"targets": {"orders": {"fields": {"status": "custom_state", "buyer_country": "country"}}}}
    merged = merge_mapping(DEFAULT, override)
    orders = merged["targets"]["orders"]["fields"]
    # The override's spec replaces the default's entirely: the map_values transform is gone.
    assert orders["status"] == "custom_state"
    assert orders["buyer_country"] == "country"
    unchanged = {name: spec for name, spec in orders.items() if name not in ("status", "buyer_country")}
    expected = {k: v for k, v in DEFAULT["targets"]["orders"]["fields"].items() if k != "status"}
    assert unchanged == expected
    assert merged["targets"]["order_items"] == DEFAULT["targets"]["order_items"]
    assert merged["version"] == 1


def test_null_removes_a_field_a_target_or_an_each() -> None:
    override = {
        "targets": {
            "orders": {"fields": {"site": None, "not_there": None}},
            "order_items": None,
        }
    }
    merged = merge_mapping(DEFAULT, override)
    assert "site" not in merged["targets"]["orders"]["fields"]
    assert "not_there" not in merged["targets"]["orders"]["fields"]
    assert set(merged["targets"]) == {"orders"}
    no_each = merge_mapping(DEFAULT, {"targets": {"order_items": {"each": None}}})
    assert "each" not in no_each["targets"]["order_items"]
    assert no_each["targets"]["order_items"]["fields"] == DEFAULT["targets"]["order_items"]["fields"]


def test_each_and_new_targets_can_be_overridden() -> None:
    override = {
        "targets": {
            "order_items": {"each": "items[?qty > `0`]"},
            "skus": {"fields": {"sku": "sku"}},
        }
    }
    merged = merge_mapping(DEFAULT, override)
    assert merged["targets"]["order_items"]["each"] == "items[?qty > `0`]"
    assert merged["targets"]["order_items"]["fields"] == DEFAULT["targets"]["order_items"]["fields"]
    assert merged["targets"]["skus"] == {"fields": {"sku": "sku"}}
    assert compile_mapping(merged, provided={"platform", "shop_id"}).tables == {
        "orders",
        "order_items",
        "skus",
    }


def test_merge_does_not_modify_or_alias_its_inputs() -> None:
    default = copy.deepcopy(DEFAULT)
    override = {
        "targets": {"orders": {"fields": {"status": {"path": "s", "transforms": ["lower"]}, "site": None}}}
    }
    frozen_override = copy.deepcopy(override)
    merged = merge_mapping(default, override)
    assert default == DEFAULT
    assert override == frozen_override
    merged["targets"]["orders"]["fields"]["status"]["transforms"].append("upper")
    merged["targets"]["order_items"]["fields"]["currency"]["const"] = "EUR"
    assert default == DEFAULT
    assert override == frozen_override


def test_an_empty_override_changes_nothing() -> None:
    assert merge_mapping(DEFAULT, {}) == DEFAULT
    assert merge_mapping(DEFAULT, {"targets": {}}) == DEFAULT


def test_removing_a_required_field_is_caught_when_the_result_is_compiled() -> None:
    merged = merge_mapping(DEFAULT, {"targets": {"orders": {"fields": {"currency": None}}}})
    with pytest.raises(MappingError) as caught:
        compile_mapping(merged, provided={"platform", "shop_id"})
    assert caught.value.problems == [
        (
            "targets.orders.fields.currency",
            "required field of 'orders' is not mapped; map it from the record or give a const",
        )
    ]


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ({"targets": ["orders"]}, "targets"),
        ({"targets": {"orders": "id"}}, "targets.orders"),
        ({"targets": {"orders": {"fields": ["id"]}}}, "targets.orders.fields"),
    ],
)
def test_a_malformed_override_is_a_mapping_error_naming_the_path(override: dict[str, Any], path: str) -> None:
    with pytest.raises(MappingError) as caught:
        merge_mapping(DEFAULT, override)
    assert caught.value.problems == [
        (path, f"override: expected an object, got {type(eval_path(override, path)).__name__}")
    ]
    assert path in str(caught.value)


def eval_path(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        value = value[part]
    return value


# --- load ----------------------------------------------------------------------------------

YAML = """\
version: 1
targets:
  orders:
    fields:
      order_id: AmazonOrderId
      status:
        path: OrderStatus
        transforms:
          - map_values: {values: {"Yes": paid, "10": shipped}, default: pending}
      tax:
        const: "0"
"""


def test_yaml_and_json_load_to_the_same_document() -> None:
    from_yaml = load_mapping_text(YAML)
    expected = {
        "version": 1,
        "targets": {
            "orders": {
                "fields": {
                    "order_id": "AmazonOrderId",
                    "status": {
                        "path": "OrderStatus",
                        "transforms": [
                            {"map_values": {"values": {"Yes": "paid", "10": "shipped"}, "default": "pending"}}
                        ],
                    },
                    "tax": {"const": "0"},
                }
            }
        },
    }
    assert from_yaml == expected
    import json

    assert load_mapping_text(json.dumps(expected), filename="amazon.json") == expected
    assert load_mapping_text("  " + json.dumps(expected)) == expected


@pytest.mark.parametrize(
    ("text", "filename", "where", "words"),
    [
        ("version: 1\ntargets:\n  orders: [a\n", "m.yaml", "m.yaml:4:1", "malformed YAML"),
        ("version: 1\n  bad: indent\n", "m.yaml", "m.yaml:2:6", "mapping values are not allowed here"),
        ('{"version": 1,\n "targets": }', "m.json", "m.json:2:13", "malformed JSON: Expecting value"),
        ("", "m.yaml", "m.yaml", "is empty"),
        ("- a\n- b\n", "m.yaml", "m.yaml", "must hold an object with 'version' and 'targets', not a list"),
        ("just text", "<mapping>", "<mapping>", "not a str"),
    ],
)
def test_malformed_text_is_a_mapping_error_with_its_location(
    text: str, filename: str, where: str, words: str
) -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping_text(text, filename=filename)
    assert str(caught.value).startswith(f"{where}: ")
    assert words in str(caught.value)
    assert caught.value.problems[0][0] == where


def test_yaml_keys_that_are_not_text_must_be_quoted() -> None:
    text = (
        "version: 1\ntargets:\n  orders:\n    fields:\n      status:\n        path: s\n"
        "        transforms:\n          - map_values: {values: {yes: paid, 10: shipped}}\n"
    )
    with pytest.raises(MappingError) as caught:
        load_mapping_text(text)
    base = "targets.orders.fields.status.transforms[0].map_values.values"
    assert caught.value.problems == [
        (f"{base}.True", "key True is not text (bool); quote it"),
        (f"{base}.10", "key 10 is not text (int); quote it"),
    ]
