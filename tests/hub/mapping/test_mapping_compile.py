"""Checking a mapping document, compiling it, and applying it to raw records."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from hub.mapping import CompiledMapping, compile_mapping
from sdk.errors import MappingError

UTC = dt.UTC
SHOP = frozenset({"platform", "shop_id"})

AMAZON: dict[str, Any] = {
    "version": 1,
    "targets": {
        "orders": {
            "fields": {
                "order_id": "AmazonOrderId",
                "created_at": {
                    "path": "PurchaseDate",
                    "transforms": [{"parse_timestamp": {"format": "%Y-%m-%dT%H:%M:%SZ", "timezone": "UTC"}}],
                },
                "updated_at": {"path": "LastUpdateDate", "transforms": ["parse_timestamp"]},
                "status": {
                    "path": "OrderStatus",
                    "transforms": [
                        {
                            "map_values": {
                                "values": {"Pending": "pending", "Shipped": "shipped"},
                                "default": "pending",
                            }
                        }
                    ],
                },
                "currency": {"path": "OrderTotal.CurrencyCode", "transforms": ["currency"]},
                "gross_amount": {"path": "OrderTotal.Amount", "transforms": ["to_decimal"]},
                "tax": {"const": "0"},
                "platform_fees": {"path": "Fees", "transforms": ["to_decimal"]},
            }
        },
        "order_items": {
            "each": "OrderItems",
            "fields": {
                "order_id": "record.AmazonOrderId",
                "line_id": "item.OrderItemId",
                "sku": "item.SellerSKU",
                "quantity": {"path": "item.QuantityOrdered", "transforms": ["to_int"]},
                "unit_price": {"path": "item.ItemPrice.Amount", "transforms": ["to_decimal"]},
                "amount": {
                    "path": "item.ItemPrice.Amount",
                    "transforms": ["to_decimal", {"multiply": {"by": 2}}],
                },
                "currency": "record.OrderTotal.CurrencyCode",
            },
        },
    },
}

RAW: dict[str, Any] = {
    "AmazonOrderId": "111-2",
    "PurchaseDate": "2026-03-01T08:00:00Z",
    "LastUpdateDate": "2026-03-01T09:30:00+08:00",
    "OrderStatus": "Shipped",
    "OrderTotal": {"Amount": 19.99, "CurrencyCode": "usd"},
    "OrderItems": [
        {"OrderItemId": 7, "SellerSKU": "A-1", "QuantityOrdered": "2", "ItemPrice": {"Amount": "9.99"}},
        {"OrderItemId": "8", "SellerSKU": "B-2", "QuantityOrdered": 1, "ItemPrice": {"Amount": 0.01}},
    ],
}


def problems_of(spec: Any, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        compile_mapping(spec, **kwargs)
    for path, reason in caught.value.problems:
        assert path in str(caught.value)
        assert reason in str(caught.value)
    return caught.value.problems


def single_field(table: str, field: str, spec: Any) -> dict[str, Any]:
    """A mapping whose only problem (with ``provided`` = all required fields) is ``field``."""
    return {"version": 1, "targets": {table: {"fields": {field: spec}}}}


ALL_ORDER_FIELDS = frozenset(
    {"platform", "shop_id", "order_id", "status", "currency", "created_at", "updated_at", "gross_amount"}
)


# --- a valid mapping ------------------------------------------------------------------------


def test_a_valid_mapping_compiles_and_applies() -> None:
    compiled = compile_mapping(AMAZON, provided=SHOP)
    assert isinstance(compiled, CompiledMapping)
    assert compiled.tables == {"orders", "order_items"}
    rows = compiled.apply(RAW, {"platform": "amazon", "shop_id": "s1", "warehouse": "ignored"})
    shop = {"platform": "amazon", "shop_id": "s1"}
    assert rows == [
        (
            "orders",
            {
                **shop,
                "order_id": "111-2",
                "created_at": dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
                "updated_at": dt.datetime(2026, 3, 1, 1, 30, tzinfo=UTC),
                "status": "shipped",
                "currency": "USD",
                "gross_amount": Decimal("19.99"),
                "tax": "0",
            },
        ),
        (
            "order_items",
            {
                **shop,
                "order_id": "111-2",
                "line_id": "7",
                "sku": "A-1",
                "quantity": 2,
                "unit_price": Decimal("9.99"),
                "amount": Decimal("19.98"),
                "currency": "usd",
            },
        ),
        (
            "order_items",
            {
                **shop,
                "order_id": "111-2",
                "line_id": "8",
                "sku": "B-2",
                "quantity": 1,
                "unit_price": Decimal("0.01"),
                "amount": Decimal("0.02"),
                "currency": "usd",
            },
        ),
    ]


def test_compiling_does_not_modify_the_document() -> None:
    spec = copy.deepcopy(AMAZON)
    compile_mapping(spec, provided=SHOP)
    assert spec == AMAZON


def test_mapped_values_win_over_defaults_and_null_values_are_left_out() -> None:
    spec = single_field("teams", "team_id", "id")
    spec["targets"]["teams"]["fields"]["name"] = "name"
    spec["targets"]["teams"]["fields"]["parent_team_id"] = "parent"
    compiled = compile_mapping(spec)
    rows = compiled.apply({"id": "t1", "name": "North"}, {"name": "default", "parent_team_id": "p0"})
    assert rows == [("teams", {"team_id": "t1", "name": "North", "parent_team_id": "p0"})]


def test_each_yielding_nothing_gives_no_rows() -> None:
    compiled = compile_mapping(AMAZON, provided=SHOP)
    tables = [table for table, _ in compiled.apply({**RAW, "OrderItems": None})]
    assert tables == ["orders"]
    assert [table for table, _ in compiled.apply({**RAW, "OrderItems": []})] == ["orders"]


def test_date_fields_accept_timestamps_and_text_fields_accept_numbers() -> None:
    spec = {
        "version": 1,
        "targets": {
            "fx_rates": {
                "fields": {
                    "date": {"path": "at", "transforms": [{"parse_timestamp": {"format": "epoch_seconds"}}]},
                    "currency": {"const": "EUR"},
                    "base_currency": {"const": "USD"},
                    "rate": {"path": "rate", "transforms": ["to_decimal"]},
                }
            },
            "skus": {"fields": {"sku": {"path": "code", "transforms": ["to_decimal"]}}},
        },
    }
    rows = compile_mapping(spec).apply({"at": 1772409599, "rate": "0.92", "code": "00120.50"})
    assert rows[0][1]["date"] == dt.date(2026, 3, 1)
    assert rows[1][1] == {"sku": "120.50"}


# --- every problem, at once, with its path --------------------------------------------------


def test_four_different_problems_are_all_reported_with_their_paths() -> None:
    spec = copy.deepcopy(AMAZON)
    fields = spec["targets"]["orders"]["fields"]
    fields["created_at"]["transforms"] = [{"parse_time": {"format": "%Y"}}]
    fields["order_id"] = "Amazon[OrderId"
    fields["order_total"] = "OrderTotal.Amount"
    fields["gross_amount"]["transforms"] = ["to_decimal", {"multiply": {"by": "lots"}}]
    problems = dict(problems_of(spec, provided=SHOP))
    assert sorted(problems) == [
        "targets.orders.fields.created_at.transforms[0]",
        "targets.orders.fields.gross_amount.transforms[1].multiply.by",
        "targets.orders.fields.order_id",
        "targets.orders.fields.order_total",
    ]
    assert problems["targets.orders.fields.created_at.transforms[0]"].startswith(
        "unknown transform 'parse_time' (did you mean 'parse_timestamp'?); known: concat, "
    )
    assert "invalid JMESPath expression 'Amazon[OrderId'" in problems["targets.orders.fields.order_id"]
    assert "unknown field 'order_total' of table 'orders'" in problems["targets.orders.fields.order_total"]
    assert "decimal" in problems["targets.orders.fields.gross_amount.transforms[1].multiply.by"]
    assert "'lots'" in problems["targets.orders.fields.gross_amount.transforms[1].multiply.by"]


def test_missing_required_fields_are_listed_unless_provided() -> None:
    problems = problems_of(AMAZON)
    assert problems == [
        (
            "targets.orders.fields.platform",
            "required field of 'orders' is not mapped; map it from the record or give a const",
        ),
        (
            "targets.orders.fields.shop_id",
            "required field of 'orders' is not mapped; map it from the record or give a const",
        ),
        (
            "targets.order_items.fields.platform",
            "required field of 'order_items' is not mapped; map it from the record or give a const",
        ),
        (
            "targets.order_items.fields.shop_id",
            "required field of 'order_items' is not mapped; map it from the record or give a const",
        ),
    ]
    compile_mapping(AMAZON, provided=SHOP)


@pytest.mark.parametrize(
    ("field", "spec", "words"),
    [
        (
            "created_at",
            {"path": "x", "transforms": ["to_decimal"]},
            "'to_decimal' produces decimal, but orders.created_at needs datetime",
        ),
        ("paid_at", {"path": "x", "transforms": ["to_decimal"]}, "orders.paid_at needs datetime"),
        (
            "gross_amount",
            {"path": "x", "transforms": ["to_bool"]},
            "produces bool, but orders.gross_amount needs decimal",
        ),
        (
            "order_id",
            {"path": "x", "transforms": ["parse_date"]},
            "produces date, but orders.order_id needs str",
        ),
        ("status", {"path": "x", "transforms": ["to_decimal", "to_bool"]}, "'to_bool' produces bool"),
    ],
)
def test_a_field_that_cannot_get_its_type_is_reported(field: str, spec: dict[str, Any], words: str) -> None:
    problems = problems_of(single_field("orders", field, spec), provided=ALL_ORDER_FIELDS)
    assert len(problems) == 1
    assert problems[0][0] == f"targets.orders.fields.{field}"
    assert words in problems[0][1]


@pytest.mark.parametrize(
    ("field", "spec"),
    [
        ("paid_at", {"path": "x", "transforms": ["parse_timestamp"]}),
        ("gross_amount", {"path": "x", "transforms": ["to_int"]}),
        ("order_id", {"path": "x", "transforms": ["to_int"]}),
        ("status", {"path": "x", "transforms": ["upper", {"map_values": {"values": {"A": "paid"}}}]}),
        ("gross_amount", {"const": "1.5"}),
        ("tax", "x"),
    ],
)
def test_compatible_kinds_are_accepted(field: str, spec: Any) -> None:
    compile_mapping(single_field("orders", field, spec), provided=ALL_ORDER_FIELDS)


@pytest.mark.parametrize(
    ("spec", "path", "words"),
    [
        ([], "", "a mapping must be an object with 'version' and 'targets', got list"),
        (
            {"targets": {"teams": {"fields": {"team_id": "a", "name": "b"}}}},
            "version",
            "missing; this format is version 1",
        ),
        (
            {"version": 1, "targets": {}},
            "targets",
            "expected an object naming at least one standard table (got {})",
        ),
        (
            {"version": True, "targets": {"teams": {"fields": {"team_id": "a", "name": "b"}}}},
            "version",
            "unsupported version True",
        ),
        (
            {"version": "1", "targets": {"teams": {"fields": {"team_id": "a", "name": "b"}}}},
            "version",
            "unsupported version '1'",
        ),
        ({"version": 1}, "targets", "expected an object naming at least one standard table (missing)"),
        (
            {"version": 1, "targets": {"teams": {"fields": {"team_id": "a", "name": "b"}}}, "note": 1},
            "note",
            "unknown key",
        ),
        (
            {"version": 1, "targets": {"team": {"fields": {}}}},
            "targets.team",
            "unknown standard table 'team' (did you mean 'teams'?)",
        ),
        ({"version": 1, "targets": {"teams": ["a"]}}, "targets.teams", "expected an object with 'fields'"),
        (
            {"version": 1, "targets": {"teams": {"fields": {"team_id": "a", "name": "b"}, "where": "x"}}},
            "targets.teams.where",
            "known: each, fields, merge",
        ),
        (
            {"version": 1, "targets": {"teams": {"each": "a[", "fields": {"team_id": "a", "name": "b"}}}},
            "targets.teams.each",
            "invalid JMESPath expression 'a['",
        ),
        (
            {"version": 1, "targets": {"teams": {"fields": {"team_id": "nosuch(a)", "name": "b"}}}},
            "targets.teams.fields.team_id",
            "unknown function nosuch()",
        ),
        (
            {"version": 1, "targets": {"teams": {"fields": {"team_id": "", "name": "b"}}}},
            "targets.teams.fields.team_id",
            "empty JMESPath expression",
        ),
        (
            {
                "version": 1,
                "targets": {"teams": {"fields": {"team_id": {"path": "a", "const": "b"}, "name": "b"}}},
            },
            "targets.teams.fields.team_id",
            "has both 'path' and 'const'",
        ),
        (
            {"version": 1, "targets": {"teams": {"fields": {"team_id": {"transforms": []}, "name": "b"}}}},
            "targets.teams.fields.team_id",
            "needs one of 'path' and 'const'",
        ),
        (
            {
                "version": 1,
                "targets": {"teams": {"fields": {"team_id": {"path": "a", "tranforms": []}, "name": "b"}}},
            },
            "targets.teams.fields.team_id.tranforms",
            "did you mean 'transforms'?",
        ),
        (
            {"version": 1, "targets": {"teams": {"fields": {"team_id": None, "name": "b"}}}},
            "targets.teams.fields.team_id",
            "got null",
        ),
        (
            {
                "version": 1,
                "targets": {
                    "teams": {"fields": {"team_id": {"path": "a", "transforms": "strip"}, "name": "b"}}
                },
            },
            "targets.teams.fields.team_id.transforms",
            "expected a list of transforms",
        ),
        (
            {
                "version": 1,
                "targets": {
                    "teams": {
                        "fields": {
                            "team_id": {"path": "a", "transforms": [{"strip": {}, "lower": {}}]},
                            "name": "b",
                        }
                    }
                },
            },
            "targets.teams.fields.team_id.transforms[0]",
            "object with one key",
        ),
        (
            {
                "version": 1,
                "targets": {
                    "teams": {
                        "fields": {"team_id": {"path": "a", "transforms": [{"multiply": 100}]}, "name": "b"}
                    }
                },
            },
            "targets.teams.fields.team_id.transforms[0].multiply",
            "arguments must be an object, got int",
        ),
        (
            {
                "version": 1,
                "targets": {
                    "teams": {"fields": {"team_id": {"path": "a", "transforms": ["multiply"]}, "name": "b"}}
                },
            },
            "targets.teams.fields.team_id.transforms[0].multiply",
            "give exactly one of `by` (a number) or `by_path`",
        ),
        (
            {
                "version": 1,
                "targets": {
                    "teams": {
                        "fields": {
                            "team_id": {"path": "a", "transforms": [{"strip": {"chars": " "}}]},
                            "name": "b",
                        }
                    }
                },
            },
            "targets.teams.fields.team_id.transforms[0].strip.chars",
            "unknown key; this takes no arguments",
        ),
        (
            {
                "version": 1,
                "targets": {
                    "teams": {
                        "fields": {
                            "team_id": {"path": "a", "transforms": [{"divide": {"by": 0}}]},
                            "name": "b",
                        }
                    }
                },
            },
            "targets.teams.fields.team_id.transforms[0].divide.by",
            "cannot divide by zero",
        ),
    ],
)
def test_each_kind_of_problem_names_its_path_and_reason(spec: Any, path: str, words: str) -> None:
    problems = problems_of(spec)
    assert [p for p, _ in problems] == [path]
    assert words in problems[0][1]


# --- failures on data -----------------------------------------------------------------------


def test_a_transform_failure_names_the_table_the_field_and_the_reason() -> None:
    compiled = compile_mapping(AMAZON, provided=SHOP)
    raw = copy.deepcopy(RAW)
    raw["PurchaseDate"] = "01/03/2026"
    raw["OrderItems"][1]["QuantityOrdered"] = "two"
    with pytest.raises(MappingError) as caught:
        compiled.apply(raw)
    message = str(caught.value)
    assert "orders.created_at: parse_timestamp: cannot parse '01/03/2026' as a timestamp" in message
    assert "order_items.quantity: item [1]: to_int: cannot convert 'two' to an integer" in message
    assert caught.value.problems == [
        (
            "targets.orders.fields.created_at.transforms[0]",
            "parse_timestamp: cannot parse '01/03/2026' as a timestamp (format '%Y-%m-%dT%H:%M:%SZ')",
        ),
        (
            "targets.order_items.fields.quantity.transforms[0]",
            "item [1]: to_int: cannot convert 'two' to an integer: not a number",
        ),
    ]


def test_an_each_that_is_not_a_list_is_reported() -> None:
    compiled = compile_mapping(AMAZON, provided=SHOP)
    with pytest.raises(MappingError) as caught:
        compiled.apply({**RAW, "OrderItems": {"SellerSKU": "A"}})
    assert caught.value.problems == [
        ("targets.order_items.each", "expected a list, got dict {'SellerSKU': 'A'}")
    ]
    assert "order_items (each): expected a list" in str(caught.value)


def test_a_jmespath_type_error_at_run_time_is_a_mapping_error() -> None:
    compiled = compile_mapping(
        {"version": 1, "targets": {"skus": {"fields": {"sku": "to_string(length(code))"}}}}
    )
    assert compiled.apply({"code": "abc"}) == [("skus", {"sku": "3"})]
    with pytest.raises(MappingError) as caught:
        compiled.apply({"code": 5})
    ((path, reason),) = caught.value.problems
    assert path == "targets.skus.fields.sku.path"
    assert "JMESPath error: In function length()" in reason
