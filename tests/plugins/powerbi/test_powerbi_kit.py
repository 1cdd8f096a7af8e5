"""The Power BI sink passes the SDK's sink kit against the Power BI simulator on loopback."""

from __future__ import annotations

import datetime as dt

import pytest

from plugins.powerbi import PowerBISink
from sdk.testing import SinkKit


class TestPowerBIContract(SinkKit):
    sink = PowerBISink

    @pytest.fixture(autouse=True)
    def _served(self, powerbi):
        # MSAL calls Entra with its own HTTP client, so the simulator is served on loopback.
        self.sim, self._make = powerbi()

    def make_sink(self, tmp_path):
        return self._make()

    def read_back(self, sink, table):
        rows = self.sim.rows(sink.options.dataset, table)
        for row in rows:  # Power BI holds a date as a datetime at midnight
            if isinstance(row.get("period_start"), str):
                row["period_start"] = dt.datetime.fromisoformat(row["period_start"]).date()
        return rows
