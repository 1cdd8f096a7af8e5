"""A preview is bounded: the override's size, the records, records times fields, and its time.

Anyone who may read a connection may preview, in the server's process; before these bounds a
2 MB override previewed on 200 large records took half a minute of CPU. Each test makes the
bound in question the thing that stops the preview, and checks the error names it.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from hub.mapping import PreviewTooCostly, check_override_size, compile_mapping, merge_mapping, preview
from sdk import ConfigError

# The module (``hub.mapping.preview`` names the function, which the package re-exports).
preview_module = importlib.import_module("hub.mapping.preview")
DEFAULT = json.loads((Path(__file__).parents[2] / "fixtures" / "fakeshop" / "mapping.json").read_text())
DEFAULTS = {"platform": "fakeshop", "shop_id": "S1"}
ITEMS = 2000


def _record(items: int = ITEMS) -> dict:
    lines = [
        {"line": i, "sku": f"SKU{i * 7919 % 9973:05d}", "qty": 1, "price": "1.00", "subtotal": "1.00"}
        for i in range(items)
    ]
    return {
        "id": "o1",
        "status": "Paid",
        "total": {"amount": "2000.00", "currency": "usd"},
        "created": "2026-03-01T10:00:00+08:00",
        "modified": "2026-03-01T11:00:00+08:00",
        "buyer": {"country": "US"},
        "items": lines,
    }


def _compiled(override: dict):
    return compile_mapping(merge_mapping(DEFAULT, override), provided={"platform", "shop_id"})


# Each field sorts the record's 2,000 lines by a computed key: a few hundred milliseconds a
# record in pure Python, so 200 records are a minute's work on any machine.
HEAVY = "sort_by(items, &join('-', [sku, sku, to_string(line), sku]))[-1].{}"
EXPENSIVE = {
    "targets": {
        "orders": {
            "fields": {
                "order_id": HEAVY.format("sku"),
                "buyer_country": HEAVY.format("sku"),
                "status": {"path": HEAVY.format("sku"), "transforms": ["lower"]},
            }
        }
    }
}


def test_a_preview_past_its_time_is_cut_off_by_the_time_budget(monkeypatch):
    monkeypatch.setattr(preview_module, "PREVIEW_SECONDS", 0.5)
    compiled = _compiled(EXPENSIVE)
    raw = _record()
    tracer = sys.gettrace()
    with pytest.raises(PreviewTooCostly) as caught:
        preview(compiled, [raw] * preview_module.MAX_RECORDS, DEFAULTS)
    error = caught.value
    assert isinstance(error, ConfigError)  # a 422 in the API, like any bad request
    assert error.limit == "PREVIEW_SECONDS"
    assert str(error).startswith("the preview took longer than 0.5 s (after ")
    assert str(error).endswith(f" of {preview_module.MAX_RECORDS} records); preview fewer records")
    done = int(str(error).split("(after ")[1].split(" ")[0])
    assert done < preview_module.MAX_RECORDS  # stopped part-way, not after the work was done
    assert sys.gettrace() is tracer  # a debugger's or coverage's tracer is given back

    # The same mapping on a record it can do in time is previewed as usual: the line whose
    # key sorts last (SKU07919 of SKU00000, SKU07919, SKU05865) lands in a field too short.
    monkeypatch.setattr(preview_module, "PREVIEW_SECONDS", 60.0)
    (result,) = preview(compiled, [_record(items=3)], DEFAULTS)
    reasons = {p.path: p.reason for p in result.errors}
    assert "(got 'SKU07919')" in reasons["targets.orders.fields.buyer_country"]


def test_more_records_than_the_bound_are_refused_before_any_work():
    compiled = _compiled({})
    with pytest.raises(PreviewTooCostly, match="at most 200 records, not 201") as caught:
        preview(compiled, [_record(items=1)] * (preview_module.MAX_RECORDS + 1), DEFAULTS)
    assert caught.value.limit == "MAX_RECORDS"


def test_records_times_fields_past_the_bound_is_refused_naming_how_many_fit(monkeypatch):
    monkeypatch.setattr(preview_module, "MAX_WORK", 100)
    compiled = _compiled({})
    fields = sum(len(names) for names in compiled.mapped.values())
    assert fields == 14  # the fake shop's orders and order lines
    assert len(preview(compiled, [_record(items=1)] * 7, DEFAULTS)) == 7  # 98 field evaluations
    with pytest.raises(PreviewTooCostly) as caught:
        preview(compiled, [_record(items=1)] * 8, DEFAULTS)
    assert caught.value.limit == "MAX_WORK"
    assert str(caught.value) == (
        "previewing 8 records with a mapping of 14 fields is 112 field evaluations, more than 100; "
        "preview at most 7 records"
    )


def test_an_override_past_the_size_bound_is_refused_before_it_is_compiled():
    limit = preview_module.MAX_OVERRIDE_BYTES
    padded = {"targets": {"orders": {"fields": {"buyer_country": {"const": "x" * (limit - 200)}}}}}
    check_override_size(padded)  # just under: accepted
    padded["targets"]["orders"]["fields"]["buyer_country"]["const"] += "x" * 400
    with pytest.raises(PreviewTooCostly, match=f"may be at most {limit // 1024} KB") as caught:
        check_override_size(padded)
    assert caught.value.limit == "MAX_OVERRIDE_BYTES"
