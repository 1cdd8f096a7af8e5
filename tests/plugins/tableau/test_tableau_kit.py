"""The Tableau sink passes the SDK's sink kit, read back from its .hyper extracts."""

from __future__ import annotations

import datetime as dt

import pytest

from plugins.tableau import HyperSink
from plugins.tableau.hyper import SCHEMA, TABLE
from sdk.testing import SinkKit

hyperapi = pytest.importorskip("tableauhyperapi")


def _plain(value):
    """Hyper's date and timestamp objects as Python's."""
    if isinstance(value, hyperapi.Timestamp):
        return value.to_datetime()
    if isinstance(value, hyperapi.Date):
        return value.to_date()
    return value


class TestTableauContract(SinkKit):
    sink = HyperSink

    def make_sink(self, tmp_path):
        return HyperSink(HyperSink.Options(directory=str(tmp_path / "extracts")), HyperSink.Credentials())

    def read_back(self, sink, table):
        path = f"{sink.options.directory}/{table}.hyper"
        with (
            hyperapi.HyperProcess(telemetry=hyperapi.Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU) as hyper,
            hyperapi.Connection(hyper.endpoint, path) as conn,
        ):
            name = hyperapi.TableName(SCHEMA, TABLE)
            columns = [str(c.name.unescaped) for c in conn.catalog.get_table_definition(name).columns]
            rows = conn.execute_list_query(f"SELECT * FROM {name}")
        out = [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        for row in out:
            stamp = row.get("computed_at")
            if isinstance(stamp, dt.datetime) and stamp.tzinfo is None:
                row["computed_at"] = stamp.replace(tzinfo=dt.UTC)  # Hyper keeps UTC without a zone
        return out
