"""The metrics kit passes a provider whose definitions compile and fails one whose do not."""

from __future__ import annotations

from sdk import MetricDefinition, MetricProvider
from sdk.testing import MetricsKit, definition_problems


def _metric(metric_id, kind, **fields):
    base = {
        "metric_id": metric_id,
        "name_en": metric_id.upper(),
        "name_zh": "指标",
        "family": "sales",
        "kind": kind,
        "unit": "currency",
        "direction": "higher_is_better",
        "formula": metric_id,
    }
    return MetricDefinition(**{**base, **fields})


class SalesMetrics(MetricProvider):
    name = "kit_sales"

    def definitions(self):
        return [
            _metric("kit_gmv", "simple", table="orders", column="gross_amount", aggregate="sum",
                    filters={"status": ["paid", "shipped", "delivered"]}),
            _metric("kit_orders", "simple", table="orders", aggregate="count", unit="count"),
            _metric("kit_aov", "ratio", numerator="kit_gmv", denominator="kit_orders"),
            _metric("kit_gmv_less_refunds", "derived", expression="kit_gmv - refunds_amount"),
        ]  # fmt: skip


class BrokenMetrics(MetricProvider):
    name = "kit_broken"

    def definitions(self):
        return [
            _metric("kit_a", "simple", table="order", column="gross_amount", aggregate="sum"),
            _metric("kit_b", "simple", table="orders", column="status", aggregate="sum", unit=" "),
            _metric("kit_c", "ratio", numerator="kit_b"),
            _metric("kit_d", "derived", expression="kit_e * 2"),
            _metric("kit_e", "derived", expression="kit_d + __import__('os')"),
            _metric("kit_f", "simple", table="orders", column="gross_amount", aggregate="sum",
                    filters={"state": "paid"}),
        ]  # fmt: skip


class TestSalesMetricsContract(MetricsKit):
    provider = SalesMetrics()
    known_metrics = frozenset({"refunds_amount"})


def test_metrics_kit_names_every_problem_of_a_broken_provider():
    problems = "\n".join(definition_problems(BrokenMetrics()))
    for expected in [
        "metric 'kit_a': table 'order' is not a standard table",
        "metric 'kit_b': declare its unit",
        "metric 'kit_b': sum of orders.status, which is not numeric",
        "metric 'kit_c': a ratio needs denominator",
        "metric 'kit_e': expression \"kit_d + __import__('os')\" may use only + - * / and metric ids",
        "metric 'kit_d' depends on itself",
        "metric 'kit_f': filter column 'state' is not a column of orders",
    ]:
        assert expected in problems, f"missing {expected!r} in:\n{problems}"
    assert "kit_gmv" not in problems


def test_a_good_provider_has_no_problem():
    assert definition_problems(SalesMetrics(), {"refunds_amount"}) == []
    assert "'refunds_amount' in its expression is not a known metric id" in "\n".join(
        definition_problems(SalesMetrics())
    )
