"""The Tableau sink with ``file``: every table in one .hyper, passing the same sink kit."""

from __future__ import annotations

import datetime as dt

import pytest

from plugins.tableau import HyperSink
from plugins.tableau.hyper import SCHEMA
from sdk.testing import SinkKit

hyperapi = pytest.importorskip("tableauhyperapi")


def _plain(value):
    if isinstance(value, hyperapi.Timestamp):
        return value.to_datetime()
    if isinstance(value, hyperapi.Date):
        return value.to_date()
    return value


def _read(path, table):
    with (
        hyperapi.HyperProcess(telemetry=hyperapi.Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU) as hyper,
        hyperapi.Connection(hyper.endpoint, str(path)) as conn,
    ):
        name = hyperapi.TableName(SCHEMA, table)
        columns = [str(c.name.unescaped) for c in conn.catalog.get_table_definition(name).columns]
        rows = conn.execute_list_query(f"SELECT * FROM {name}")
        tables = sorted(str(t.name.unescaped) for t in conn.catalog.get_table_names(SCHEMA))
    return [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows], tables


class TestTableauOneFileContract(SinkKit):
    sink = HyperSink

    def make_sink(self, tmp_path):
        return HyperSink(HyperSink.Options(file=str(tmp_path / "out" / "kpi.hyper")), HyperSink.Credentials())

    def read_back(self, sink, table):
        out, _ = _read(sink.options.file, table)
        for row in out:
            stamp = row.get("computed_at")
            if isinstance(stamp, dt.datetime) and stamp.tzinfo is None:
                row["computed_at"] = stamp.replace(tzinfo=dt.UTC)
        return out


def test_directory_or_file_not_both_nor_neither(tmp_path):
    with pytest.raises(ValueError, match="either directory"):
        HyperSink.Options()
    with pytest.raises(ValueError, match="either directory"):
        HyperSink.Options(directory=str(tmp_path), file=str(tmp_path / "kpi.hyper"))
    with pytest.raises(ValueError, match="use directory instead of file"):
        HyperSink.Options(file=str(tmp_path / "kpi.hyper"), server_url="https://tableau.example")


def test_tables_share_the_file_and_no_temporary_file_is_left(tmp_path):
    import asyncio

    from sdk import TableBatch, TableSchema

    path = tmp_path / "kpi.hyper"
    sink = HyperSink(HyperSink.Options(file=str(path)), HyperSink.Credentials())
    schemas = [TableSchema(name, {"id": "int", "label": "str"}, ("id",)) for name in ("a", "b")]

    async def push(name, rows):
        await sink.prepare(schemas)
        try:
            columns = {"id": "int", "label": "str"}
            await sink.push(TableBatch(name, columns, ("id",), iter(rows)), full=True)
        finally:
            await sink.aclose()

    asyncio.run(push("a", [{"id": 1, "label": "x"}, {"id": 2, "label": "y"}]))
    asyncio.run(push("b", [{"id": 3, "label": "z"}]))
    asyncio.run(push("a", [{"id": 4, "label": "w"}]))  # replaces a, keeps b
    a, tables = _read(path, "a")
    b, _ = _read(path, "b")
    assert tables == ["a", "b"]
    assert a == [{"id": 4, "label": "w"}]
    assert b == [{"id": 3, "label": "z"}]
    assert [p.name for p in tmp_path.iterdir()] == ["kpi.hyper"]


@pytest.mark.parametrize("where", ["file", "directory"])
def test_a_file_that_is_not_a_hyper_extract_is_a_config_error_and_left_untouched(tmp_path, where):
    import asyncio

    from sdk import ConfigError, TableBatch, TableSchema

    # With file, every push starts from a copy of the file; with directory, an append does.
    foreign = tmp_path / ("kpi.hyper" if where == "file" else "a.hyper")
    foreign.write_text("the seller's notes, not an extract\n")
    options = {"file": str(foreign)} if where == "file" else {"directory": str(tmp_path)}
    sink = HyperSink(HyperSink.Options(**options), HyperSink.Credentials())
    columns = {"id": "int", "label": "str"}

    async def push():
        await sink.prepare([TableSchema("a", columns, ("id",))])
        try:
            await sink.push(TableBatch("a", columns, ("id",), iter([{"id": 1, "label": "x"}])), full=False)
        finally:
            await sink.aclose()

    with pytest.raises(ConfigError) as caught:
        asyncio.run(push())
    assert str(caught.value) == (
        f"the Tableau sink's file {foreign} is not a Hyper extract (Hyper cannot open it); "
        "move it away, or name another file in the sink's options"
    )
    assert foreign.read_text() == "the seller's notes, not an extract\n"
    assert [p.name for p in tmp_path.iterdir()] == [foreign.name]
