"""The mapping's fast JMESPath evaluation gives exactly what the jmespath library gives."""

from __future__ import annotations

import jmespath
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.mapping.problems import compile_jmespath

KEYS = st.sampled_from(["a", "b", "c", "x-y"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)
EXPRESSIONS = [
    *("a", "a.b", "a.b.c", '"x-y".a', "a[0]", "a[*].b", "length(a)", "a || b"),
    *("[a, b.c]", "b.[a, c]", "[a[0], c]"),
]


@settings(max_examples=300, deadline=None)
@given(value=JSON, expression=st.sampled_from(EXPRESSIONS))
def test_compiled_paths_agree_with_jmespath(value, expression):
    compiled = compile_jmespath(expression)
    try:
        expected = jmespath.search(expression, value)
    except jmespath.exceptions.JMESPathError as exc:
        expected = type(exc)
    try:
        got = compiled.search(value)
    except jmespath.exceptions.JMESPathError as exc:
        got = type(exc)
    assert got == expected


def test_dotted_field_paths_take_the_dictionary_route():
    assert compile_jmespath("a.b.c").fields == ("a", "b", "c")
    assert compile_jmespath('"x-y".b').fields == ("x-y", "b")
    assert compile_jmespath("a[0]").fields is None
    assert compile_jmespath("[a.b, c]").chains == (("a", "b"), ("c",))
    assert compile_jmespath("[a[0], c]").chains is None
