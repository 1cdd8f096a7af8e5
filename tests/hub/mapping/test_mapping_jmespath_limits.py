"""JMESPath expressions too long or too deeply nested are problems of the mapping, named by their
field path, wherever a mapping holds an expression; before, they compiled and then exhausted
Python's stack (a 500), or were kept whole in every message that quoted them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.mapping import compile_mapping, merge_mapping
from sdk import MappingError

DEFAULT = json.loads((Path(__file__).parents[2] / "fixtures" / "fakeshop" / "mapping.json").read_text())
PROVIDED = {"platform", "shop_id"}


def problems_of(override: dict) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        compile_mapping(merge_mapping(DEFAULT, override), provided=PROVIDED)
    return caught.value.problems


def test_an_expression_longer_than_the_limit_is_refused_without_being_quoted_whole():
    long = ".".join(["a"] * 50_000)  # parses (it nests two levels), but is 99,999 characters
    [(path, reason)] = problems_of({"targets": {"orders": {"fields": {"buyer_country": long}}}})
    assert path == "targets.orders.fields.buyer_country"
    assert reason.endswith(": 99,999 characters long; the limit is 1,000")
    assert len(reason) < 200
    at_limit = ".".join(["a"] * 500)  # 999 characters
    compile_mapping(
        merge_mapping(DEFAULT, {"targets": {"orders": {"fields": {"buyer_country": at_limit}}}}),
        provided=PROVIDED,
    )


@pytest.mark.parametrize(
    "expression",
    [
        "[" * 5000 + "a" + "]" * 5000,  # exhausts the stack while parsing
        "a" + "[]" * 400,  # parses, within the length limit, but exhausted it on every record mapped
    ],
)
def test_a_deeply_nested_expression_is_a_problem_of_its_field(expression):
    [(path, reason)] = problems_of({"targets": {"orders": {"fields": {"buyer_country": expression}}}})
    assert path == "targets.orders.fields.buyer_country"
    assert "nested more than 100 levels deep" in reason


def test_expressions_in_transform_arguments_are_bounded_too():
    long = ".".join(["a"] * 600)
    field = {"path": "buyer.country", "transforms": [{"concat": {"with_paths": [long]}}]}
    [(path, reason)] = problems_of({"targets": {"orders": {"fields": {"buyer_country": field}}}})
    assert path.startswith("targets.orders.fields.buyer_country.transforms[0]")
    assert "1,199 characters long; the limit is 1,000" in reason
