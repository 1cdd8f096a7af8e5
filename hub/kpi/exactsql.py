"""Exact arithmetic in the engine's SQL, spelt for each store (see ``hub.store.exact``).

A measure is an exact decimal with four places: ``NUMERIC`` on PostgreSQL and MySQL/MariaDB,
an integer of ten-thousandths on SQLite. These constructs turn a row's value into a measure,
convert a day's total into the base currency, divide two sums and publish a sum, each the
same exact operation on every store, rounding half away from zero.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ..store.exact import MEASURE_PLACES, MEASURE_SCALE, VALUE_PLACES, ExactMeasure, ExactValue

__all__ = [
    "exact_div",
    "fine_of",
    "fx_convert",
    "measure_of",
    "measure_of_fine",
    "measure_one",
    "month_average",
    "publish",
    "published_measure",
]

_TEN = f"{10**VALUE_PLACES}"
FINE_PLACES = 8
FINE_SCALE = 10**FINE_PLACES
_STEP = f"0.{'0' * (VALUE_PLACES - 1)}1"


class measure_of(FunctionElement[Decimal]):
    """A row's value (a column, an expression) as a measure: four places, exactly."""

    type = ExactMeasure()
    name = "measure_of"
    inherit_cache = True


class fx_convert(FunctionElement[Decimal]):
    """A total (of ``fine_of`` values) times an exchange rate, rounded to a measure; NULL
    without a rate."""

    type = ExactMeasure()
    name = "fx_convert"
    inherit_cache = True


class exact_div(FunctionElement[Decimal]):
    """Numerator over denominator to ten places; NULL when the denominator is 0 or NULL."""

    type = ExactValue()
    name = "exact_div"
    inherit_cache = True


class publish(FunctionElement[Decimal]):
    """A measure (a sum of measures) as a published value."""

    type = ExactValue()
    name = "publish"
    inherit_cache = True


class published_measure(FunctionElement[Decimal]):
    """A published value back as a measure (four places), for arithmetic over published facts."""

    type = ExactMeasure()
    name = "published_measure"
    inherit_cache = True


class _one(FunctionElement[Decimal]):
    type = ExactMeasure()
    name = "measure_one"
    inherit_cache = True


def measure_one() -> Any:
    """One unit (a count of one) as a measure: multiply a count by it."""
    return _one()


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(c, **kw) for c in element.clauses]


@compiles(_one, "sqlite")
def _one_sqlite(element: _one, compiler: SQLCompiler, **kw: Any) -> str:
    return str(MEASURE_SCALE)


@compiles(_one)
def _one_other(element: _one, compiler: SQLCompiler, **kw: Any) -> str:
    return "1"


