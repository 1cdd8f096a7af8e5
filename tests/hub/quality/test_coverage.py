"""``low_coverage``: KPI values the engine published as unknown, below the tenant's min_coverage.

Written against ``kpi_fact.coverage`` and ``kpi_fact.unknown_reason`` and the counting-basis
option ``min_coverage``, which the KPI engine adds; until it does, the check reports itself
unavailable and these tests are skipped.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from quality_world import NOW

from hub.connections import ensure_tenant
from hub.kpi import CountingBasis, set_counting_basis
from hub.quality import Finding, run_checks
from hub.store.kpi_tables import kpi_fact

READY = (
    "coverage" in kpi_fact.c
    and "unknown_reason" in kpi_fact.c
    and "min_coverage" in CountingBasis.model_fields
)
pytestmark = pytest.mark.skipif(
    not READY, reason="kpi_fact.coverage / unknown_reason and the min_coverage basis option are not there yet"
)

FIX = (
    "complete the inputs the other findings name (exchange rates, costs, fees, quarantined records), then "
    "`kpihub compute`; or accept less with the counting-basis option min_coverage (`kpihub basis set "
    "min_coverage=0.95`)"
)


def _fact(metric, scope_type, scope_id, coverage, *, day=1, platform=None, shop_id=None, reason=None):
    return {
        "metric_id": metric,
        "grain": "day",
        "period_start": dt.date(2026, 3, day),
        "scope_type": scope_type,
        "scope_id": scope_id,
        "platform": platform,
        "shop_id": shop_id,
        "value": None if reason else Decimal("1"),
        "unit": "ratio",
        "basis_version": 1,
        "computed_at": NOW,
        "contract_version": "1.0",
        "coverage": None if coverage is None else Decimal(coverage),
        "unknown_reason": reason,
    }


def _seed(store):
    shop = {"platform": "amazon", "shop_id": "A1"}
    with store.begin() as conn:
        tid = ensure_tenant(conn, "default")
        rows = [
            _fact(
                "gross_margin", "shop", "amazon:A1", "0.75", reason="COGS unknown for 1 of 4 lines", **shop
            ),
            _fact(
                "gross_margin",
                "shop",
                "amazon:A1",
                "0.5",
                day=2,
                reason="COGS unknown for 2 of 4 lines",
                **shop,
            ),
            _fact("gmv", "shop", "amazon:A1", "0.96", reason="1 order of 25 has no EUR rate", **shop),
            # Complete, or with no input rows at all: nothing to find.
            _fact("gmv", "shop", "amazon:A1", "1", day=2, **shop),
            _fact("orders", "shop", "amazon:A1", None, day=3, **shop),
            _fact("gmv", "shop", "shopee:S1", "1", platform="shopee", shop_id="S1"),
            # A total over several shops.
            _fact("gmv", "tenant", "default", "0.9", reason="2 orders of 20 have no EUR rate"),
        ]
        conn.execute(kpi_fact.insert(), [{"tenant_id": tid, **row} for row in rows])
    return tid


def test_values_below_min_coverage_per_shop_and_for_totals(store):
    _seed(store)
    found = run_checks(store, "default", checks=["low_coverage"], now=NOW)
    assert found.unavailable == {}
    assert found.findings == [
        Finding(
            check="low_coverage",
            severity="error",
            count=1,
            summary="1 KPI value over several shops (gmv) had fewer than 100% of its inputs complete and "
            "is published without a value",
            example="gmv day 2026-03-01 tenant:default: coverage 90.0%: 2 orders of 20 have no EUR rate",
            fix=FIX,
            details={"values": {"gmv": 1}, "min_coverage": 1.0},
            scope="aggregate",
            scope_id=None,
        ),
        Finding(
            check="low_coverage",
            severity="error",
            count=3,
            summary="3 KPI values of shop amazon:A1 (gross_margin, gmv) had fewer than 100% of their "
            "inputs complete and are published without a value",
            example="gross_margin day 2026-03-02 shop:amazon:A1: coverage 50.0%: COGS unknown for 2 of 4 "
            "lines",
            fix=FIX,
            details={"values": {"gross_margin": 2, "gmv": 1}, "min_coverage": 1.0},
            scope="shop",
            scope_id="amazon:A1",
        ),
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_tenants_min_coverage_is_the_threshold(store):
    tid = _seed(store)
    with store.begin() as conn:
        set_counting_basis(conn, tid, {"min_coverage": 0.8}, actor="test")
    [shop] = run_checks(store, "default", checks=["low_coverage"], now=NOW).findings
    # 0.75 and 0.5 are below 0.8; 0.96 and 0.9 are not.
    assert (shop.scope_id, shop.count, shop.details["values"]) == ("amazon:A1", 2, {"gross_margin": 2})
    assert "fewer than 80% of their inputs" in shop.summary
