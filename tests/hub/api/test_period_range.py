"""Periods and dates outside the supported range (2000-2100) are a 422 naming the range, and
nothing is stored: a target for 9999-12 used to be kept and then break every later run of the
tenant (its period end is no date), and 0000-01 was a 500."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from hub.api.routes.target_workbooks import XLSX
from hub.kpi.targets import Target, tenant_id, write_targets

TARGET = {"metric_id": "gmv", "grain": "month", "scope_type": "tenant", "scope_id": "default", "value": "1"}
OUT_OF_RANGE = ["9999-12", "0000-01", "1999-12", "2101-01", "0001-01-01", "9999-12-01"]


def _refused(response, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert "outside the supported range" in error["message"], error
    assert "2000" in error["message"] and "2100" in error["message"], error
    assert error["fields"][0]["path"].startswith(field), error


def _stored(client, admin):
    return [
        (t["grain"], t["period_start"])
        for t in client.get("/api/v1/targets?limit=500", headers=admin).json()["items"]
    ]


@pytest.mark.parametrize("period", OUT_OF_RANGE)
def test_a_target_outside_the_range_is_refused_and_not_stored(client, admin, period):
    _refused(client.put("/api/v1/targets", json={**TARGET, "period": period}, headers=admin), "body")
    deleting = client.delete(
        "/api/v1/targets",
        params={**{k: v for k, v in TARGET.items() if k != "value"}, "period": "0000-01"},
        headers=admin,
    )
    assert deleting.status_code == 422, deleting.text  # no year 0: not a 500
    assert _stored(client, admin) == []


def test_the_range_ends_are_accepted(client, admin):
    for period in ("2000-01", "2100-12"):
        saved = client.put("/api/v1/targets", json={**TARGET, "period": period}, headers=admin)
        assert saved.status_code == 200, saved.text
    assert _stored(client, admin) == [("month", "2000-01-01"), ("month", "2100-12-01")]


def test_every_route_taking_a_period_or_date_refuses_one_outside_the_range(client, admin):
    period = {"grain": "month", "period": "9999-12"}
    _refused(
        client.post(
            "/api/v1/targets/decompose",
            json={"metric_id": "gmv", **period, "down_to": "team"},
            headers=admin,
        ),
        "body",
    )
    _refused(client.get("/api/v1/targets/xlsx", params=period, headers=admin), "query.period")
    _refused(client.get("/api/v1/scorecards", params=period, headers=admin), "query.period")
    _refused(client.get("/api/v1/scorecard-adjustments", params=period, headers=admin), "query.period")
    _refused(client.post("/api/v1/scorecards/compute", json=period, headers=admin), "body.period")
    adjustment = {"subject_type": "person", "subject_id": "P1", "kind": "exempt", "reason": "leave"}
    _refused(
        client.post("/api/v1/scorecard-adjustments", json={**adjustment, **period}, headers=admin), "body"
    )
    for name in ("start", "end"):
        _refused(
            client.get("/api/v1/kpis", params={"metric_id": "gmv", name: "9999-12-01"}, headers=admin),
            f"query.{name}",
        )
    assert client.get("/api/v1/scorecard-adjustments", headers=admin).json()["items"] == []
    assert _stored(client, admin) == []


def test_a_workbook_with_a_period_outside_the_range_names_the_cell_and_stores_nothing(client, admin):
    book = Workbook()
    sheet = book.active
    sheet.title = "targets"
    sheet.append(["metric_id", "grain", "period", "scope_type", "scope_id", "target_value"])
    sheet.append(["gmv", "month", "2026-04", "tenant", "default", 100])
    sheet.append(["gmv", "month", "9999-12", "tenant", "default", 100])
    sheet.append(["gmv", "year", 1999, "tenant", "default", 100])
    data = io.BytesIO()
    book.save(data)
    response = client.post(
        "/api/v1/targets/xlsx", content=data.getvalue(), headers={**admin, "Content-Type": XLSX}
    )
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert [f["path"] for f in fields] == ["body.targets!C3", "body.targets!C4"]
    assert all("outside the supported range: use a year from 2000 to 2100" in f["reason"] for f in fields)
    assert _stored(client, admin) == []


def test_a_target_stored_outside_the_range_before_the_check_can_still_be_deleted(client, admin, hub):
    bad = Target("gmv", "month", dt.date(9999, 12, 1), "tenant", "default", Decimal(1))
    with hub.ready_store.begin() as conn:
        write_targets(conn, tenant_id(conn, "default", create=True), [bad], actor="before-the-fix")
    assert _stored(client, admin) == [("month", "9999-12-01")]
    params = {**{k: v for k, v in TARGET.items() if k != "value"}, "period": "9999-12"}
    deleted = client.delete("/api/v1/targets", params=params, headers=admin)
    assert deleted.status_code == 204, deleted.text
    assert _stored(client, admin) == []
