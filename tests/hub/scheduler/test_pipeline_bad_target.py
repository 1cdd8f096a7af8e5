"""A target stored for a period outside the supported range (before periods were checked) no
longer fails every run of its tenant: the management step skips it with a reason on the run,
and refreshes the other targets as usual."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest
from fakeshop import data

from hub.kpi.targets import Target, list_targets, set_target, tenant_id, write_targets
from hub.scheduler import Runner

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_a_stored_target_outside_the_range_is_skipped_not_fatal(hub, connect, runs, caplog):
    info = connect()
    truth = data.truth(data.orders(7, 23), shop_id="S1")["orders"]
    [year] = {o["created_at"].year for o in truth.values()}
    gmv = sum(o["gross_amount"] for o in truth.values() if o["status"] != "cancelled")
    set_target(
        hub.ready_store,
        metric_id="gmv",
        grain="year",
        period=str(year),
        scope_type="tenant",
        scope_id="default",
        value=gmv,
    )
    bad = Target("gmv", "month", dt.date(9999, 12, 1), "tenant", "default", Decimal(1))
    with hub.ready_store.begin() as conn:
        write_targets(conn, tenant_id(conn, "default"), [bad], actor="before-the-fix")

    with caplog.at_level(logging.WARNING, logger="hub.kpi.targets"):
        Runner(hub).run(info.id)
    (run,) = runs()
    assert run.status == "succeeded", (run.error, run.steps)
    management = run.steps["management"]
    assert management["targets"] == 1
    [reason] = management["skipped_rows"]
    assert "gmv/month/9999-12-01/tenant/default" in reason
    assert "outside the supported range 2000-01-01 to 2100-12-31" in reason
    assert reason in caplog.text
    # The good target was measured against the synced orders; the bad one is left as it was.
    targets = {t.period_start: t for t in list_targets(hub.ready_store)}
    assert targets[dt.date(year, 1, 1)].attainment == pytest.approx(1.0)
    assert targets[dt.date(9999, 12, 1)].attainment is None
    assert list(run.steps) == ["sync", "kpi", "management", "push"]
