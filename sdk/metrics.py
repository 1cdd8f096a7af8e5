"""Base class for metric providers: the KPI definitions the engine computes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MetricDefinition", "MetricProvider"]


class MetricDefinition(BaseModel):
    """One KPI, described as data so the engine can compile it to SQL.

    ``kind`` says how it is computed: ``simple`` aggregates ``column`` of ``table`` with
    ``aggregate`` and ``filters``; ``ratio`` divides the aggregate of ``numerator`` by that of
    ``denominator`` (both metric ids), aggregated first at the grain asked for; ``derived``
    evaluates ``expression`` over other metric ids.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric_id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_en: str
    name_zh: str
    family: Literal["sales", "ads", "inventory", "logistics", "after_sales", "service", "process"]
    kind: Literal["simple", "ratio", "derived"]
    unit: str
    direction: Literal["higher_is_better", "lower_is_better", "neutral"]
    formula: str
    table: str | None = None
    column: str | None = None
    aggregate: Literal["sum", "count", "count_distinct", "avg", "median", "max", "min"] | None = None
    filters: dict[str, str | list[str]] = Field(default_factory=dict)
    numerator: str | None = None
    denominator: str | None = None
    expression: str | None = None


class MetricProvider(ABC):
    """A family of KPI definitions registered through ``register_metric_providers``."""

    name: ClassVar[str]
    version: ClassVar[str] = "0"

    @abstractmethod
    def definitions(self) -> list[MetricDefinition]:
        """Every metric this provider defines. Called once when the engine is built."""
