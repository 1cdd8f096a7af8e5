"""The hub's pytest plugin for plugin authors: the engines the SDK's test kit needs.

The kit lives in ``sdk.testing`` and the SDK imports nothing of the hub's, yet checking that a
stream's records map to valid standard rows needs the hub's mapping engine, and checking that
metric definitions compile needs the KPI engine's catalogue. So the hub lends both through
fixtures, ``kpihub_mapper`` and ``kpihub_metric_compiler``, instead of the SDK growing second
engines that could disagree with the real ones. Load them from the ``conftest.py`` at the root
of a plugin's tests::

    pytest_plugins = ["hub.testing"]

The mapper compiles each stream's default mapping as a sync does (the connection's and the
partitions' defaults count as provided) and derives rows with the sync engine's own ``derive``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from sdk import ConfigError, MappingError, MetricProvider, RawRecord, Stream

from .mapping import CompiledMapping, compile_mapping
from .mapping_versions import provided_fields
from .sync.landing import derive

__all__ = ["HubMapper", "HubMetricCompiler", "kpihub_mapper", "kpihub_metric_compiler"]


class HubMapper:
    """Maps raw records with each stream's default mapping, compiled once per stream object."""

    def __init__(self) -> None:
        self._compiled: dict[int, tuple[Stream, CompiledMapping]] = {}

    def compiled(self, stream: Stream) -> CompiledMapping:
        held = self._compiled.get(id(stream))
        if held is None or held[0] is not stream:
            try:
                mapping = compile_mapping(stream.mapping(), provided=provided_fields(stream))
            except MappingError as exc:
                raise MappingError(
                    f"the default mapping of stream {stream.name!r} is invalid: {exc}", exc.problems
                ) from None
            held = self._compiled[id(stream)] = (stream, mapping)
        return held[1]

    def map(
        self, stream: Stream, raw: RawRecord, defaults: Mapping[str, Any]
    ) -> list[tuple[str, dict[str, Any]]]:
        derived = derive(self.compiled(stream), raw, dict(defaults))
        if derived.error is not None:
            raise MappingError(derived.error)
        return derived.rows


@pytest.fixture(scope="session")
def kpihub_mapper() -> HubMapper:
    """The hub's mapping engine, for ``sdk.testing.SourceKit``."""
    return HubMapper()


class HubMetricCompiler:
    """Builds the KPI engine's catalogue from providers, with its checks, as the engine does."""

    def problems(self, providers: Sequence[MetricProvider]) -> list[str]:
        from .default_plugins.metrics import CatalogueMetrics
        from .kpi.catalogue import Catalogue

        listed = list(providers)
        # Third-party ratios and derived metrics may build on the hub's own catalogue.
        if not any(isinstance(p, CatalogueMetrics) for p in listed):
            listed.append(CatalogueMetrics())
        try:
            Catalogue.from_providers(listed)
        except ConfigError as exc:
            return [str(exc)]
        return []


@pytest.fixture(scope="session")
def kpihub_metric_compiler() -> HubMetricCompiler:
    """The KPI engine's definition check, for ``sdk.testing.MetricsKit``."""
    return HubMetricCompiler()
