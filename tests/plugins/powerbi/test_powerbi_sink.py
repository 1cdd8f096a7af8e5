"""The Power BI sink against its simulator: msal client credentials, dataset creation with
relationships and measures, evolution by PUT table, replace and append, limits, refusals."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
from pathlib import Path

import pytest

from plugins.powerbi.simulator import PowerBISimulator
from sdk import ConfigError, CredentialError, TableBatch, TableSchema

FACT = TableSchema(
    "kpi_fact",
    {
        "metric_id": "str",
        "period_start": "date",
        "value": "float",
        "numerator": "float",
        "denominator": "float",
        "amount": "decimal",
        "final": "bool",
        "computed_at": "datetime",
        "n": "int",
    },
    ("metric_id", "period_start"),
    {"metric_id": ("dim_metric", "metric_id")},
    rows=30,
)
DIM = TableSchema("dim_metric", {"metric_id": "str", "name_en": "str"}, ("metric_id",), rows=3)


def fact_row(i: int) -> dict:
    return {
        "metric_id": f"m{i % 3}",
        "period_start": dt.date(2026, 1, 1) + dt.timedelta(days=i),
        "value": [math.nan, math.inf, 2.5][i % 3] if i < 3 else i / 4,
        "numerator": float(i),
        "denominator": 4.0,
        "amount": i * 1.25,
        "final": i % 2 == 0,
        "computed_at": dt.datetime(2026, 2, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=i),
        "n": i,
    }


async def push(sink, schemas, batches):
    try:
        await sink.prepare(schemas)
        for schema, rows, full in batches:
            await sink.push(TableBatch(schema.name, schema.columns, schema.key, iter(rows)), full=full)
    finally:
        await sink.aclose()


def test_create_replace_append_and_evolve(powerbi):
    sim, make_sink = powerbi()
    rows = [fact_row(i) for i in range(30)]
    dims = [{"metric_id": f"m{i}", "name_en": f"Metric {i}"} for i in range(3)]
    asyncio.run(push(make_sink(rows_per_post=7), [DIM, FACT], [(DIM, dims, True), (FACT, rows, True)]))

    dataset = sim.dataset("kpihub")
    assert dataset.tables["kpi_fact"].columns["computed_at"] == "DateTime"
    assert dataset.relationships == [
        {
            "name": "kpi_fact_metric_id",
            "fromTable": "kpi_fact",
            "fromColumn": "metric_id",
            "toTable": "dim_metric",
            "toColumn": "metric_id",
            "crossFilteringBehavior": "OneDirection",
        }
    ]
    assert [m["name"] for m in dataset.tables["kpi_fact"].measures] == ["Value (ratio of sums)"]
    held = sorted(sim.rows("kpihub", "kpi_fact"), key=lambda r: r["n"])  # posts may arrive in any order
    assert len(held) == 30
    assert [r["value"] for r in held[:3]] == [None, None, 2.5]  # NaN and infinity never sent
    assert held[5]["computed_at"] == "2026-02-01T00:00:00.000005Z"
    assert held[5]["period_start"] == "2026-01-06T00:00:00Z"
    assert sim.rows("kpihub", "dim_metric") == dims

    # A second push finds the dataset by name, adds the new column by PUT table, appends.
    wider = TableSchema(FACT.name, {**FACT.columns, "unit": "str"}, FACT.key, FACT.references, rows=32)
    extra = [dict(fact_row(i), unit="USD") for i in (30, 31)]
    asyncio.run(push(make_sink(), [DIM, wider], [(wider, extra, False)]))
    assert len(sim.datasets) == 1
    assert sim.dataset("kpihub").tables["kpi_fact"].columns["unit"] == "String"
    held = sim.rows("kpihub", "kpi_fact")
    assert len(held) == 32 and held[0]["unit"] is None and held[-1]["unit"] == "USD"
    assert sim.throttled == 0 and not sim.throttled_by and not sim.rejections


def test_every_request_validates_against_the_official_swagger(powerbi):
    jsonschema = pytest.importorskip("jsonschema")
    swagger = Path(os.environ.get("KPIHUB_SPECS_DIR", "/nonexistent")) / "powerbi" / "swagger.json"
    if not swagger.is_file():
        pytest.skip("KPIHUB_SPECS_DIR does not hold powerbi/swagger.json (the official Power BI REST spec)")
    definitions = json.loads(swagger.read_text())["definitions"]
    sim, make_sink = powerbi()
    assert sim.spec_source == str(swagger)
    wider = TableSchema(FACT.name, {**FACT.columns, "unit": "str"}, FACT.key, FACT.references, rows=32)
    asyncio.run(
        push(make_sink(rows_per_post=9), [DIM, FACT], [(FACT, [fact_row(i) for i in range(30)], True)])
    )
    asyncio.run(push(make_sink(), [DIM, wider], [(wider, [dict(fact_row(40), unit="x" * 5000)], False)]))
    kinds = [name for name, _ in sim.bodies]
    assert {"CreateDatasetRequest", "Table", "PostRowsRequest"} <= set(kinds)
    for name, body in sim.bodies:
        validator = jsonschema.Draft4Validator({"$ref": f"#/definitions/{name}", "definitions": definitions})
        assert list(validator.iter_errors(body)) == [], name
        if name == "PostRowsRequest":
            assert all(len(v) <= 4000 for row in body["rows"] for v in row.values() if isinstance(v, str))
    # And the simulator does refuse what the swagger refuses.
    assert not sim.rejections


def test_a_table_that_cannot_fit_is_refused_before_anything_is_sent(powerbi):
    sim, make_sink = powerbi()
    huge = TableSchema("orders", {"id": "int"}, ("id",), rows=5_000_001)
    with pytest.raises(ConfigError, match=r"at most 5,000,000.*database sink.*Tableau sink"):
        asyncio.run(push(make_sink(), [huge], []))
    wide = TableSchema("wide", {f"c{i}": "int" for i in range(76)}, ("c0",), rows=1)
    with pytest.raises(ConfigError, match=r"76 columns.*at most 75"):
        asyncio.run(push(make_sink(), [wide], []))
    assert sum(s.requests for s in sim.stats.values()) == 0


def test_wrong_client_secret_is_a_credential_error_without_the_secret(powerbi):
    sim, make_sink = powerbi()
    sink = make_sink()
    sink.credentials = type(sink.credentials)(client_id=sim.client_id, client_secret="not-the-secret-xyz")
    with pytest.raises(CredentialError) as caught:
        asyncio.run(push(sink, [DIM], []))
    assert "not-the-secret-xyz" not in str(caught.value)
    assert "client credentials" in str(caught.value)


def test_token_is_cached_and_renewed(powerbi):
    sim, make_sink = powerbi()
    sink = make_sink()

    async def scenario():
        try:
            await sink.prepare([DIM])
            await sink.push(
                TableBatch("dim_metric", DIM.columns, DIM.key, iter([{"metric_id": "a"}])), full=True
            )
            assert sink.client.auth.acquired == 1  # one token for every call so far
            for token in list(sim.tokens._access):
                sim.tokens.revoke_access(token)
            await sink.push(
                TableBatch("dim_metric", DIM.columns, DIM.key, iter([{"metric_id": "b"}])), full=False
            )
            assert sink.client.auth.acquired == 2
        finally:
            await sink.aclose()

    asyncio.run(scenario())
    assert [r["metric_id"] for r in sim.rows("kpihub", "dim_metric")] == ["a", "b"]


class BusyOnce(PowerBISimulator):
    """Another client of the dataset used the budget: the third POST rows is refused once."""

    refused = 0

    async def post_rows(self, request):
        if not self.refused and self.stats["post_rows"].requests == 3:
            self.refused += 1
            return self.rate_limited_response(0.01)
        return await super().post_rows(request)


def test_a_429_is_waited_out_and_rows_land_once_but_an_unknown_outcome_ends_the_push(powerbi):
    from sdk import UpstreamUnavailable
    from sdk.simulator import FaultKind, FaultPlan

    rows = [{"metric_id": f"m{i}", "name_en": "x"} for i in range(40)]
    sim, make_sink = powerbi(BusyOnce)
    sink = make_sink(rows_per_post=5)
    asyncio.run(push(sink, [DIM], [(DIM, rows, True)]))
    assert sim.refused == 1 and sink.client.rate_limited == 1  # the 429 was waited out ...
    assert sorted(r["metric_id"] for r in sim.rows("kpihub", "dim_metric")) == sorted(
        r["metric_id"] for r in rows
    )

    # ... but after a 503 nobody knows whether the rows went in: no retry, the push fails
    # (the hub's pending mark then makes the next push replace the table).
    sim, make_sink = powerbi()
    sink = make_sink(rows_per_post=5)

    async def scenario():
        try:
            await sink.prepare([DIM])
            sim.faults = FaultPlan(seed=5, rates={FaultKind.SERVER_503: 1.0})
            await sink.push(TableBatch("dim_metric", DIM.columns, DIM.key, iter(rows)), full=False)
        finally:
            await sink.aclose()

    with pytest.raises(UpstreamUnavailable):
        asyncio.run(scenario())
    assert sim.stats["post_rows"].statuses[503] >= 1
