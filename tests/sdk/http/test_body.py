"""``sdk.http.body.loads`` reads every body exactly as ``json.loads`` does."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from sdk.http.body import loads

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: far beyond 64 bits, both signs
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()  # any code point, lone surrogates included
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


def _same(left: object, right: object) -> bool:
    """Equal, with types: 1 and 1.0 differ, and -0.0 is not 0.0."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return math.copysign(1, left) == math.copysign(1, right) and left == right  # type: ignore[arg-type]
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))  # type: ignore[arg-type]
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[k], right[k]) for k in left)  # type: ignore[call-overload]
    return left == right


@settings(max_examples=400, deadline=None)
@given(value=_values, ascii_only=st.booleans(), indent=st.sampled_from([None, 1, "\t"]))
def test_loads_equals_the_standard_library(value: object, ascii_only: bool, indent: object) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only, indent=indent).encode("utf-8", "surrogatepass")
    assert _same(loads(body), json.loads(body))


def test_integers_beyond_64_bits_stay_integers() -> None:
    for text in (
        b"18446744073709551616",
        b'{"id": -9223372036854775809}',
        b"[1,\n 123456789012345678901234567890]",
        b'{"user_id":"7071457693258871654","total":18446744073709551617}',  # an id string first
    ):
        expected = json.loads(text)
        assert _same(loads(text), expected), text


def test_what_only_the_standard_library_reads_is_still_read() -> None:
    for text in (b"[NaN, Infinity, -Infinity]", b"1e400", b'"\\ud800"', "[1]".encode("utf-16")):
        got, expected = loads(text), json.loads(text)
        assert repr(got) == repr(expected), text


def test_what_is_not_json_is_refused_as_json_does() -> None:
    for text in (b"", b"{", b"[1,]", b"nul"):
        try:
            json.loads(text)
        except ValueError:
            pass
        else:  # pragma: no cover - the cases above are all invalid
            raise AssertionError(text)
        try:
            loads(text)
        except ValueError:
            continue
        raise AssertionError(f"{text!r} was read")
