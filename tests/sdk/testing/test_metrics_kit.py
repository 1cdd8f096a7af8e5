"""The metrics kit passes a provider whose definitions compile in the KPI engine and fails one
whose do not, saying what is wrong."""

from __future__ import annotations

import pytest

from hub.testing import HubMetricCompiler, kpihub_metric_compiler  # noqa: F401 - the kit's fixture
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


class MarketplaceMetrics(MetricProvider):
    """Builds on the hub's catalogue (``gmv``, ``orders``) and on its own simple metrics."""

    name = "kit_marketplace"

    def definitions(self):
        return [
            _metric("kit_shipping", "simple", table="orders", column="shipping_fee", aggregate="sum",
                    where="status != 'cancelled'", date="created_at", amount=True),
            _metric("kit_shipping_share", "ratio", numerator="kit_shipping", denominator="gmv", unit="ratio",
                    direction="neutral"),
            _metric("kit_goods_sales", "derived", expression="gmv - kit_shipping"),
        ]  # fmt: skip


class TestMarketplaceMetricsContract(MetricsKit):
    provider = MarketplaceMetrics()


def _provider(*definitions, name="kit_broken"):
    return type("Broken", (MetricProvider,), {"name": name, "definitions": lambda self: list(definitions)})()


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (_metric("kit_a", "simple", table="order", column="gross_amount", aggregate="sum", date="created_at"),
         "metric 'kit_a': unknown table 'order'"),
        (_metric("kit_b", "simple", table="orders", column="gross_amount", aggregate="sum"),
         "metric 'kit_b': a simple metric needs table, aggregate and date"),
        (_metric("kit_c", "ratio", numerator="gmv", denominator="kit_nothing"),
         "metric 'kit_c' refers to unknown metric 'kit_nothing'"),
        (_metric("kit_d", "derived", expression="kit_d * 2"),
         "metrics refer to each other in a cycle: kit_d -> kit_d"),
        (_metric("gmv", "derived", expression="orders * 2"),
         "metric 'gmv' is defined by both 'kit_broken' and 'kpihub'"),
    ],
)  # fmt: skip
def test_the_engine_check_names_the_metric_and_the_problem(definition, message):
    problems = HubMetricCompiler().problems([_provider(definition)])
    assert len(problems) == 1 and message in problems[0], problems


def test_declarations_the_sdk_can_judge():
    broken = _provider(
        _metric("kit_x", "simple", table="orders", aggregate="count", date="created_at", unit=" "),
        _metric("kit_x", "derived", expression="gmv", name_zh=" "),
        name="",
    )
    problems = "\n".join(definition_problems(broken))
    assert "set the class attribute `name`" in problems
    assert "metric_id 'kit_x' is defined twice" in problems
    assert "metric 'kit_x': declare its unit" in problems
    assert "metric 'kit_x': give it name_en, name_zh and a formula" in problems
    assert definition_problems(MarketplaceMetrics()) == []