@compiles(measure_of, "sqlite")
def _measure_sqlite(element: measure_of, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    # Exact for a decimal of at most four places below 10^11, whatever float holds it.
    return f"CAST(ROUND(({value}) * {MEASURE_SCALE}) AS INTEGER)"


@compiles(measure_of)
def _measure_other(element: measure_of, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f"CAST(({value}) AS DECIMAL(38, {MEASURE_PLACES}))"


@compiles(fx_convert, "sqlite")
def _fx_sqlite(element: fx_convert, compiler: SQLCompiler, **kw: Any) -> str:
    total, rate = _args(element, compiler, **kw)
    return f"kpi_fx({total}, {rate}, {FINE_PLACES - MEASURE_PLACES})"


@compiles(fx_convert)
def _fx_other(element: fx_convert, compiler: SQLCompiler, **kw: Any) -> str:
    total, rate = _args(element, compiler, **kw)
    return f"ROUND(({total}) * ({rate}), {MEASURE_PLACES})"


@compiles(exact_div, "sqlite")
def _div_sqlite(element: exact_div, compiler: SQLCompiler, **kw: Any) -> str:
    num, den = _args(element, compiler, **kw)
    return f"kpi_div({num}, {den})"


def _div_exact(num: str, den: str, div: str) -> str:
    """The quotient to ten places, half away from zero, from whole-number division alone:
    ``(2|n|·10^10 + |d|) div 2|d|`` is |n/d|·10^10 rounded, and signs multiply."""
    quotient = f"{div.format(a=f'2 * ABS({num}) * {_TEN} + ABS({den})', b=f'2 * ABS({den})')}"
    return (
        f"CASE WHEN ({den}) = 0 OR ({den}) IS NULL OR ({num}) IS NULL THEN NULL "
        f"ELSE CAST(SIGN({num}) * SIGN({den}) * {quotient} * {_STEP} AS DECIMAL(38, {VALUE_PLACES})) END"
    )


@compiles(exact_div, "postgresql")
def _div_pg(element: exact_div, compiler: SQLCompiler, **kw: Any) -> str:
    num, den = (f"CAST({a} AS NUMERIC)" for a in _args(element, compiler, **kw))
    return _div_exact(num, den, "DIV({a}, {b})")


@compiles(exact_div, "mysql")
@compiles(exact_div, "mariadb")
def _div_mysql(element: exact_div, compiler: SQLCompiler, **kw: Any) -> str:
    num, den = (f"CAST({a} AS DECIMAL(65, 10))" for a in _args(element, compiler, **kw))
    return _div_exact(num, den, "CAST((({a}) DIV ({b})) AS DECIMAL(65, 0))")


@compiles(publish, "sqlite")
def _publish_sqlite(element: publish, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f"kpi_dec({value})"


@compiles(publish)
def _publish_other(element: publish, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f"CAST(({value}) AS DECIMAL(38, {VALUE_PLACES}))"


@compiles(published_measure, "sqlite")
def _back_sqlite(element: published_measure, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f"kpi_int({value})"


@compiles(published_measure)
def _back_other(element: published_measure, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f"ROUND(({value}), {MEASURE_PLACES})"


class month_average(FunctionElement[Decimal]):
    """The average of a month's exchange rates (an aggregate), exactly to ten places."""

    type = ExactValue()
    name = "month_average"
    inherit_cache = True


@compiles(month_average, "sqlite")
def _average_sqlite(element: month_average, compiler: SQLCompiler, **kw: Any) -> str:
    (rate,) = _args(element, compiler, **kw)
    # Rates have ten places: summed as whole ten-billionths they add up exactly.
    return f"kpi_div(SUM(CAST(ROUND(({rate}) * {_TEN}) AS INTEGER)), COUNT({rate}) * {_TEN})"


@compiles(month_average)
def _average_other(element: month_average, compiler: SQLCompiler, **kw: Any) -> str:
    (rate,) = _args(element, compiler, **kw)
    return f"ROUND(AVG({rate}), {VALUE_PLACES})"


class fine_of(FunctionElement[Decimal]):
    """A row's value at eight places (exactly, for an amount or an amount times a rate of a
    few places): sums are taken at this precision and rounded once, per day, to a measure."""

    type = ExactMeasure()
    name = "fine_of"
    inherit_cache = True


class measure_of_fine(FunctionElement[Decimal]):
    """A sum of ``fine_of`` values rounded to a measure (four places, half away from zero)."""

    type = ExactMeasure()
    name = "measure_of_fine"
    inherit_cache = True


@compiles(fine_of, "sqlite")
def _fine_sqlite(element: fine_of, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f"CAST(ROUND(({value}) * {FINE_SCALE}) AS INTEGER)"


@compiles(fine_of)
def _fine_other(element: fine_of, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f"CAST(({value}) AS DECIMAL(38, {FINE_PLACES}))"


@compiles(measure_of_fine, "sqlite")
def _coarse_sqlite(element: measure_of_fine, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    # Whole-number division truncates toward zero: add half a step away from zero first.
    step = FINE_SCALE // MEASURE_SCALE
    return (
        f"(CASE WHEN ({value}) >= 0 THEN (({value}) + {step // 2}) / {step} "
        f"ELSE -((-({value}) + {step // 2}) / {step}) END)"
    )


@compiles(measure_of_fine)
def _coarse_other(element: measure_of_fine, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f"ROUND(({value}), {MEASURE_PLACES})"
