"""Pushing into Tableau extracts: each .hyper file, read back with tableauhyperapi, equals the
hub's table, column types included; a push killed midway leaves the previous extract whole."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from hub_env import outputs
from tableauhyperapi import Connection, HyperProcess, SqlType, TableName, Telemetry

from hub.publish import add_sink, catalog, push_sink
from hub.publish.reader import read_rows
from hub.store.kpi_tables import kpi_fact
from hub.store.tables import metadata

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

EXPECTED_TYPES = {
    "int": SqlType.big_int(),
    "float": SqlType.double(),
    "decimal": SqlType.numeric(18, 4),
    "bool": SqlType.bool(),
    "datetime": SqlType.timestamp_tz(),
    "date": SqlType.date(),
    "str": SqlType.text(),
}


class Killed(BaseException):
    pass


def read_hyper(path):
    with (
        HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_config": ""}) as hyper,
        Connection(hyper.endpoint, str(path)) as conn,
    ):
        definition = conn.catalog.get_table_definition(TableName("Extract", "Extract"))
        types = {str(c.name.unescaped): c.type for c in definition.columns}
        rows = conn.execute_list_query(f"SELECT * FROM {definition.table_name}")
    names = list(types)
    out = []
    for row in rows:
        values = {}
        for name, value in zip(names, row, strict=True):
            if hasattr(value, "to_datetime"):
                value = value.to_datetime()
            elif hasattr(value, "to_date"):
                value = value.to_date()
            values[name] = value
        out.append(values)
    return types, out


def normal(row, columns):
    out = {}
    for name, kind in columns.items():
        value = row[name]
        if kind == "datetime" and value is not None:
            value = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        if kind == "decimal" and value is not None:
            value = Decimal(str(value)).quantize(Decimal("0.0001"))
        if kind == "float" and value is not None:
            value = float(value)
        out[name] = value
    return out


def assert_extract_equals_hub(directory, store, tenant_id, name):
    table = catalog(metadata)[name]
    schema = table.schema(rows=None, available=[name])
    # A KPI value's ten decimal places do not fit Hyper's default 18-digit numerics: a double.
    kinds = {
        c: "float" if k == "decimal" and schema.decimal_places(c) > 4 else k for c, k in table.columns.items()
    }
    types, rows = read_hyper(directory / f"{name}.hyper")
    assert types == {c: EXPECTED_TYPES[k] for c, k in kinds.items()}
    got = sorted((normal(r, kinds) for r in rows), key=lambda r: tuple(str(r[k]) for k in table.key))
    want = sorted(
        (normal(r, kinds) for r in read_rows(store, table, tenant_id)),
        key=lambda r: tuple(str(r[k]) for k in table.key),
    )
    assert got == want


def test_extracts_equal_the_hub_tables_with_types_and_survive_a_killed_push(sink_hub, seed, tmp_path):
    store = sink_hub.ready_store
    tenant_id = seed(store, 1_500)
    directory = outputs(tmp_path) / "extracts"
    add_sink(
        store,
        sink_hub.vault,
        sink_hub.registry,
        name="tableau",
        plugin="tableau",
        options={"directory": str(directory)},
        credentials=None,
        tables=["dim_metric", "kpi_fact"],
    )

    def push(progress=None):
        return asyncio.run(push_sink(store, sink_hub.vault, sink_hub.registry, "tableau", progress=progress))

    first = push()
    assert first.succeeded, first.tables
    assert_extract_equals_hub(directory, store, tenant_id, "kpi_fact")
    assert_extract_equals_hub(directory, store, tenant_id, "dim_metric")

    # Values change; the push dies while writing: the old extract stays whole and readable.
    with store.begin() as conn:
        conn.execute(
            kpi_fact.update()
            .where(kpi_fact.c.metric_id == "gmv")
            .values(value=1.0, computed_at=dt.datetime(2026, 11, 5, tzinfo=dt.UTC))
        )
    before = (directory / "kpi_fact.hyper").read_bytes()

    def die(table, rows, total):
        raise Killed

    with pytest.raises(Killed):
        push(progress=die)
    assert (directory / "kpi_fact.hyper").read_bytes() == before
    assert sorted(p.name for p in directory.iterdir()) == ["dim_metric.hyper", "kpi_fact.hyper"]
    rerun = push()
    assert {t.table: t.action for t in rerun.tables} == {"dim_metric": "skipped", "kpi_fact": "replaced"}
    assert_extract_equals_hub(directory, store, tenant_id, "kpi_fact")
