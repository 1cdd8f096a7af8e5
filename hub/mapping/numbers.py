"""Built-in transforms that read numbers and booleans.

Money is ``Decimal`` end to end. A float from JSON goes through ``str()`` first, whose shortest
round-tripping form is what the platform sent (``0.1``), never the binary artefact
(``0.1000000000000000055511151231257827``). Arithmetic runs in a fixed context so a caller's
``decimal`` settings cannot change a mapped amount.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from jmespath.parser import ParsedResult
from pydantic import Field, PrivateAttr, field_validator, model_validator

from .problems import compile_jmespath
from .transforms import NoArgs, Transform, TransformArgs

__all__ = ["NUMBER_TRANSFORMS", "DivideArgs", "FactorArgs", "to_decimal_value"]

_CONTEXT = decimal.Context(prec=34, rounding=ROUND_HALF_EVEN)
_TRUE = frozenset(("true", "1", "yes"))
_FALSE = frozenset(("false", "0", "no"))


def to_decimal_value(value: Any) -> Decimal:
    """``value`` (str, int, float or Decimal) as a finite Decimal; ``ValueError`` otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"cannot convert the boolean {value} to a decimal")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | float):
        result = Decimal(str(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise ValueError(f"cannot convert {value!r} to a decimal: not a number") from None
    else:
        raise ValueError(f"cannot convert {type(value).__name__} {value!r} to a decimal")
    if not result.is_finite():
        raise ValueError(f"cannot convert {value!r} to a decimal: not a finite number")
    return result


def _to_decimal(value: Any, args: NoArgs, context: Any) -> Decimal:
    return to_decimal_value(value)


def _to_int(value: Any, args: NoArgs, context: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"cannot convert the boolean {value} to an integer")
    if isinstance(value, int):
        return value
    try:
        number = to_decimal_value(value)
    except ValueError:
        raise ValueError(f"cannot convert {value!r} to an integer: not a number") from None
    if number != number.to_integral_value():
        raise ValueError(f"cannot convert {value!r} to an integer: it has a fractional part")
    return int(number)


def _to_bool(value: Any, args: NoArgs, context: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"cannot read {value!r} as a boolean; expected true/false, 1/0 or yes/no")


class FactorArgs(TransformArgs):
    """``by``: the factor (decimal-like), or ``by_path``: a JMESPath on the same context whose
    value is the factor (e.g. a line's quantity); ``places``: round the result to this many
    decimals."""

    by: Decimal | None = None
    by_path: str | None = None
    places: int | None = Field(default=None, ge=0, le=18)
    _expression: ParsedResult | None = PrivateAttr(default=None)

    @field_validator("by_path")
    @classmethod
    def _valid_path(cls, value: str | None) -> str | None:
        if value is not None:
            compile_jmespath(value)
        return value

    @model_validator(mode="after")
    def _one_factor(self) -> FactorArgs:
        if (self.by is None) == (self.by_path is None):
            raise ValueError("give exactly one of `by` (a number) or `by_path` (a JMESPath)")
        if self.by_path is not None:
            self._expression = compile_jmespath(self.by_path)
        return self

    def factor(self, context: Any) -> Decimal:
        """The factor for one record: ``by``, or the value ``by_path`` finds."""
        if self._expression is None:
            assert self.by is not None
            return self.by
        found = self._expression.search(context)
        if found is None:
            raise ValueError(f"by_path {self.by_path!r} found no value")
        return to_decimal_value(found)


class DivideArgs(FactorArgs):
    """As ``FactorArgs``; the divisor must not be zero."""

    @field_validator("by")
    @classmethod
    def _not_zero(cls, value: Decimal | None) -> Decimal | None:
        if value == 0:
            raise ValueError("cannot divide by zero")
        return value


def _rounded(value: Decimal, places: int | None) -> Decimal:
    if places is None:
        return value
    return value.quantize(Decimal(1).scaleb(-places), context=_CONTEXT)


def _multiply(value: Any, args: FactorArgs, context: Any) -> Decimal:
    return _rounded(_CONTEXT.multiply(to_decimal_value(value), args.factor(context)), args.places)


def _subtract(value: Any, args: FactorArgs, context: Any) -> Decimal:
    return _rounded(_CONTEXT.subtract(to_decimal_value(value), args.factor(context)), args.places)


def _divide(value: Any, args: DivideArgs, context: Any) -> Decimal:
    divisor = args.factor(context)
    if divisor == 0:
        raise ValueError(f"cannot divide by zero ({args.by_path} is 0)")
    return _rounded(_CONTEXT.divide(to_decimal_value(value), divisor), args.places)


def _sum(value: Any, args: NoArgs, context: Any) -> Decimal:
    if not isinstance(value, list):
        raise ValueError(
            f"sum needs a list (a projection such as `Items[].Amount`), not {type(value).__name__}"
        )
    total = Decimal(0)
    for item in value:
        if item is not None:
            total = _CONTEXT.add(total, to_decimal_value(item))
    return total


NUMBER_TRANSFORMS: tuple[Transform[Any], ...] = (
    Transform("to_decimal", _to_decimal, NoArgs, "decimal", description="Number or text to a Decimal."),
    Transform("to_int", _to_int, NoArgs, "int", description="Whole number or its text to an int."),
    Transform("to_bool", _to_bool, NoArgs, "bool", description="true/false, 1/0, yes/no to a bool."),
    Transform("multiply", _multiply, FactorArgs, "decimal", description="Multiply by `by`."),
    Transform("divide", _divide, DivideArgs, "decimal", description="Divide by `by` (not zero)."),
    Transform("subtract", _subtract, FactorArgs, "decimal", description="Subtract `by`."),
    Transform("sum", _sum, NoArgs, "decimal", description="Exact sum of a list of numbers or their text."),
)
