"""Base class for metric providers: the KPI definitions the engine computes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MetricDefinition", "MetricProvider"]


class MetricDefinition(BaseModel):
    """One KPI, described as data so the engine can compile it to SQL.

    ``kind`` says how it is computed:

    - ``simple`` aggregates ``column`` of ``table`` with ``aggregate`` over the rows that pass
      ``filters`` (column equals a value or is in a list) and ``where``; the row is dated by
      ``date``. ``column``, ``where`` and ``date`` are small expressions (Python syntax:
      arithmetic, comparisons, ``and``/``or``/``not``, ``x if cond else y``, ``is None``) over the
      table's columns, the columns of the row's order as ``order.<column>`` (tables with an
      ``order_id``), the SKU's current unit cost as ``cost.unit_cost`` / ``cost.currency`` and
      the tenant's counting basis as ``basis.<option>``. ``amount`` converts ``column`` from the
      ``currency`` expression into the tenant's base currency. ``level="sku"`` keeps the value
      per SKU too (the table needs a ``sku`` column), so it can be cut by SKU and category.
    - ``ratio`` divides ``numerator`` by ``denominator``, each an expression over metric ids,
      both aggregated first at the grain asked for; a zero denominator gives no value.
    - ``derived`` evaluates ``expression`` over metric ids, ``basis.<option>``, ``period_days``
      and ``previous(metric)`` / ``year_ago(metric)`` (the same scope's value one period or one
      year earlier).
    - ``sku_count`` counts the SKUs of the scope for which the condition ``expression`` (over
      sku-level metric ids) holds in the period.

    A simple metric's row counts as *known* when its ``column`` is not null (an unknown cost
    or fee is null), its amount has an exchange rate into the base currency on its day, and
    its ``known`` condition, if any, holds (e.g. ``promised_delivery_at is not None`` where a
    platform reports no delivery dates). Unknown rows are left out of the value and counted:
    every published value carries its ``coverage``, and one below the tenant's threshold is
    published as unknown, never as a number computed from missing inputs.

    ``sku_variant`` names the metric that stands for this one at SKU and category scopes
    (e.g. GMV from order lines); ``published=False`` marks a building block that is computed
    but not written to ``kpi_fact``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric_id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_en: str
    name_zh: str
    family: Literal["sales", "ads", "inventory", "logistics", "after_sales", "service", "process"]
    kind: Literal["simple", "ratio", "derived", "sku_count"]
    unit: str
    direction: Literal["higher_is_better", "lower_is_better", "neutral"]
    formula: str
    table: str | None = None
    column: str | None = None
    aggregate: Literal["sum", "count", "count_distinct", "avg", "median", "max", "min"] | None = None
    filters: dict[str, str | list[str]] = Field(default_factory=dict)
    where: str | None = None
    date: str | None = None
    amount: bool = False
    currency: str = "currency"
    known: str | None = None
    level: Literal["shop", "sku"] = "shop"
    numerator: str | None = None
    denominator: str | None = None
    expression: str | None = None
    sku_variant: str | None = None
    published: bool = True


class MetricProvider(ABC):
    """A family of KPI definitions registered through ``register_metric_providers``."""

    name: ClassVar[str]
    version: ClassVar[str] = "0"

    @abstractmethod
    def definitions(self) -> list[MetricDefinition]:
        """Every metric this provider defines. Called once when the engine is built."""
