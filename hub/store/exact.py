"""Exact decimals on every store: the KPI engine's measures and its published values.

PostgreSQL and MySQL/MariaDB have exact ``NUMERIC``/``DECIMAL`` arithmetic; SQLite has none (a
``NUMERIC`` column keeps a float). So on SQLite:

- a measure (``ExactMeasure``) is an ``INTEGER`` count of ten-thousandths, which SQLite adds up
  exactly; a standard row's amount (a decimal of at most four places, kept as the nearest
  float) becomes that integer exactly by ``ROUND(x * 10000)`` for any amount below 10^11;
- a published value (``ExactValue``) is the decimal's text, which SQLite keeps as given;
- the few operations integers cannot do exactly — converting a day's total into the base
  currency, dividing two sums, a value's text — are the SQL functions ``kpi_fx``, ``kpi_div``
  and ``kpi_dec``, registered on every SQLite connection and written here with ``decimal``.

The rounding rule is the same everywhere, and the same as PostgreSQL's and MySQL's ``ROUND``
of exact numbers: half away from zero. Conversions round to four places, quotients to ten.
"""

from __future__ import annotations

import sqlite3
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "MEASURE_PLACES",
    "MEASURE_SCALE",
    "VALUE_PLACES",
    "ExactMeasure",
    "ExactValue",
    "register_sqlite_functions",
]

MEASURE_PLACES = 4
"""Decimal places a measure keeps: amounts' own (sdk ``Money``), and after conversion."""
MEASURE_SCALE = 10**MEASURE_PLACES
VALUE_PLACES = 10
"""Decimal places of a published quotient (a ratio, a margin, a growth rate)."""

_QUANTUM_MEASURE = Decimal(1).scaleb(-MEASURE_PLACES)
_QUANTUM_VALUE = Decimal(1).scaleb(-VALUE_PLACES)
# Wide enough that a quotient rounded to ten places is the exact one rounded, however large.
_WIDE = Context(prec=80, rounding=ROUND_HALF_UP)


class ExactMeasure(TypeDecorator[Decimal]):
    """An exact decimal with four places: ``NUMERIC(38, 4)``, or on SQLite an integer of
    ten-thousandths."""

    impl = Numeric(38, MEASURE_PLACES)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(38, MEASURE_PLACES, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(value).quantize(_QUANTUM_MEASURE, rounding=ROUND_HALF_UP)
        return int(exact.scaleb(MEASURE_PLACES)) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-MEASURE_PLACES)
        return Decimal(value)


class ExactValue(TypeDecorator[Decimal]):
    """A published exact decimal: ``NUMERIC(38, 10)``, or on SQLite its text (a column of
    numeric affinity there would turn it into a float)."""

    impl = Numeric(38, VALUE_PLACES)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(48))
        return dialect.type_descriptor(Numeric(38, VALUE_PLACES, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        return _text(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def _text(value: Decimal) -> str:
    """A decimal's canonical text: no exponent, no trailing zeros after the point."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _decimal(value: Any) -> Decimal | None:
    """A SQLite value as the decimal it stands for: an integer, the text of a decimal, or a
    float holding a decimal of at most fifteen digits (an FX rate, a stored amount)."""
    if value is None:
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None


def kpi_fx(total: Any, rate: Any, extra: int = 0) -> int | None:
    """A day's total in one currency (whole units of 10^-(4 + ``extra``)) at ``rate``, in
    ten-thousandths of the base currency, rounded half away from zero; NULL when either is
    unknown."""
    amount, factor = _decimal(total), _decimal(rate)
    if amount is None or factor is None:
        return None
    exact = _WIDE.multiply(amount, factor).scaleb(-extra)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def kpi_div(numerator: Any, denominator: Any) -> str | None:
    """``numerator / denominator`` to ten places, half away from zero; NULL for a zero or
    unknown denominator. Both in the same unit (ten-thousandths, or decimal text)."""
    num, den = _decimal(numerator), _decimal(denominator)
    if num is None or den is None or den == 0:
        return None
    return _text(_WIDE.divide(num, den).quantize(_QUANTUM_VALUE, rounding=ROUND_HALF_UP))


def kpi_dec(scaled: Any) -> str | None:
    """A measure's ten-thousandths as the decimal's text."""
    amount = _decimal(scaled)
    return None if amount is None else _text(amount.scaleb(-MEASURE_PLACES))


def kpi_int(text: Any) -> int | None:
    """A published value's text as ten-thousandths (half away from zero), for arithmetic."""
    value = _decimal(text)
    if value is None:
        return None
    return int(value.scaleb(MEASURE_PLACES).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def register_sqlite_functions(connection: sqlite3.Connection) -> None:
    """Make the exact operations available on a new SQLite connection."""
    connection.create_function("kpi_fx", 3, kpi_fx, deterministic=True)
    connection.create_function("kpi_div", 2, kpi_div, deterministic=True)
    connection.create_function("kpi_dec", 1, kpi_dec, deterministic=True)
    connection.create_function("kpi_int", 1, kpi_int, deterministic=True)
