"""Scorecards against an independent computation; bad templates refused; adjustments and guardrails."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from hub.connections import ensure_tenant
from hub.kpi.guardrails import DEFAULT_PAIRS, check_pair
from hub.kpi.scorecards import adjust, save_template, score, scorecard_rows
from hub.kpi.targets import set_target
from hub.store.tables import audit_log, standard_tables
from sdk import ConfigError

APRIL, MARCH = dt.date(2026, 4, 1), dt.date(2026, 3, 1)
DIRECTIONS = {
    "roas": "higher_is_better",
    "net_sales": "higher_is_better",
    "refund_rate": "lower_is_better",
    "acos": "lower_is_better",
    "response_minutes": "lower_is_better",
    "ctr": "higher_is_better",
}
OPERATIONS = {
    "template_id": "operations",
    "role": "operations",
    "metrics": [
        {"metric_id": "roas", "weight": 30, "floor": 0.5, "cap": 1.2},
        {"metric_id": "sales_attainment", "weight": 30, "floor": 0.6, "cap": 1.5},
        {"metric_id": "refund_rate", "weight": 20},
        {"metric_id": "acos", "weight": 20, "cap": 1.3},
    ],
}

# The point of these tests does not depend on the database: one is enough.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def independent_card(template, actual, target, adjustments=()):
    """The scorecard of one person, computed from first principles for the test."""
    rows, weighted, weights = {}, 0.0, 0.0
    for m in template["metrics"]:
        metric = "net_sales" if m["metric_id"] == "sales_attainment" else m["metric_id"]
        a, t = actual.get(metric), target.get(metric)
        if a is None or not t:
            att = None
        elif DIRECTIONS[metric] == "lower_is_better":
            att = 2 - a / t
        else:
            att = a / t
        floor, cap = m.get("floor", 0.0), m.get("cap", 1.2)
        points = None if att is None else (0.0 if att < floor else min(att, cap) * 100)
        weight = float(m["weight"])
        for kind, metric_id, new_weight in adjustments:
            if metric_id == m["metric_id"]:
                weight, points = (new_weight, points) if kind == "reweight" else (0.0, None)
        rows[m["metric_id"]] = (att, points, weight)
        if points is not None and weight > 0:
            weighted, weights = weighted + weight * points, weights + weight
    return rows, (weighted / weights if weights else None)


@pytest.fixture
def office(store, metrics, facts):
    """Eight operations people with random actuals and targets (some missing), one service person."""
    rnd = random.Random(5)
    people = [f"P{i}" for i in range(8)]
    actual, target = {}, {}
    with store.begin() as conn:
        tid = ensure_tenant(conn, "default")
        metrics(
            conn,
            [
                {"metric_id": m, "kind": "ratio", "unit": "ratio", "direction": d}
                for m, d in DIRECTIONS.items()
            ],
        )
        staff = standard_tables["staff"]
        now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
        conn.execute(
            staff.insert(),
            [
                {"tenant_id": tid, "staff_id": p, "name": p, "role": "operations", "ingested_at": now}
                for p in people
            ]
            + [{"tenant_id": tid, "staff_id": "C1", "name": "C1", "role": "service", "ingested_at": now}],
        )
        rows = []
        for p in people:
            actual[p] = {
                "roas": rnd.uniform(0.5, 5),
                "net_sales": rnd.uniform(10_000, 200_000),
                "refund_rate": rnd.uniform(0, 0.1),
                "acos": rnd.uniform(0.1, 0.6),
            }
            if p == "P3":
                del actual[p]["refund_rate"]  # no value computed: not scored
            target[p] = {"roas": 3.0, "net_sales": float(rnd.randint(50, 150) * 1000), "refund_rate": 0.05}
            if p != "P5":
                target[p]["acos"] = 0.35  # P5 has no ACoS target: "not configured"
            for metric, value in actual[p].items():
                rows.append(
                    {
                        "metric_id": metric,
                        "grain": "month",
                        "period_start": APRIL,
                        "scope_type": "person",
                        "scope_id": p,
                        "value": value,
                    }
                )
        # P1 cut ACoS by a third while impressions (CTR's denominator) halved; P2 cut it and kept them.
        rows += [
            {
                "metric_id": "acos",
                "grain": "month",
                "period_start": MARCH,
                "scope_type": "person",
                "scope_id": "P1",
                "value": actual["P1"]["acos"] * 1.5,
            },
            {
                "metric_id": "ctr",
                "grain": "month",
                "period_start": MARCH,
                "scope_type": "person",
                "scope_id": "P1",
                "value": 0.01,
                "numerator": 1000.0,
                "denominator": 100_000.0,
            },
            {
                "metric_id": "ctr",
                "grain": "month",
                "period_start": APRIL,
                "scope_type": "person",
                "scope_id": "P1",
                "value": 0.01,
                "numerator": 500.0,
                "denominator": 50_000.0,
            },
            {
                "metric_id": "acos",
                "grain": "month",
                "period_start": MARCH,
                "scope_type": "person",
                "scope_id": "P2",
                "value": actual["P2"]["acos"] * 1.5,
            },
            {
                "metric_id": "ctr",
                "grain": "month",
                "period_start": MARCH,
                "scope_type": "person",
                "scope_id": "P2",
                "value": 0.01,
                "numerator": 1000.0,
                "denominator": 100_000.0,
            },
            {
                "metric_id": "ctr",
                "grain": "month",
                "period_start": APRIL,
                "scope_type": "person",
                "scope_id": "P2",
                "value": 0.01,
                "numerator": 990.0,
                "denominator": 99_000.0,
            },
        ]
        facts(conn, tid, rows)
    for p in people:
        for metric, value in target[p].items():
            set_target(
                store,
                metric_id=metric,
                grain="month",
                period="2026-04",
                scope_type="person",
                scope_id=p,
                value=f"{value:.4f}",
            )
    return people, actual, target


def test_scores_equal_an_independent_computation(store, office):
    people, actual, target = office
    _template, warnings = save_template(store, OPERATIONS)
    assert warnings == []
    rows = score(store, grain="month", period="2026-04")
    assert {r.subject_id for r in rows} == set(people)  # C1 is service: no operations card
    published = scorecard_rows(store, grain="month", period="2026-04")
    assert len(published) == len(rows) == 4 * len(people)
    for p in people:
        expected, total = independent_card(OPERATIONS, actual[p], target[p])
        mine = {r["metric_id"]: r for r in published if r["subject_id"] == p}
        for metric, (att, points, weight) in expected.items():
            row = mine[metric]
            assert row["attainment"] == pytest.approx(att) if att is not None else row["attainment"] is None
            if p == "P1" and metric == "acos":
                # Flagged by its guardrail: no praise above target.
                assert row["guardrail"].startswith(
                    "acos improved (-33.3%) at the cost of impressions (-50.0%)"
                )
                assert row["score"] == pytest.approx(min(points, 100.0))
                continue
            assert row["guardrail"] is None
            assert row["score"] == pytest.approx(points) if points is not None else row["score"] is None
            assert row["weight"] == weight
        if p == "P1":
            capped = {m: (min(pt, 100.0) if m == "acos" else pt, w) for m, (_, pt, w) in expected.items()}
            total = sum(w * pt for pt, w in capped.values() if pt is not None) / sum(
                w for pt, w in capped.values() if pt is not None
            )
        assert mine["roas"]["total_score"] == pytest.approx(total)
        assert {r["total_score"] for r in mine.values()} == {mine["roas"]["total_score"]}
    p5 = {r["metric_id"]: r for r in published if r["subject_id"] == "P5"}
    assert p5["acos"]["attainment"] is None and p5["acos"]["score"] is None  # not configured, not 0

    # Scoring again with nothing new rewrites nothing: sinks see no change.
    score(store, grain="month", period="2026-04")
    assert scorecard_rows(store, grain="month", period="2026-04") == published


@SQLITE_ONLY
def test_adjustments_reweight_or_exempt_are_visible_and_audited(store, office, table_rows):
    _people, actual, target = office
    save_template(store, OPERATIONS)
    adjust(
        store,
        subject_type="person",
        subject_id="P4",
        grain="month",
        period="2026-04",
        kind="reweight",
        metric_id="roas",
        weight=10,
        reason="ad account suspended for 9 days",
    )
    adjust(
        store,
        subject_type="person",
        subject_id="P6",
        grain="month",
        period="2026-04",
        kind="exempt",
        metric_id="refund_rate",
        reason="carrier strike",
    )
    adjust(
        store,
        subject_type="person",
        subject_id="P7",
        grain="month",
        period="2026-04",
        kind="exempt",
        reason="parental leave",
    )
    score(store, grain="month", period="2026-04")
    published = scorecard_rows(store, grain="month", period="2026-04")
    card = {(r["subject_id"], r["metric_id"]): r for r in published}
    total = independent_card(OPERATIONS, actual["P4"], target["P4"], [("reweight", "roas", 10.0)])[1]
    assert card[("P4", "roas")]["weight"] == 10
    assert card[("P4", "roas")]["adjusted"] is True
    assert card[("P4", "roas")]["adjustment_reason"] == "reweighted to 10: ad account suspended for 9 days"
    assert card[("P4", "acos")]["total_score"] == pytest.approx(total)
    assert card[("P4", "acos")]["adjusted"] is False
    total = independent_card(OPERATIONS, actual["P6"], target["P6"], [("exempt", "refund_rate", 0)])[1]
    assert card[("P6", "refund_rate")]["score"] is None
    assert card[("P6", "refund_rate")]["adjustment_reason"] == "exempt: carrier strike"
    assert card[("P6", "roas")]["total_score"] == pytest.approx(total)
    assert all(card[("P7", m["metric_id"])]["total_score"] is None for m in OPERATIONS["metrics"])
    assert all(
        card[("P7", m["metric_id"])]["adjustment_reason"] == "exempt: parental leave"
        for m in OPERATIONS["metrics"]
    )
    actions = [r["action"] for r in table_rows(store, audit_log)]
    assert actions.count("scorecard.reweight") == 1 and actions.count("scorecard.exempt") == 2
    with pytest.raises(ConfigError, match="give a reason"):
        adjust(
            store,
            subject_type="person",
            subject_id="P1",
            grain="month",
            period="2026-04",
            kind="exempt",
            reason="  ",
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"metrics": [{"metric_id": "roas", "weight": 60}, {"metric_id": "acos", "weight": 30}]},
            "weights add up to 90, not 100",
        ),
        (
            {"metrics": [{"metric_id": "roas", "weight": 50}, {"metric_id": "roas", "weight": 50}]},
            "metrics appear more than once: roas",
        ),
        (
            {"metrics": [{"metric_id": "roas", "weight": 100, "floor": 1.5, "cap": 1.2}]},
            "floor 1.5 must be below cap 1.2",
        ),
        ({"metrics": []}, "metrics: List should have at least 1 item"),
        (
            {"metrics": [{"metric_id": "roas", "weight": -10}, {"metric_id": "acos", "weight": 110}]},
            "weight: Input should be greater than 0",
        ),
        (
            {"metrics": [{"metric_id": "roas", "weight": 100, "bonus": 1}]},
            "bonus: Extra inputs are not permitted",
        ),
        ({"metrics": [{"metric_id": "made_up", "weight": 100}]}, "unknown metrics made_up"),
        ({"template_id": "Ops Team!"}, "template_id: String should match pattern"),
    ],
)
def test_bad_templates_are_refused_clearly(lite_store, change, message):
    with pytest.raises(ConfigError, match=message):
        save_template(lite_store, {**OPERATIONS, **change}, known_metrics=list(DIRECTIONS))


def test_template_size_warnings(lite_store):
    eight = [{"metric_id": f"m{i}", "weight": 12.5} for i in range(8)]
    _, warnings = save_template(lite_store, {**OPERATIONS, "metrics": eight})
    assert warnings == ["8 metrics: more than 7 dilutes attention; 3 to 5 are recommended"]
    two = [{"metric_id": "roas", "weight": 50}, {"metric_id": "acos", "weight": 50}]
    _, warnings = save_template(lite_store, {**OPERATIONS, "metrics": two})
    assert warnings == ["2 metrics: 3 to 5 are recommended"]


def test_guardrail_flags_only_a_costly_improvement():
    acos = DEFAULT_PAIRS[0]
    # ACoS fell 10 % while impressions fell 30 %: flagged.
    assert check_pair(acos, "lower_is_better", (0.27, 0.30), (70_000, 100_000)) is not None
    # ACoS fell 40 % while impressions fell 15 %: an honest gain.
    assert check_pair(acos, "lower_is_better", (0.18, 0.30), (85_000, 100_000)) is None
    # ACoS rose: nothing to praise, nothing to flag.
    assert check_pair(acos, "lower_is_better", (0.40, 0.30), (50_000, 100_000)) is None
    # Within the tolerance, or without a previous value: no flag.
    assert check_pair(acos, "lower_is_better", (0.297, 0.30), (96_000, 100_000)) is None
    assert check_pair(acos, "lower_is_better", (0.2, None), (50_000, 100_000)) is None
