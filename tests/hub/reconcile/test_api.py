"""``POST /api/v1/reconciliations``: the planted report through the admin API, with the read
permission only, cut to the caller's shops, and bad input refused with the cells at fault."""

from __future__ import annotations

import warnings
from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.api import create_app
from hub.api.access import Scope, create_api_key
from hub.scheduler import Runner, SyncStep
from hub.store.tables import metadata

from .conftest import MAP

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette prefers httpx2 for its test client; httpx works
    from starlette.testclient import TestClient

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

URL = "/api/v1/reconciliations"
DIFFERING = {
    *[(m, "tiktok:T1", "2026-02-10") for m in ("gmv", "orders", "net_sales")],
    *[(m, "tiktok:T1", "2026-02-11") for m in ("gmv", "net_sales")],
    *[("net_sales", "shopee:S1", d) for d in ("2026-02-10", "2026-02-11")],
    *[(m, "amazon:A1", "2026-02-10") for m in ("gmv", "orders", "net_sales")],
}
"""The planted differences (see test_compare.py for each one's explanation)."""
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def client(seller):
    app = create_app(seller, runner=Runner(seller, steps=[SyncStep()], retry_delays=(0.0,)))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def key(seller):
    def make(role="admin", shops=()):
        with seller.ready_store.begin() as conn:
            scope = Scope(shops=list(shops))
            _, secret = create_api_key(
                conn, tenant="default", name=f"{role}-{len(shops)}", role=role, scope=scope, actor="test"
            )
        return {"Authorization": f"Bearer {secret}"}

    return make


def _post(client, headers, report, column_map=MAP, *, map_as_file=True):
    files = {"file": ("seller-report.xlsx", report.read_bytes(), XLSX)}
    data = {}
    if map_as_file:
        files["map"] = ("map.yaml", column_map.encode(), "application/yaml")
    else:
        data["map"] = column_map
    return client.post(URL, files=files, data=data, headers=headers)


def _state(hub):
    with hub.ready_store.begin() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(metadata.tables[name])).scalar_one()
            for name in ("audit_log", "kpi_fact", "orders", "counting_bases")
        }


def test_a_viewer_reconciles_and_nothing_changes(client, key, seller, files):
    headers = key("viewer")
    before = _state(seller)
    for map_as_file in (True, False):
        answer = _post(client, headers, files[0], map_as_file=map_as_file)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["counts"] == {
            "matched": 17, "explained": 10, "unexplained": 0, "not_in_report": 0, "unknown_in_kpihub": 0
        }  # fmt: skip
        rows = {(r["metric_id"], r["scope_id"], r["period"]): r for r in body["rows"]}
        assert {k for k, r in rows.items() if r["status"] != "matched"} == DIFFERING
        [missing] = rows["gmv", "tiktok:T1", "2026-02-10"]["explanations"]
        assert (missing["kind"], missing["order_id"], missing["currency"]) == (
            "missing_from_report",
            "T1-2",
            "GBP",
        )
        assert (Decimal(missing["amount"]), Decimal(missing["effect"])) == (25, 225)
    assert _state(seller) == before


def test_a_key_limited_to_one_shop_reconciles_only_that_shop(client, key, files):
    answer = _post(client, key("agency", shops=["T1"]), files[0])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {r["scope_id"] for r in body["rows"]} == {"tiktok:T1"} and len(body["rows"]) == 9
    assert body["notes"] == ["6 row(s) about shops this key may not see were left out"]
    for other in ("A1", "S1", "Amazon US", "Shopee", "R2"):
        assert other not in answer.text
    # A shop name the key may not see reads exactly as one that does not exist.
    unknown = _post(client, key("agency", shops=["NOPE"]), files[0])
    assert unknown.status_code == 422, unknown.text
    assert (
        "no rows of figures to compare (9 row(s) about shops this key may not see were left out)"
        in unknown.text
    )


def test_totals_over_shops_are_refused_to_a_limited_key(client, key, files):
    tenant_map = (
        MAP.split("orders:\n")[0].replace("scope: shop", "scope: tenant").replace("  shop: 店铺\n", "")
    )
    answer = _post(client, key("admin", shops=["T1"]), files[0], tenant_map)
    assert answer.status_code == 403, answer.text
    assert "reconciles shop figures only, not tenant totals" in answer.json()["error"]["message"]


def test_bad_input_is_a_4xx_naming_the_cell(client, key, files, tmp_path):
    from openpyxl import load_workbook

    headers = key("viewer")
    book = load_workbook(files[0])
    book["销售日报"]["E3"] = "twelve"
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    answer = _post(client, headers, bad)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["fields"] == [
        {"path": "body.file.销售日报!E3", "reason": "row 3, column E (净销售额): 'twelve' is not a number"}
    ]
    assert client.post(URL, json={"file": "x"}, headers=headers).status_code == 415
    no_map = client.post(URL, files={"file": ("r.xlsx", b"x", XLSX)}, headers=headers)
    assert no_map.status_code == 422 and no_map.json()["error"]["fields"][0]["path"] == "body.map"
    bad_map = _post(client, headers, files[0], "scope: week\n")
    assert bad_map.status_code == 422 and bad_map.json()["error"]["fields"][0]["path"] == "body.map"
    assert client.post(URL, files={"file": ("r.xlsx", b"x", XLSX), "map": ("m", b"a")}).status_code == 401


def test_a_csv_report_with_its_map_as_text(client, key):
    csv = "日期,店铺,销售额,订单数,净销售额\n2026-02-10,tiktok:T1,315.00,2,315.00\n"
    csv += "2026-02-11,tiktok:T1,136.50,1,136.50\n"  # at 9.10 GBP, as the planted report
    column_map = MAP.split("orders:\n")[0].replace("sheet: 销售日报\n", "")
    files = {"file": ("日报.csv", csv.encode("gb18030"), "text/csv")}
    answer = client.post(URL, files=files, data={"map": column_map}, headers=key("viewer"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (
        body["report"] == "日报.csv" and body["counts"]["matched"] == 4 and body["counts"]["explained"] == 2
    )
    assert {r["cell"] for r in body["rows"] if r["status"] == "explained"} == {"日报!C3", "日报!E3"}
