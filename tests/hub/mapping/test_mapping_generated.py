"""The generated row functions map every record exactly as the field-by-field evaluation does,
and as a copy of the mapping pickled for a worker process does.

Records are drawn from the names the first-party default mappings read, with values of every
kind a platform sends (numbers as text, epochs, dates, junk, nulls, nested objects and lists),
so both successful rows and each kind of data failure are compared.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.mapping import compile_mapping
from sdk import MappingError
from sdk.records import STANDARD_RECORDS

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"
MAPPINGS = sorted(PLUGINS.glob("*/mappings/*.json"))
PROVIDED = {name for record in STANDARD_RECORDS.values() for name in record.model_fields}
"""Whatever a mapping leaves out counts as filled by the connection: every mapping compiles."""
ONE_SIDED = {
    # sum() over three nested quantities: drawn records almost never carry all three as numbers.
    "amazon/inventory": "failures",
    # every field is text as given: nothing in it can fail.
    "erp_mabang/shops": "rows",
    # their failing values sit deep in nested objects, which few drawn records reach.
    "amazon/orders_2026": "rows",
    "tiktok/returns": "rows",
}
"""Mappings whose drawn records may give one kind of outcome only: the kind they must give."""


def _names(document: object) -> set[str]:
    """Every identifier that appears in the document's paths and strings."""
    text = json.dumps(document)
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=2 * 10**12)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.sampled_from(["", "0", "12.50", "-3", "1e3", "abc", "2026-01-02", "2026-01-02T03:04:05Z", "USD"])
    | st.text(max_size=6)
)


def _records(names: list[str]) -> st.SearchStrategy[dict[str, object]]:
    keys = st.sampled_from(names)
    values = st.recursive(
        _LEAVES,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=6),
        max_leaves=15,
    )
    return st.dictionaries(keys, values, min_size=1, max_size=14)


def _outcome(function, raw, defaults):
    try:
        return function(raw, defaults)
    except MappingError as exc:
        return ("MappingError", str(exc), exc.problems)


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_generated_rows_equal_field_by_field_rows(path: Path) -> None:
    document = json.loads(path.read_text())
    mapping = compile_mapping(document, provided=PROVIDED)
    # What a sync's worker process gets: the plans travel, the row functions are made there again.
    shipped = pickle.loads(pickle.dumps(mapping))
    defaults = {"platform": "tiktok", "shop_id": "S1", "site": None, "currency": "USD"}

    seen = {"rows": 0, "failures": 0}

    @settings(max_examples=60, deadline=None)
    @given(raw=_records(sorted(_names(document))))
    def check(raw: dict[str, object]) -> None:
        fast = _outcome(mapping.apply, raw, defaults)
        slow = _outcome(mapping._apply_field_by_field, raw, defaults)
        assert fast == slow
        assert _outcome(shipped.apply, raw, defaults) == fast
        seen["failures" if isinstance(fast, tuple) else "rows"] += 1

    check()
    expected = ONE_SIDED.get(f"{path.parent.parent.name}/{path.stem}")
    kinds = {kind for kind, count in seen.items() if count}
    assert expected in kinds if expected else kinds == {"rows", "failures"}, seen


def test_the_default_mappings_are_all_compared() -> None:
    assert len(MAPPINGS) >= 15


def test_a_path_comparing_text_with_a_number_quarantines_the_record() -> None:
    """jmespath lets Python's TypeError out of ``"1700000000" > `0```: the record is reported
    as unmappable, naming the field, instead of failing the whole sync."""
    document = json.loads((PLUGINS / "shopee" / "mappings" / "orders.json").read_text())
    mapping = compile_mapping(document, provided=PROVIDED)
    with pytest.raises(MappingError) as caught:
        mapping.apply({"order_sn": "A1", "pay_time": "1700000000"}, {"platform": "shopee"})
    assert "orders.paid_at" in str(caught.value) and "JMESPath error" in str(caught.value)
