"""The Power BI sink passes the SDK's sink kit against the Power BI simulator."""

from __future__ import annotations

import datetime as dt

from plugins.powerbi import PowerBISink
from plugins.powerbi.simulator import PowerBISimulator
from sdk.testing import SinkKit


class TestPowerBIContract(SinkKit):
    sink = PowerBISink

    def make_sink(self, tmp_path):
        self.sim = PowerBISimulator(time_scale=1000.0)
        creds = self.sim.credentials()
        origin = self.sim.base_urls()["api"]
        options = PowerBISink.Options(
            tenant=creds["tenant"],
            workspace_id=creds["workspace_id"],
            api_url=origin,
            identity_url=origin,
            time_scale=self.sim.time_scale,
        )
        credentials = PowerBISink.Credentials(
            client_id=creds["client_id"], client_secret=creds["client_secret"]
        )
        return PowerBISink(options, credentials, transport=self.sim.transport())

    def read_back(self, sink, table):
        rows = self.sim.rows("kpihub", table)
        for row in rows:  # a push dataset holds dates as datetimes at midnight, as Power BI does
            if isinstance(row.get("period_start"), str):
                row["period_start"] = dt.date.fromisoformat(row["period_start"][:10])
        return rows
