"""Previewing a mapping on sample records, as the admin API shows it."""

from __future__ import annotations

import json
from typing import Any

from hub.mapping import PreviewResult, compile_mapping, load_mapping_text, preview

MAPPING = """\
version: 1
targets:
  refunds:
    fields:
      refund_id: id
      order_id: order.id
      amount: {path: amount_cents, transforms: [to_decimal, {divide: {by: 100}}]}
      currency: cur
      created_at: {path: ts, transforms: [{parse_timestamp: {format: epoch_millis}}]}
      status:
        path: state
        transforms:
          - lower
          - map_values: {values: {done: completed, open: requested}}
"""

GOOD = {
    "id": "r1",
    "order": {"id": "o1"},
    "amount_cents": 1999,
    "cur": "EUR",
    "ts": 1772323200000,
    "state": "DONE",
}
DEFAULTS = {"platform": "shopee", "shop_id": "s9"}


def run(raws: list[dict[str, Any]]) -> list[PreviewResult]:
    compiled = compile_mapping(load_mapping_text(MAPPING), provided={"platform", "shop_id"})
    return preview(compiled, raws, DEFAULTS)


def test_a_good_record_shows_its_validated_rows_as_json() -> None:
    (result,) = run([GOOD])
    assert result.ok
    assert result.index == 0
    assert [(row.table, row.row) for row in result.rows] == [
        (
            "refunds",
            {
                "platform": "shopee",
                "shop_id": "s9",
                "refund_id": "r1",
                "order_id": "o1",
                "amount": "19.99",
                "currency": "EUR",
                "reason": None,
                "created_at": "2026-03-01T00:00:00Z",
                "status": "completed",
            },
        )
    ]
    assert json.loads(result.model_dump_json())["rows"][0]["row"]["amount"] == "19.99"


def test_mapping_failures_are_listed_per_record_with_no_rows() -> None:
    bad = {**GOOD, "amount_cents": "n/a", "state": "LOST"}
    good, failed = run([GOOD, bad])
    assert good.ok
    assert failed.index == 1
    assert not failed.ok
    assert failed.rows == []
    assert [(e.path, e.reason) for e in failed.errors] == [
        (
            "targets.refunds.fields.amount.transforms[0]",
            "to_decimal: cannot convert 'n/a' to a decimal: not a number",
        ),
        (
            "targets.refunds.fields.status.transforms[1]",
            "map_values: value 'lost' is not in the map_values table (known: 'done', 'open'); "
            "add it or set a default",
        ),
    ]


def test_record_model_violations_are_listed_with_the_field_path() -> None:
    (result,) = run([{**GOOD, "cur": "euro", "order": {}}])
    assert not result.ok
    assert result.rows == []
    errors = {e.path: e.reason for e in result.errors}
    assert set(errors) == {"targets.refunds.fields.order_id", "targets.refunds.fields.currency"}
    assert errors["targets.refunds.fields.order_id"] == "row 0 (refunds): required, but not given"
    assert "String should match pattern '^[A-Z]{3}$'" in errors["targets.refunds.fields.currency"]
    assert "'euro'" in errors["targets.refunds.fields.currency"]


def test_preview_of_no_records_is_empty() -> None:
    assert run([]) == []


def test_the_stream_s_own_record_check_is_shown_as_a_sync_would_quarantine() -> None:
    def check(raw: dict[str, Any]) -> list[str]:
        return [] if raw["amount_cents"] > 0 else [f"amount_cents {raw['amount_cents']} is not positive"]

    compiled = compile_mapping(load_mapping_text(MAPPING), provided={"platform", "shop_id"})
    good, bad = preview(compiled, [GOOD, {**GOOD, "amount_cents": -5}], DEFAULTS, check=check)
    assert good.ok and good.rows
    assert not bad.ok and bad.rows == []
    assert [(p.path, p.reason) for p in bad.errors] == [("record", "amount_cents -5 is not positive")]
