"""The built-in transforms and the transform registry."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from hub.mapping import (
    NoArgs,
    Transform,
    TransformArgs,
    TransformRegistry,
    compile_mapping,
    default_registry,
    register_transform,
    transform_names,
)
from sdk.errors import ConfigError

UTC = dt.UTC


def run(name: str, value: Any, args: dict[str, Any] | None = None, context: Any = None) -> Any:
    transform = default_registry().get(name)
    return transform.fn(value, transform.args.model_validate(args or {}), context)


def args_error(name: str, args: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        default_registry().get(name).args.model_validate(args)
    return str(caught.value)


# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("19.99", Decimal("19.99")),
        (0.1, Decimal("0.1")),
        (19.99, Decimal("19.99")),
        (7, Decimal(7)),
        (" 1.50 ", Decimal("1.50")),
        (Decimal("2.5"), Decimal("2.5")),
        ("-0.0001", Decimal("-0.0001")),
    ],
)
def test_to_decimal_reads_numbers_exactly(value: Any, expected: Decimal) -> None:
    result = run("to_decimal", value)
    assert isinstance(result, Decimal)
    assert result == expected
    assert str(result) == str(expected)


def test_to_decimal_never_shows_binary_float_artefacts() -> None:
    assert run("to_decimal", 0.1) != Decimal.from_float(0.1)
    assert str(run("to_decimal", 0.1 + 0.2)) == "0.30000000000000004"


@pytest.mark.parametrize(
    ("value", "words"), [("abc", "'abc'"), ("NaN", "finite"), (True, "boolean"), ([1], "list")]
)
def test_to_decimal_rejects_non_numbers_naming_the_value(value: Any, words: str) -> None:
    with pytest.raises(ValueError, match="decimal") as caught:
        run("to_decimal", value)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"), [("12", 12), (12.0, 12), (Decimal("3"), 3), (" -4 ", -4), (5, 5)]
)
def test_to_int(value: Any, expected: int) -> None:
    assert run("to_int", value) == expected


@pytest.mark.parametrize(
    ("value", "words"), [("12.5", "fractional"), ("x", "not a number"), (True, "boolean")]
)
def test_to_int_rejects(value: Any, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        run("to_int", value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("FALSE", False),
        ("1", True),
        ("0", False),
        ("Yes", True),
        (" no ", False),
        (1, True),
        (0, False),
        (True, True),
    ],
)
def test_to_bool(value: Any, expected: bool) -> None:
    assert run("to_bool", value) is expected


@pytest.mark.parametrize("value", ["maybe", 2, "", 1.0])
def test_to_bool_rejects(value: Any) -> None:
    with pytest.raises(ValueError, match="boolean"):
        run("to_bool", value)


def test_multiply_and_divide_use_exact_decimals() -> None:
    assert run("multiply", "19.99", {"by": 100}) == Decimal("1999")
    assert run("divide", 1999, {"by": "100"}) == Decimal("19.99")
    assert run("divide", 0.3, {"by": 0.1}) == Decimal(3)
    assert run("divide", "10", {"by": 3, "places": 2}) == Decimal("3.33")
    assert str(run("multiply", "2.675", {"by": 1, "places": 2})) == "2.68"


def test_divide_by_zero_is_rejected_when_the_mapping_is_checked() -> None:
    assert "divide by zero" in args_error("divide", {"by": "0.00"})
    assert "by" in args_error("multiply", {})


@given(
    st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False, allow_infinity=False),
    st.decimals(
        min_value=Decimal("0.0001"), max_value=10**6, places=4, allow_nan=False, allow_infinity=False
    ),
)
def test_multiply_then_divide_by_the_same_factor_returns_the_original(
    value: Decimal, factor: Decimal
) -> None:
    product = run("multiply", value, {"by": factor})
    assert run("divide", product, {"by": factor}) == value


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_to_decimal_of_str_round_trips(value: Decimal) -> None:
    result = run("to_decimal", str(value))
    assert result == value
    assert str(result) == str(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_to_decimal_of_a_float_is_its_shortest_repr(value: float) -> None:
    result = run("to_decimal", value)
    assert result == Decimal(repr(value))
    assert float(result) == value


# --- timestamps and dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "args", "expected"),
    [
        ("2026-03-01T08:00:00+08:00", {}, dt.datetime(2026, 3, 1, 0, 0, tzinfo=UTC)),
        ("2026-03-01T08:00:00Z", {}, dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01T08:00:00.250Z", {}, dt.datetime(2026, 3, 1, 8, 0, 0, 250000, tzinfo=UTC)),
        ("2026-03-01T08:00:00", {"timezone": "Asia/Shanghai"}, dt.datetime(2026, 3, 1, 0, 0, tzinfo=UTC)),
        ("2026-03-01T08:00:00-05:00", {"timezone": "Asia/Shanghai"}, dt.datetime(2026, 3, 1, 13, tzinfo=UTC)),
        (
            "2026-07-01 12:00",
            {"format": "%Y-%m-%d %H:%M", "timezone": "America/New_York"},
            dt.datetime(2026, 7, 1, 16, tzinfo=UTC),
        ),
        (
            "2026-01-15 12:00",
            {"format": "%Y-%m-%d %H:%M", "timezone": "America/New_York"},
            dt.datetime(2026, 1, 15, 17, tzinfo=UTC),
        ),
        ("01/03/2026 08:00 +0100", {"format": "%d/%m/%Y %H:%M %z"}, dt.datetime(2026, 3, 1, 7, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_returns_aware_utc(value: str, args: dict[str, Any], expected: dt.datetime) -> None:
    result = run("parse_timestamp", value, args)
    assert result == expected
    assert result.utcoffset() == dt.timedelta(0)


def test_parse_timestamp_reads_epochs_exactly() -> None:
    seconds = calendar.timegm((2026, 3, 1, 0, 0, 0))
    expected = dt.datetime(2026, 3, 1, tzinfo=UTC)
    assert run("parse_timestamp", seconds, {"format": "epoch_seconds"}) == expected
    assert (
        run("parse_timestamp", str(seconds), {"format": "epoch_seconds", "timezone": "Asia/Tokyo"})
        == expected
    )
    millis = run("parse_timestamp", seconds * 1000 + 123, {"format": "epoch_millis"})
    assert millis == expected + dt.timedelta(milliseconds=123)
    assert run("parse_timestamp", seconds + 0.5, {"format": "epoch_seconds"}) == expected + dt.timedelta(
        seconds=0.5
    )


@pytest.mark.parametrize(
    ("value", "args", "words"),
    [
        ("yesterday", {}, "'yesterday' as a timestamp (ISO 8601)"),
        ("2026-03-01", {"format": "%d/%m/%Y"}, "format '%d/%m/%Y'"),
        (1772323200, {}, "epoch_seconds"),
        ("soon", {"format": "epoch_millis"}, "expected a number"),
    ],
)
def test_parse_timestamp_rejects_with_the_reason(value: Any, args: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=r"timestamp|number") as caught:
        run("parse_timestamp", value, args)
    assert words in str(caught.value)


def test_parse_timestamp_arguments_are_checked() -> None:
    assert "unknown IANA time zone 'Mars/Base'" in args_error("parse_timestamp", {"timezone": "Mars/Base"})
    assert "unknown format 'epoch_second'" in args_error("parse_timestamp", {"format": "epoch_second"})
    assert "Extra inputs" in args_error("parse_timestamp", {"tz": "UTC"})


def test_parse_date() -> None:
    assert run("parse_date", "2026-03-01") == dt.date(2026, 3, 1)
    assert run("parse_date", "01/03/2026", {"format": "%d/%m/%Y"}) == dt.date(2026, 3, 1)
    assert run("parse_date", dt.datetime(2026, 3, 1, 23, 59, tzinfo=UTC)) == dt.date(2026, 3, 1)
    with pytest.raises(ValueError, match=r"'2026-3-1x' as a date \(ISO 8601 YYYY-MM-DD\)"):
        run("parse_date", "2026-3-1x")
    assert "unknown format" in args_error("parse_date", {"format": "epoch_seconds"})


# --- lookups, text, defaults ---------------------------------------------------------------


def test_map_values() -> None:
    table = {"values": {"Pending": "pending", "Shipped": "shipped", "10": "paid"}}
    assert run("map_values", "Shipped", table) == "shipped"
    assert run("map_values", 10, table) == "paid"
    assert run("map_values", "Lost", {**table, "default": "pending"}) == "pending"
    assert run("map_values", "Lost", {**table, "default": None}) is None
    with pytest.raises(ValueError, match="not in the map_values table") as caught:
        run("map_values", "Lost", table)
    message = str(caught.value)
    assert "'Lost'" in message
    assert "'Pending', 'Shipped'" in message


def test_default_replaces_only_null() -> None:
    transform = default_registry().get("default")
    assert transform.accepts_none
    assert run("default", None, {"value": "0"}) == "0"
    assert run("default", "5", {"value": "0"}) == "5"
    assert "value" in args_error("default", {})


def test_concat_reads_other_paths_on_the_same_context() -> None:
    context = {"first": "Ada", "last": "Lovelace", "n": 3, "gone": None}
    args = {"with_paths": ["last", "n", "gone"], "separator": " "}
    assert run("concat", "Ada", args, context) == "Ada Lovelace 3"
    assert "invalid JMESPath expression 'last['" in args_error("concat", {"with_paths": ["last["]})


def test_text_transforms() -> None:
    assert run("lower", "AbC") == "abc"
    assert run("upper", "AbC") == "ABC"
    assert run("strip", "  x \n") == "x"
    assert run("to_str", Decimal("1E+2")) == "100"
    assert run("to_str", True) == "true"
    assert run("to_str", 42) == "42"
    with pytest.raises(ValueError, match="lower expects text, got int 5; add to_str first"):
        run("lower", 5)


@pytest.mark.parametrize(
    ("value", "expected"), [(" usd ", "USD"), ("rmb", "CNY"), ("US$", "USD"), ("€", "EUR"), ("gbp", "GBP")]
)
def test_currency_normalises(value: str, expected: str) -> None:
    assert run("currency", value) == expected


@pytest.mark.parametrize(
    ("value", "words"), [("¥", "ambiguous (JPY or CNY)"), ("dollars", "not a currency code")]
)
def test_currency_rejects(value: str, words: str) -> None:
    with pytest.raises(ValueError, match="currency") as caught:
        run("currency", value)
    assert words in str(caught.value)
    assert repr(value) in str(caught.value)


# --- registry ------------------------------------------------------------------------------


def _reverse(value: Any, args: NoArgs, context: Any) -> str:
    return str(value)[::-1]


def test_built_ins_are_registered() -> None:
    names = transform_names()
    assert names == sorted(names)
    assert {"to_decimal", "parse_timestamp", "map_values", "concat", "currency", "default"} <= set(names)


def test_register_transform_adds_a_usable_transform() -> None:
    registry = default_registry().copy()
    register_transform(Transform("reverse", _reverse, NoArgs, "str", owner="plugin-x"), registry=registry)
    assert "reverse" in transform_names(registry)
    assert "reverse" not in transform_names()
    spec = {
        "version": 1,
        "targets": {"teams": {"fields": {"team_id": "id", "name": {"path": "n", "transforms": ["reverse"]}}}},
    }
    compiled = compile_mapping(spec, registry=registry)
    assert compiled.apply({"id": "t1", "n": "abc"}) == [("teams", {"team_id": "t1", "name": "cba"})]


def test_register_on_the_default_registry_and_unregister() -> None:
    register_transform(Transform("reverse_for_test", _reverse, NoArgs, "str"))
    try:
        assert "reverse_for_test" in transform_names()
    finally:
        default_registry().unregister("reverse_for_test")
    assert "reverse_for_test" not in transform_names()


def test_registering_a_duplicate_name_is_an_error_naming_both_owners() -> None:
    registry = TransformRegistry([Transform("reverse", _reverse, NoArgs, "str", owner="plugin-a")])
    with pytest.raises(ConfigError, match="'reverse' is already registered by 'plugin-a'; 'plugin-b' cannot"):
        registry.register(Transform("reverse", _reverse, NoArgs, "str", owner="plugin-b"))
    with pytest.raises(ConfigError, match="'to_decimal' is already registered by 'kpihub'"):
        register_transform(Transform("to_decimal", _reverse, NoArgs, "str", owner="plugin-b"))


class _LooseArgs(BaseModel):
    anything: str = ""


class _StrictArgs(TransformArgs):
    anything: str = ""


def _noop(value: Any, args: Any, context: Any) -> Any:
    return value


@pytest.mark.parametrize(
    ("transform", "words"),
    [
        (Transform("Bad-Name", _noop, _StrictArgs), "must be lower_snake_case"),
        (Transform("loose", _noop, _LooseArgs), "extra='forbid'"),
        (Transform("odd", _noop, _StrictArgs, "float"), "output 'float' is not one of"),  # type: ignore[arg-type]
    ],
)
def test_malformed_transforms_are_refused(transform: Transform[Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        TransformRegistry().register(transform)


def test_unknown_transform_lookup_lists_known_names() -> None:
    with pytest.raises(KeyError, match="did you mean 'to_decimal'"):
        default_registry().get("to_decimals")


def test_sum_and_factor_by_path_on_a_record():
    from decimal import Decimal as D

    from hub.mapping import compile_mapping

    mapping = compile_mapping(
        {
            "version": 1,
            "targets": {
                "orders": {
                    "fields": {
                        "order_id": "id",
                        "status": {"const": "paid"},
                        "currency": {"const": "USD"},
                        "created_at": {"path": "t", "transforms": ["parse_timestamp"]},
                        "updated_at": {"path": "t", "transforms": ["parse_timestamp"]},
                        "gross_amount": {"path": "lines[].amount", "transforms": ["sum"]},
                        "tax": {"path": "lines[].tax", "transforms": ["sum"]},
                    }
                },
                "order_items": {
                    "each": "lines",
                    "fields": {
                        "order_id": "record.id",
                        "line_id": "item.n",
                        "sku": "item.sku",
                        "quantity": "item.qty",
                        "amount": {"path": "item.amount", "transforms": ["to_decimal"]},
                        "unit_price": {
                            "path": "item.amount",
                            "transforms": [{"divide": {"by_path": "item.qty"}}],
                        },
                        "currency": {"const": "USD"},
                    },
                },
            },
        },
        provided=frozenset({"platform", "shop_id"}),
    )
    raw = {
        "id": "o1",
        "t": "2026-01-01T00:00:00Z",
        "lines": [
            {"n": "1", "sku": "A", "qty": 3, "amount": "0.30", "tax": "0.10"},
            {"n": "2", "sku": "B", "qty": 1, "amount": "19.99", "tax": None},
        ],
    }
    rows = dict.fromkeys(["orders"])
    items = []
    for table, row in mapping.apply(raw, {"platform": "p", "shop_id": "s"}):
        if table == "orders":
            rows["orders"] = row
        else:
            items.append(row)
    assert rows["orders"]["gross_amount"] == D("20.29") and rows["orders"]["tax"] == D("0.10")
    assert [i["unit_price"] for i in items] == [D("0.1"), D("19.99")]
    zero = {**raw, "lines": [{**raw["lines"][0], "qty": 0}]}
    with pytest.raises(Exception, match="divide by zero"):
        mapping.apply(zero, {"platform": "p", "shop_id": "s"})
