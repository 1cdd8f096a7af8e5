"""``MetricsKit``: the contract tests every metric provider passes.

Two kinds of checks:

- what the SDK itself can judge: definitions are ``MetricDefinition`` objects with unique ids,
  readable names and formula, a declared unit and direction, and simple metrics name a standard
  table (``definition_problems``);
- whether the definitions *compile*: only the KPI engine knows its expression language
  (counting-basis options, ``previous()``, SKU counts …), so the hub lends its catalogue check
  through the fixture ``kpihub_metric_compiler`` of ``hub.testing``, as it lends its mapping
  engine to the source kit. A provider's metrics are compiled together with the hub's own
  catalogue, which third-party ratios and derived metrics may build on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol

import pytest

from ..metrics import MetricDefinition, MetricProvider
from ..records import STANDARD_RECORDS
from .source_kit import lent, verdict

__all__ = ["MetricCompiler", "MetricsKit", "definition_problems"]


class MetricCompiler(Protocol):
    """Compiles providers' definitions as the KPI engine does; returns what keeps them from it."""

    def problems(self, providers: Sequence[MetricProvider]) -> list[str]: ...


def definition_problems(provider: MetricProvider) -> list[str]:
    """What the SDK alone can see is wrong with ``provider``'s definitions."""
    label = f"metric provider {getattr(provider, 'name', type(provider).__name__)!r}"
    problems: list[str] = []
    if not isinstance(getattr(provider, "name", None), str) or not provider.name:
        problems.append(f"{label}: set the class attribute `name`")
    definitions = provider.definitions()
    if not definitions:
        return [*problems, f"{label} defines no metric: return MetricDefinition objects from definitions()"]
    wrong = [d for d in definitions if not isinstance(d, MetricDefinition)]
    if wrong:
        return [
            *problems,
            f"{label}: definitions() must return sdk.MetricDefinition objects, not {wrong[:3]!r}",
        ]
    ids = [d.metric_id for d in definitions]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    problems += [f"{label}: metric_id {i!r} is defined twice" for i in twice]
    for d in definitions:
        where = f"{label}, metric {d.metric_id!r}"
        if not d.unit.strip():
            problems.append(f"{where}: declare its unit (e.g. 'currency', 'ratio', 'count', 'hours')")
        if not (d.name_en.strip() and d.name_zh.strip() and d.formula.strip()):
            problems.append(f"{where}: give it name_en, name_zh and a formula a user can read")
        if d.kind == "simple" and d.table not in STANDARD_RECORDS:
            problems.append(
                f"{where}: table {d.table!r} is not a standard table; known: {sorted(STANDARD_RECORDS)}"
            )
    return problems


class MetricsKit:
    """Contract tests for a metric provider: set ``provider`` (an instance).

    ``other_providers`` are compiled alongside it (the hub's own catalogue always is), for
    metrics that refer to another plugin's.
    """

    provider: ClassVar[MetricProvider]
    other_providers: ClassVar[tuple[MetricProvider, ...]] = ()

    def test_definitions_compile(self, request: pytest.FixtureRequest) -> None:
        compiler: MetricCompiler = lent(request, "kpihub_metric_compiler")
        verdict(compiler.problems([self.provider, *self.other_providers]), "metric definitions")

    def test_units_directions_and_names_are_declared(self) -> None:
        verdict(definition_problems(self.provider), "metric declarations")
