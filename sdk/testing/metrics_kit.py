"""``MetricsKit``: the contract tests every metric provider passes.

A definition "compiles" when everything the engine needs is there and refers to something
real: a simple metric aggregates an existing column of a standard table (a numeric one unless
it counts), filters name real columns, a ratio divides two known metrics, a derived metric's
expression is arithmetic over known metrics, and no metric depends on itself. Units and
directions are declared, so scorecards know which way is better.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar, get_args

from ..metrics import MetricDefinition, MetricProvider
from ..records import STANDARD_RECORDS
from .source_kit import verdict

__all__ = ["MetricsKit", "definition_problems"]

_NUMERIC_AGGREGATES = {"sum", "avg", "median", "max", "min"}
_ARITHMETIC = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd,
)  # fmt: skip


def _numeric(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, bool):
        return False
    if isinstance(annotation, type) and issubclass(annotation, int | float | Decimal):
        return True
    return any(_numeric(arg) for arg in get_args(annotation))


def _temporal(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, dt.date):
        return True
    return any(_temporal(arg) for arg in get_args(annotation))


def definition_problems(provider: MetricProvider, known: Iterable[str] = ()) -> list[str]:
    """What keeps ``provider``'s definitions from compiling; ``known`` are other providers' ids."""
    label = f"metric provider {getattr(provider, 'name', type(provider).__name__)!r}"
    definitions = provider.definitions()
    if not definitions:
        return [f"{label} defines no metric: return MetricDefinition objects from definitions()"]
    problems: list[str] = []
    wrong = [d for d in definitions if not isinstance(d, MetricDefinition)]
    if wrong:
        return [f"{label}: definitions() must return sdk.MetricDefinition objects, got {wrong[:3]!r}"]
    ids = [d.metric_id for d in definitions]
    problems += [
        f"{label}: metric_id {i!r} is defined twice" for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    everyone = set(ids) | set(known)
    depends: dict[str, set[str]] = {}
    for d in definitions:
        where = f"{label}, metric {d.metric_id!r}"
        if not d.unit.strip():
            problems.append(f"{where}: declare its unit (e.g. 'currency', 'ratio', 'count', 'hours')")
        if not d.formula.strip() or not d.name_zh.strip() or not d.name_en.strip():
            problems.append(f"{where}: give it name_en, name_zh and a formula users can read")
        problems += [f"{where}: {p}" for p in _kind_problems(d, everyone)]
        depends[d.metric_id] = _references(d)
    problems += _cycles(depends, label)
    return problems


def _kind_problems(d: MetricDefinition, everyone: set[str]) -> list[str]:
    if d.kind == "simple":
        return _simple_problems(d)
    if d.kind == "ratio":
        missing = [f for f in ("numerator", "denominator") if not getattr(d, f)]
        if missing:
            return [f"a ratio needs {' and '.join(missing)} (metric ids)"]
        return [
            f"{ref!r} is not a known metric id" for ref in (d.numerator, d.denominator) if ref not in everyone
        ]
    if not d.expression:
        return ["a derived metric needs an expression over metric ids"]
    try:
        tree = ast.parse(d.expression, mode="eval")
    except SyntaxError as exc:
        return [f"expression {d.expression!r} does not parse: {exc.msg}"]
    bad = sorted({type(n).__name__ for n in ast.walk(tree) if not isinstance(n, _ARITHMETIC)})
    out = [f"expression {d.expression!r} may use only + - * / and metric ids, not {bad}"] if bad else []
    return out + [f"{ref!r} in its expression is not a known metric id" for ref in _references(d) - everyone]


def _simple_problems(d: MetricDefinition) -> list[str]:
    record = STANDARD_RECORDS.get(d.table or "")
    if record is None:
        return [f"table {d.table!r} is not a standard table; known: {sorted(STANDARD_RECORDS)}"]
    if d.aggregate is None:
        return ["a simple metric needs an aggregate (sum, count, count_distinct, avg, median, max, min)"]
    fields = record.model_fields
    out = [f"filter column {c!r} is not a column of {d.table}" for c in d.filters if c not in fields]
    if d.column is None:
        return out if d.aggregate == "count" else [*out, f"aggregate {d.aggregate!r} needs a column"]
    if d.column not in fields:
        return [*out, f"column {d.column!r} is not a column of {d.table}; columns: {sorted(fields)}"]
    annotation = fields[d.column].annotation
    numeric_ok = _numeric(annotation) or (d.aggregate in ("max", "min") and _temporal(annotation))
    if d.aggregate in _NUMERIC_AGGREGATES and not numeric_ok:
        out.append(f"{d.aggregate} of {d.table}.{d.column}, which is not numeric")
    return out


def _references(d: MetricDefinition) -> set[str]:
    if d.kind == "ratio":
        return {ref for ref in (d.numerator, d.denominator) if ref}
    if d.kind == "derived" and d.expression:
        try:
            tree = ast.parse(d.expression, mode="eval")
        except SyntaxError:
            return set()
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return set()


def _cycles(depends: dict[str, set[str]], label: str) -> list[str]:
    problems = []
    for start in depends:
        stack, seen = [start], set()
        while stack:
            current = stack.pop()
            for ref in depends.get(current, ()):
                if ref == start:
                    problems.append(f"{label}: metric {start!r} depends on itself (through {current!r})")
                    stack = []
                    break
                if ref not in seen:
                    seen.add(ref)
                    stack.append(ref)
    return problems


class MetricsKit:
    """Contract tests for a metric provider: set ``provider`` (an instance).

    ``known_metrics`` lists metric ids of other providers this one's ratios and derived
    metrics refer to.
    """

    provider: ClassVar[MetricProvider]
    known_metrics: ClassVar[frozenset[str]] = frozenset()

    def test_definitions_compile(self) -> None:
        verdict(definition_problems(self.provider, self.known_metrics), "metric definitions")

    def test_units_and_directions_are_declared(self) -> None:
        problems = [
            f"metric {d.metric_id!r}: declare whether higher or lower is better, or 'neutral'"
            for d in self.provider.definitions()
            if d.direction not in ("higher_is_better", "lower_is_better", "neutral")
        ]
        problems += [
            f"metric {d.metric_id!r}: declare its unit" for d in self.provider.definitions() if not d.unit
        ]
        verdict(problems, "units and directions")

    def test_provider_has_a_name_and_version(self) -> None:
        name = getattr(self.provider, "name", None)
        problems = [] if isinstance(name, str) and name else ["set the provider's class attribute `name`"]
        verdict(problems, "metric provider")
