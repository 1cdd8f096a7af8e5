"""The metric catalogue: every provider's definitions, checked once and sorted by how they compute.

Checks happen when the catalogue is built, so a third-party definition with a typo fails with a
message naming the metric and the problem instead of a database error during a compute:
unknown tables or references, cycles, SKU-level metrics on tables without a ``sku`` column.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sdk import STANDARD_RECORDS, ConfigError, MetricDefinition, MetricProvider

from .expr import names_in, parse

__all__ = ["ADDITIVE", "PERIOD_FUNCTIONS", "Catalogue"]

ADDITIVE = ("sum", "count", "count_distinct")
"""Aggregates kept per shop, SKU and day and summed upwards (count_distinct: per shop-SKU-day)."""

PERIOD_FUNCTIONS = ("previous", "year_ago")
_BUILTINS = {"period_days"}


@dataclass(frozen=True)
class Catalogue:
    """The checked definitions, by metric id, and the provider each came from."""

    metrics: Mapping[str, MetricDefinition]
    providers: Mapping[str, str] = field(default_factory=dict)
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False, compare=False)

    def _cached(self, kind: str, metric_id: str, make: Callable[[], Any]) -> Any:
        key = (kind, metric_id)
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    @property
    def fingerprint(self) -> str:
        """A digest of every definition: statements built from the catalogue are memoized by it."""

        def digest() -> str:
            text = "\n".join(self.metrics[m].model_dump_json() for m in sorted(self.metrics))
            return hashlib.sha256(text.encode()).hexdigest()

        return str(self._cached("fingerprint", "", digest))

    @classmethod
    def from_providers(cls, providers: Iterable[MetricProvider]) -> Catalogue:
        metrics: dict[str, MetricDefinition] = {}
        origin: dict[str, str] = {}
        for provider in providers:
            for definition in provider.definitions():
                if definition.metric_id in metrics:
                    raise ConfigError(
                        f"metric {definition.metric_id!r} is defined by both "
                        f"{origin[definition.metric_id]!r} "
                        f"and {provider.name!r}; a metric id must be unique"
                    )
                metrics[definition.metric_id] = definition
                origin[definition.metric_id] = provider.name
        catalogue = cls(metrics, origin)
        catalogue.check()
        return catalogue

    @classmethod
    def default(cls) -> Catalogue:
        from ..default_plugins.metrics import CatalogueMetrics

        return cls.from_providers([CatalogueMetrics()])

    # -- classification ------------------------------------------------------------------------

    def get(self, metric_id: str) -> MetricDefinition:
        try:
            return self.metrics[metric_id]
        except KeyError:
            known = ", ".join(sorted(m for m, d in self.metrics.items() if d.published))
            raise ConfigError(f"unknown metric {metric_id!r}; known metrics: {known}") from None

    def is_measure(self, metric_id: str) -> bool:
        d = self.metrics[metric_id]
        return d.kind == "simple" and d.aggregate in ADDITIVE

    def is_sample(self, metric_id: str) -> bool:
        d = self.metrics[metric_id]
        return d.kind == "simple" and d.aggregate == "median"

    def is_period_derived(self, metric_id: str) -> bool:
        return bool(self._cached("period", metric_id, lambda: self._is_period_derived(metric_id)))

    def _is_period_derived(self, metric_id: str) -> bool:
        d = self.metrics[metric_id]
        return d.kind == "derived" and any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in PERIOD_FUNCTIONS
            for n in ast.walk(parse(d.expression or ""))
        )

    def refs(self, metric_id: str) -> set[str]:
        """Metric ids a ratio, derived or SKU-count metric refers to (directly)."""
        return set(self._cached("refs", metric_id, lambda: frozenset(self._refs(metric_id))))

    def _refs(self, metric_id: str) -> set[str]:
        d = self.metrics[metric_id]
        texts = [d.numerator, d.denominator] if d.kind == "ratio" else [d.expression]
        if d.kind == "simple":
            return set()
        found: set[str] = set()
        for text in texts:
            if text:
                found |= {n for n in names_in(text) if n not in _BUILTINS}
                found |= _called_args(text)
        return found

    def base_of(self, metric_id: str) -> set[str]:
        """The simple metrics and SKU counts ``metric_id`` is computed from, transitively."""
        return set(self._cached("base", metric_id, lambda: frozenset(self._base_of(metric_id))))

    def _base_of(self, metric_id: str) -> set[str]:
        d = self.metrics[metric_id]
        if d.kind == "simple":
            return {metric_id}
        if d.kind == "sku_count":
            return {metric_id}
        result: set[str] = set()
        for ref in self.refs(metric_id):
            result |= self.base_of(ref)
        return result

    def variant(self, metric_id: str, scope_type: str) -> str:
        """The metric that stands for ``metric_id`` at ``scope_type`` (SKU and category use variants)."""
        d = self.metrics[metric_id]
        if scope_type in ("sku", "category") and d.sku_variant:
            return d.sku_variant
        return metric_id

    def published(self) -> list[str]:
        return [m for m, d in self.metrics.items() if d.published]

    # -- checks --------------------------------------------------------------------------------

    def check(self) -> None:
        for metric_id, d in self.metrics.items():
            self._check_one(metric_id, d)
        for metric_id in self.metrics:
            self._acyclic(metric_id, [])

    def _check_one(self, metric_id: str, d: MetricDefinition) -> None:
        where = f"metric {metric_id!r}"
        if d.kind == "simple":
            if not d.table or not d.aggregate or not d.date:
                raise ConfigError(f"{where}: a simple metric needs table, aggregate and date")
            record = STANDARD_RECORDS.get(d.table)
            if record is None:
                raise ConfigError(
                    f"{where}: unknown table {d.table!r}; known: {', '.join(sorted(STANDARD_RECORDS))}"
                )
            if d.aggregate not in (*ADDITIVE, "median"):
                raise ConfigError(
                    f"{where}: aggregate {d.aggregate!r} is not supported; use sum, count, "
                    "count_distinct or median"
                )
            if d.aggregate in ("sum", "median", "count_distinct") and not d.column:
                raise ConfigError(f"{where}: aggregate {d.aggregate} needs a column")
            if d.level == "sku" and "sku" not in record.model_fields:
                raise ConfigError(
                    f"{where}: level 'sku' needs a table with a sku column, {d.table!r} has none"
                )
            for text in (d.column, d.where, d.date):
                if text:
                    parse(text)
        elif d.kind == "ratio":
            if not d.numerator or not d.denominator:
                raise ConfigError(f"{where}: a ratio metric needs numerator and denominator")
        elif not d.expression:
            raise ConfigError(f"{where}: a {d.kind} metric needs an expression")
        for ref in self.refs(metric_id):
            if ref not in self.metrics:
                raise ConfigError(f"{where} refers to unknown metric {ref!r}")
            if d.kind == "sku_count" and not (self.is_measure(ref) and self.metrics[ref].level == "sku"):
                raise ConfigError(f"{where}: a SKU count can only use SKU-level sums or counts, not {ref!r}")
        if d.kind == "derived" and self.is_period_derived(metric_id):
            refs = self.refs(metric_id)
            if len(refs) != 1 or not self.metrics[next(iter(refs))].published:
                raise ConfigError(
                    f"{where}: previous()/year_ago() expressions must refer to exactly one published metric"
                )
        if d.sku_variant and d.sku_variant not in self.metrics:
            raise ConfigError(f"{where}: sku_variant {d.sku_variant!r} is not a metric")

    def _acyclic(self, metric_id: str, path: list[str]) -> None:
        if metric_id in path:
            raise ConfigError(f"metrics refer to each other in a cycle: {' -> '.join([*path, metric_id])}")
        for ref in self.refs(metric_id):
            self._acyclic(ref, [*path, metric_id])


def _called_args(text: str) -> set[str]:
    return {
        arg.id
        for node in ast.walk(parse(text))
        if isinstance(node, ast.Call)
        for arg in node.args
        if isinstance(arg, ast.Name)
    }
