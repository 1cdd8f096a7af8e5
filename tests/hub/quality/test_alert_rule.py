"""The ``data_quality`` alert rule: more than ``threshold`` of one check's findings raise an alert."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from quality_world import NOW, insert, seed_gaps

from hub.kpi.alerts import add_rule, evaluate_alerts, list_alerts, list_rules
from sdk import ConfigError

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE
def test_a_rule_fires_on_missing_rates_and_resolves_when_they_are_added(hub):
    store, vault = hub.ready_store, hub.vault
    tid = seed_gaps(store)
    add_rule(
        store,
        vault,
        {
            "name": "fx-gaps",
            "kind": "data_quality",
            "check": "missing_fx",
            "threshold": 0,
            "severity": "critical",
        },
    )
    # EUR lacks 3 days and SGD 1: 4, which is not more than 4.
    add_rule(
        store, vault, {"name": "many-fx-gaps", "kind": "data_quality", "check": "missing_fx", "threshold": 4}
    )

    [alert] = evaluate_alerts(store, vault, now=NOW)
    assert (alert.rule, alert.scope_type, alert.scope_id, alert.value, alert.severity) == (
        "fx-gaps",
        "check",
        "missing_fx",
        4.0,
        "critical",
    )
    assert (
        alert.message
        == "data-quality check missing_fx counts 4 (limit 0); see `kpihub check --only missing_fx`"
    )
    # Still in breach: the open alert stands, nothing new is raised.
    assert evaluate_alerts(store, vault, now=NOW + dt.timedelta(minutes=1)) == []

    days = [(dt.date(2026, 3, 5), "SGD"), (dt.date(2026, 3, 12), "EUR")]
    days += [(dt.date(2026, 3, 21), "EUR"), (dt.date(2026, 4, 2), "EUR")]
    with store.begin() as conn:
        rates = [{"date": d, "currency": c, "base_currency": "USD", "rate": Decimal("1.1")} for d, c in days]
        insert(conn, "fx_rates", tid, rates)
    assert evaluate_alerts(store, vault, now=NOW + dt.timedelta(minutes=2)) == []
    [row] = list_alerts(store)
    assert (row["rule"], row["status"], row["metric_id"], row["grain"]) == ("fx-gaps", "resolved", None, None)


@SQLITE
def test_a_rule_names_one_known_check_and_reads_back_as_written(hub):
    store, vault = hub.ready_store, hub.vault
    add_rule(
        store,
        vault,
        {"name": "stock", "kind": "data_quality", "check": "stock_without_cost", "threshold": 10},
    )
    [shown] = list_rules(store, vault)
    assert (shown["kind"], shown["check"], shown["metric_id"], shown["threshold"]) == (
        "data_quality",
        "stock_without_cost",
        None,
        10.0,
    )
    for rule, why in [
        ({}, "names a check: one of missing_fx, missing_cost"),
        ({"check": "nope"}, "names a check: one of missing_fx"),
        ({"check": "missing_fx", "scope_id": "amazon:A1"}, "watches the whole tenant"),
        ({"check": "missing_fx", "metric_id": "gmv"}, "watches the whole tenant"),
        ({"check": "missing_fx", "threshold": -1}, "threshold must be 0 or more"),
    ]:
        with pytest.raises(ConfigError, match=why):
            add_rule(store, vault, {"name": "bad", "kind": "data_quality", "threshold": 0, **rule})
    with pytest.raises(ConfigError, match="check belongs to data_quality rules only"):
        add_rule(store, vault, {"name": "bad", "kind": "stale_data", "threshold": 5, "check": "missing_fx"})
    assert [r["name"] for r in list_rules(store, vault)] == ["stock"]
