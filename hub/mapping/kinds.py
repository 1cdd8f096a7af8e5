"""Value kinds: what a transform produces and what a standard-record field needs.

A mapping is checked before it runs: the kind produced by a field's last transform must be one
the target field accepts, so ``to_decimal`` into a timestamp column is reported when the
mapping is saved, not on the millionth record. ``"any"`` (a bare path, a constant, or a
transform such as ``map_values`` whose output depends on its data) is always accepted and left
to the record model to check.
"""

from __future__ import annotations

import datetime as dt
import types
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

__all__ = ["ACCEPTS", "OUTPUT_KINDS", "FieldKind", "OutputKind", "coerce_for", "field_kind"]

OutputKind = Literal["str", "int", "decimal", "datetime", "date", "bool", "any"]
"""What a transform produces."""

OUTPUT_KINDS: frozenset[str] = frozenset(("str", "int", "decimal", "datetime", "date", "bool", "any"))

FieldKind = Literal["str", "int", "decimal", "datetime", "date", "bool", "other"]
"""What a record field needs; ``"other"`` accepts every output kind."""

ACCEPTS: dict[FieldKind, frozenset[OutputKind]] = {
    "decimal": frozenset(("decimal", "int", "any")),
    "int": frozenset(("int", "any")),
    "datetime": frozenset(("datetime", "any")),
    "date": frozenset(("date", "datetime", "any")),
    "bool": frozenset(("bool", "any")),
    "str": frozenset(("str", "int", "decimal", "any")),
    "other": frozenset(("str", "int", "decimal", "datetime", "date", "bool", "any")),
}
"""For each field kind, the output kinds a mapping may feed it."""


def field_kind(annotation: Any) -> FieldKind:
    """The kind of a record field's annotation; ``X | None`` is judged by ``X``."""
    annotation = _unwrap(annotation)
    if not isinstance(annotation, type):
        return "other"
    # Order matters: bool is an int, datetime is a date, a StrEnum is a str.
    if issubclass(annotation, bool):
        return "bool"
    if issubclass(annotation, Enum | str):
        return "str"
    if issubclass(annotation, int):
        return "int"
    if issubclass(annotation, Decimal):
        return "decimal"
    if issubclass(annotation, dt.datetime):
        return "datetime"
    if issubclass(annotation, dt.date):
        return "date"
    return "other"


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def coerce_for(kind: FieldKind, value: Any) -> Any:
    """Adjust a value the kind check allowed into one the record model will accept.

    The check lets a timestamp feed a date column and a number feed a text column; pydantic
    refuses both as given (a datetime with a time of day is not a date, an int is not a str),
    so the engine makes the conversion the check promised.
    """
    if kind == "date" and isinstance(value, dt.datetime):
        return value.date()
    if kind == "str" and not isinstance(value, bool):
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, int):
            return str(value)
    return value
