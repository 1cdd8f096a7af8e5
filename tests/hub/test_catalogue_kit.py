"""The hub's default metric provider (the KPI catalogue) passes the SDK's metrics kit."""

from __future__ import annotations

from hub.default_plugins.metrics import CatalogueMetrics
from hub.testing import kpihub_metric_compiler  # noqa: F401 - the fixture the kit compiles with
from sdk.testing import MetricsKit


class TestCatalogueContract(MetricsKit):
    provider = CatalogueMetrics()
