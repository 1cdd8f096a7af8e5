"""Targets through Excel and by hand: the workbook routes are the library's import and export,
all or nothing, within the key's rights; a target can be deleted."""

from __future__ import annotations

import io

import pytest
from crafted_xlsx import (
    BILLION_LAUGHS,
    external_entity,
    header_row,
    huge_shared_string,
    inline,
    no_worksheet,
    ratio_bomb,
    sheet,
    workbook,
)
from openpyxl import Workbook, load_workbook

from hub.api.routes.target_workbooks import XLSX
from hub.kpi.xlsx import export_xlsx

HEADER = ["metric_id", "grain", "period", "scope_type", "scope_id", "target_value"]


def _cells(data: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(data), read_only=True)["targets"]
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def _workbook(*rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "targets"
    for row in (HEADER, *rows):
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _targets(client, headers):
    items = client.get("/api/v1/targets?limit=500", headers=headers).json()["items"]
    return sorted(
        (t["metric_id"], t["grain"], t["period_start"], t["scope_type"], t["scope_id"], t["target_value"])
        for t in items
    )


def test_a_workbook_round_trips_through_the_api_as_through_the_library(client, world, hub, tmp_path):
    admin, beta = world["admin_a"], world["admin_b"]
    exported = client.get("/api/v1/targets/xlsx", headers=admin)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == XLSX
    assert "attachment" in exported.headers["content-disposition"]
    assert b"\x00" in exported.content  # a zip: binary, and still accepted below
    library = tmp_path / "library.xlsx"
    assert export_xlsx(hub.ready_store, library, tenant="default") == 2
    assert _cells(exported.content) == _cells(library.read_bytes())

    # The export imported into another tenant gives it the same targets: once as the body
    # itself, once as a form's file field.
    raw = client.post(
        "/api/v1/targets/xlsx", content=exported.content, headers={**beta, "Content-Type": XLSX}
    )
    assert raw.status_code == 200, raw.text
    assert raw.json() == {"workbook": "targets.xlsx", "imported": 2}
    form = client.post(
        "/api/v1/targets/xlsx", files={"file": ("q1 targets.xlsx", exported.content, XLSX)}, headers=beta
    )
    assert form.status_code == 200 and form.json()["workbook"] == "q1 targets.xlsx", form.text
    assert _targets(client, beta) == _targets(client, admin)
    audit = client.get("/api/v1/audit?action=target.import", headers=beta).json()["items"]
    assert [e["target"] for e in audit] == ["q1 targets.xlsx", "targets.xlsx"]

    # Filters as for the list; a key limited to some shops exports only their targets.
    month = _cells(client.get("/api/v1/targets/xlsx?metric_id=net_sales", headers=admin).content)
    assert [row[4] for row in month[1:]] == ["alpha-team"]
    shop_key = client.post(
        "/api/v1/api-keys",
        json={"name": "shop-viewer", "role": "viewer", "scope": {"shops": ["ALPHA-SHOP"]}},
        headers=admin,
    ).json()["key"]
    scoped = client.get("/api/v1/targets/xlsx", headers={"Authorization": f"Bearer {shop_key}"})
    assert scoped.status_code == 200 and _cells(scoped.content) == [tuple(_cells(library.read_bytes())[0])]
    period_alone = client.get("/api/v1/targets/xlsx?period=2026-03", headers=admin)
    assert period_alone.status_code == 422 and "grain" in period_alone.json()["error"]["message"]


def test_a_bad_workbook_is_a_422_naming_each_cell_and_stores_nothing(client, world, make_key, snapshot):
    admin = world["admin_a"]
    refusing = [
        make_key("default", role, shops=shops, name=f"{role}-key")
        for role, shops in (("agency", ()), ("viewer", ()), ("admin", ("ALPHA-SHOP",)))
    ]
    before = snapshot()
    bad = _workbook(
        ["gmv", "month", "2026-04", "shop", "fakeshop:ALPHA-SHOP", 100],
        ["gmv", "month", "2026-04", "shop", "fakeshop:ALPHA-TWO", "lots"],
        ["gmv", "month", "2026-04", "shop", None, 100],
    )
    response = client.post("/api/v1/targets/xlsx", content=bad, headers={**admin, "Content-Type": XLSX})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert "2 problem(s), nothing imported" in error["message"]
    assert error["fields"] == [
        {
            "path": "body.targets!F3",
            "reason": "row 3, column F (target_value): target value 'lots' is not a number",
        },
        {"path": "body.targets!E4", "reason": "row 4, column E (scope_id): scope_id is empty"},
    ]
    book = Workbook()
    book.active.append(HEADER[:5])
    out = io.BytesIO()
    book.save(out)
    header = client.post(
        "/api/v1/targets/xlsx", content=out.getvalue(), headers={**admin, "Content-Type": XLSX}
    )
    assert header.status_code == 422 and header.json()["error"]["fields"][0]["path"] == "body.Sheet!1"
    assert "no target_value column" in header.json()["error"]["fields"][0]["reason"]
    not_a_workbook = client.post(
        "/api/v1/targets/xlsx", content=b"metric_id,grain\n", headers={**admin, "Content-Type": XLSX}
    )
    assert not_a_workbook.status_code == 422 and "not an Excel .xlsx workbook" in not_a_workbook.text
    no_file = client.post("/api/v1/targets/xlsx", files={"other": ("x.xlsx", bad, XLSX)}, headers=admin)
    assert no_file.status_code == 422 and no_file.json()["error"]["fields"][0]["path"] == "body.file"
    as_json = client.post("/api/v1/targets/xlsx", json={"targets": []}, headers=admin)
    assert as_json.status_code == 415 and as_json.json()["error"]["code"] == "unsupported_media_type"
    # An agency may not set the targets it is assessed on, nor may a key limited to some shops.
    for headers in refusing:
        refused = client.post(
            "/api/v1/targets/xlsx",
            content=_workbook(["gmv", "month", "2026-04", "tenant", "default", 1]),
            headers={**headers, "Content-Type": XLSX},
        )
        assert refused.status_code == 403, refused.text
    assert snapshot() == before


def test_nul_bytes_are_still_refused_in_json_but_not_in_a_workbook(client, world, snapshot):
    admin = world["admin_a"]
    before = snapshot()
    body = {"metric_id": "gmv", "grain": "month", "period": "2026-05", "scope_type": "team",
            "scope_id": "T\x00", "value": "1"}  # fmt: skip
    assert client.put("/api/v1/targets", json=body, headers=admin).status_code == 422
    assert snapshot() == before
    good = _workbook(["gmv", "month", "2026-05", "team", "T1", 1])
    assert b"\x00" in good
    stored = client.post("/api/v1/targets/xlsx", content=good, headers={**admin, "Content-Type": XLSX})
    assert stored.status_code == 200 and stored.json()["imported"] == 1


def test_a_target_is_deleted_audited_and_then_gone(client, world, make_key, snapshot):
    admin = world["admin_a"]
    key = "metric_id=net_sales&grain=month&period=2026-03&scope_type=team&scope_id=alpha-team"
    agency = make_key("default", "agency", name="agency")
    before = snapshot()
    for headers, status in ((agency, 403), (world["admin_b"], 404)):
        assert client.delete(f"/api/v1/targets?{key}", headers=headers).status_code == status
    bad_period = client.delete(f"/api/v1/targets?{key.replace('2026-03', '2026-13')}", headers=admin)
    assert bad_period.status_code == 422
    assert snapshot() == before
    deleted = client.delete(f"/api/v1/targets?{key}", headers=admin)
    assert deleted.status_code == 204, deleted.text
    assert [t[4] for t in _targets(client, admin)] == ["default"]
    again = client.delete(f"/api/v1/targets?{key}", headers=admin)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    entry = client.get("/api/v1/audit?action=target.delete", headers=admin).json()["items"][0]
    assert entry["target"] == "net_sales/month/2026-03-01/team/alpha-team"
    assert entry["detail"]["before"]["target_value"] == "1000.0000"


def _with_row(row: str, prolog: str = "") -> bytes:
    return workbook(sheet=sheet(header_row(), row, prolog=prolog))


# Each crafted workbook (built given the path of a file it must not read), and what the
# refusal says.
CRAFTED = {
    "a gigabyte shared string": (lambda _: huge_shared_string(), "unpacks to 1,073,7"),
    "a part packed 1000:1": (lambda _: ratio_bomb(), "as a zip bomb does; the limit is 100"),
    "billion laughs": (
        lambda _: _with_row(f'<row r="2">{inline("A2", "&lol9;")}</row>', BILLION_LAUGHS),
        "declares a DTD",
    ),
    "an external entity": (
        lambda secret: _with_row(f'<row r="2">{inline("A2", "&xxe;")}</row>', external_entity(secret)),
        "declares a DTD",
    ),
    "a 40,000-character cell": (
        lambda _: _with_row(f'<row r="7">{inline("B7", "x" * 40_000)}</row>'),
        "its cell B7 ('xl/worksheets/sheet1.xml') holds more than 32,767 characters; the limit is 32,767",
    ),
    "no worksheet": (lambda _: no_worksheet(), "has no worksheet"),
}


@pytest.mark.parametrize("attack", list(CRAFTED))
def test_a_crafted_workbook_is_a_422_naming_the_problem_and_stores_nothing(
    attack, client, admin, snapshot, tmp_path
):
    build, expected = CRAFTED[attack]
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    data = build(str(secret))
    before = snapshot()
    response = client.post(
        "/api/v1/targets/xlsx", files={"file": ("crafted.xlsx", data, XLSX)}, headers=admin
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["message"].startswith("crafted.xlsx"), error
    assert expected in error["message"], error
    assert error["fields"] == [{"path": "body", "reason": error["message"]}]
    assert "TOP-SECRET-42" not in response.text
    assert snapshot() == before
