"""The built-in transforms: text, lookups and defaults here; numbers and times in their modules.

``STANDARD_TRANSFORMS`` is what the default registry starts with.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from jmespath.parser import ParsedResult
from pydantic import Field, PrivateAttr, field_validator

from .numbers import NUMBER_TRANSFORMS
from .problems import compile_jmespath, short_repr
from .time_transforms import TIME_TRANSFORMS
from .transforms import NoArgs, Transform, TransformArgs

__all__ = ["STANDARD_TRANSFORMS", "ConcatArgs", "DefaultArgs", "MapValuesArgs", "text_of"]

# Symbols and local abbreviations sellers and ERPs put where an ISO 4217 code belongs.
_CURRENCY_ALIASES = {
    "RMB": "CNY",
    "CN¥": "CNY",
    "JP¥": "JPY",
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "A$": "AUD",
    "AU$": "AUD",
    "C$": "CAD",
    "CA$": "CAD",
    "HK$": "HKD",
    "S$": "SGD",
    "NT$": "TWD",
    "NTD": "TWD",
    "R$": "BRL",
    "MX$": "MXN",
    "RM": "MYR",
    "RP": "IDR",
    "₩": "KRW",
    "₹": "INR",
    "₱": "PHP",
    "฿": "THB",
    "₫": "VND",
}
_AMBIGUOUS_CURRENCIES = {
    "¥": "JPY or CNY",
    "￥": "JPY or CNY",
    "$": "USD, CAD, AUD, SGD, MXN and others",
    "KR": "SEK, NOK, DKK or ISK",
}


def text_of(value: Any) -> str:
    """``value`` as text: booleans as ``true``/``false``, decimals without exponent."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    raise ValueError(f"cannot convert {type(value).__name__} {short_repr(value)} to text")


def _to_str(value: Any, args: NoArgs, context: Any) -> str:
    return text_of(value)


def _need_text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"{name} expects text, got {type(value).__name__} {short_repr(value)}; add to_str first"
        )
    return value


def _lower(value: Any, args: NoArgs, context: Any) -> str:
    return _need_text(value, "lower").lower()


def _upper(value: Any, args: NoArgs, context: Any) -> str:
    return _need_text(value, "upper").upper()


def _strip(value: Any, args: NoArgs, context: Any) -> str:
    return _need_text(value, "strip").strip()


def _currency(value: Any, args: NoArgs, context: Any) -> str:
    code = _need_text(value, "currency").strip().upper()
    if code in _AMBIGUOUS_CURRENCIES:
        raise ValueError(
            f"currency {value!r} is ambiguous ({_AMBIGUOUS_CURRENCIES[code]}); "
            "map it with map_values or set a const"
        )
    code = _CURRENCY_ALIASES.get(code, code)
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError(f"{value!r} is not a currency code; expected three letters such as USD")
    return code


class MapValuesArgs(TransformArgs):
    """``values``: platform value → standard value. ``default``: for values not listed; if it
    is not given, an unlisted value is an error (so a new platform status is noticed)."""

    values: dict[str, Any]
    default: Any = None


def _lookup_key(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    # JSON object keys are text, so a numeric status 10 (or 10.0) is looked up as "10".
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        try:
            whole = int(value)
        except (ValueError, OverflowError):
            return str(value)
        return str(whole) if whole == value else str(value)
    raise ValueError(f"map_values cannot look up {type(value).__name__} {short_repr(value)}")


def _map_values(value: Any, args: MapValuesArgs, context: Any) -> Any:
    key = _lookup_key(value)
    if key in args.values:
        return args.values[key]
    if "default" in args.model_fields_set:
        return args.default
    known = ", ".join(repr(name) for name in sorted(args.values)[:30])
    raise ValueError(
        f"value {value!r} is not in the map_values table (known: {known}); add it or set a default"
    )


class DefaultArgs(TransformArgs):
    """``value``: what a missing (null) value becomes."""

    value: Any


def _default(value: Any, args: DefaultArgs, context: Any) -> Any:
    return args.value if value is None else value


class ConcatArgs(TransformArgs):
    """``with_paths``: JMESPath expressions on the same context, appended in order (null ones
    skipped); ``separator``: put between the parts."""

    with_paths: list[str] = Field(min_length=1)
    separator: str = ""
    _expressions: list[ParsedResult] = PrivateAttr(default_factory=list)

    @field_validator("with_paths")
    @classmethod
    def _valid_paths(cls, value: list[str]) -> list[str]:
        for expression in value:
            compile_jmespath(expression)
        return value

    def model_post_init(self, context: Any) -> None:
        self._expressions = [compile_jmespath(expression) for expression in self.with_paths]

    @property
    def expressions(self) -> list[ParsedResult]:
        """The compiled ``with_paths``."""
        return self._expressions


def _concat(value: Any, args: ConcatArgs, context: Any) -> str:
    parts = [value, *(expression.search(context) for expression in args.expressions)]
    return args.separator.join(text_of(part) for part in parts if part is not None)


STANDARD_TRANSFORMS: tuple[Transform[Any], ...] = (
    *NUMBER_TRANSFORMS,
    *TIME_TRANSFORMS,
    Transform("to_str", _to_str, NoArgs, "str", description="Any scalar to text."),
    Transform("lower", _lower, NoArgs, "str", description="Text to lower case."),
    Transform("upper", _upper, NoArgs, "str", description="Text to upper case."),
    Transform("strip", _strip, NoArgs, "str", description="Trim surrounding whitespace."),
    Transform("currency", _currency, NoArgs, "str", description="Normalise to an ISO 4217 code."),
    Transform("map_values", _map_values, MapValuesArgs, "any", description="Look the value up in a table."),
    Transform("default", _default, DefaultArgs, "any", accepts_none=True, description="Replace null."),
    Transform("concat", _concat, ConcatArgs, "str", description="Join with other paths' values."),
)
