"""The contract test kit: pytest base classes every plugin runs against itself.

- ``SourceKit`` (with a ``KitCase``): options, secrets, ``check``, mapping to the standard
  model, keys, incremental state, resume after a crash, retries and token refresh through the
  SDK, no secret in logs.
- ``SinkKit``: push, idempotent re-push, full replace, an added column.
- ``MetricsKit``: definitions that compile in the KPI engine, with units and directions.

The source kit maps records with the hub's mapping engine and the metrics kit compiles with
the hub's KPI catalogue; the hub lends both as fixtures (``kpihub_mapper``,
``kpihub_metric_compiler``) from its pytest plugin: add ``pytest_plugins = ["hub.testing"]``
to the root ``conftest.py`` of your tests. This package imports pytest, so nothing in the
SDK's runtime imports it.
"""

from __future__ import annotations

from .case import KitCase
from .metrics_kit import MetricCompiler, MetricsKit, definition_problems
from .runner import KitRunner, RecordMapper, RunOutcome
from .sink_kit import SinkKit
from .source_checks import (
    SECRET_NAME,
    check_problems,
    credential_spec_problems,
    leaked_secrets,
    option_problems,
    run_problems,
    table_differences,
)
from .source_kit import SourceKit, verdict

__all__ = [
    "SECRET_NAME",
    "KitCase",
    "KitRunner",
    "MetricCompiler",
    "MetricsKit",
    "RecordMapper",
    "RunOutcome",
    "SinkKit",
    "SourceKit",
    "check_problems",
    "credential_spec_problems",
    "definition_problems",
    "leaked_secrets",
    "option_problems",
    "run_problems",
    "table_differences",
    "verdict",
]
