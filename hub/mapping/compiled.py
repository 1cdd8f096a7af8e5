"""A checked mapping, ready to turn raw platform records into standard rows.

Built only by ``compile_mapping``, which has already checked every path, transform, argument
and type, so applying it can fail only on the data: a value a transform cannot convert, or an
``each`` expression that does not yield a list. Those failures are collected for the whole
record and raised as one ``MappingError``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult
from pydantic import BaseModel

from sdk.errors import MappingError

from .kinds import FieldKind, coerce_for
from .problems import Problem, short_repr
from .transforms import Transform

__all__ = ["CompiledMapping", "FieldPlan", "MergeRule", "Step", "TargetPlan"]

# What a transform may raise about a bad value; anything else is a bug and propagates.
_DATA_ERRORS = (ValueError, TypeError, ArithmeticError, LookupError)
_PATH_ERRORS = (JMESPathError, TypeError)
"""What evaluating a path may raise about the data: jmespath 1.0.1 lets Python's TypeError out
of an ordering comparison of a string with a number (``a > `1` `` where ``a`` is text)."""
_COERCED = frozenset(("date", "str"))
"""The field kinds ``coerce_for`` changes values for."""


class _Unmapped(Exception):
    """A generated row function met data it cannot map: the record is mapped field by field."""


class _FieldFailure(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Step:
    """One transform with its validated arguments; ``path`` locates it in the mapping."""

    transform: Transform[Any]
    args: BaseModel
    path: str


@dataclass(frozen=True)
class FieldPlan:
    """How one standard field is computed: a JMESPath ``source`` or a ``const``, then steps."""

    name: str
    path: str
    source: ParsedResult | None
    const: Any
    steps: tuple[Step, ...]
    kind: FieldKind

    def __post_init__(self) -> None:
        # Settled once per mapping, for the generated row functions (``_row_function``).
        fields = getattr(self.source, "fields", None)
        object.__setattr__(self, "_fields", fields)
        object.__setattr__(self, "_coerce", self.kind in _COERCED)

    def evaluate(self, context: Any) -> Any:
        """The field's value for ``context``; ``_FieldFailure`` if the data cannot be mapped."""
        # Only records the generated row functions could not map come here: no fast path.
        if self.source is None:
            value = copy.deepcopy(self.const)
        else:
            try:
                value = self.source.search(context)
            except _PATH_ERRORS as exc:
                raise _FieldFailure(f"{self.path}.path", f"JMESPath error: {exc}") from None
        for step in self.steps:
            if value is None and not step.transform.accepts_none:
                continue
            try:
                value = step.transform.fn(value, step.args, context)
            except _DATA_ERRORS as exc:
                raise _FieldFailure(step.path, f"{step.transform.name}: {exc}") from None
        if self._coerce and type(value) is not str:  # type: ignore[attr-defined]
            return coerce_for(self.kind, value)
        return value


@dataclass(frozen=True)
class MergeRule:
    """How a target's rows meet rows another connection wrote for the same thing.

    ``defer_to_others``: where another connection has rows for the same order (or the same
    natural key, for tables without an order), this target writes no row of its own; it only
    sets the ``owns`` columns (it wins those) and fills columns the other row leaves empty.
    Honoured by the sync write path (``hub.sync.precedence``).
    """

    defer_to_others: bool = False
    owns: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetPlan:
    """The rows of one table: one per record, or one per element of ``each``."""

    table: str
    path: str
    each: ParsedResult | None
    fields: tuple[FieldPlan, ...]
    columns: frozenset[str]
    merge: MergeRule | None = None


class CompiledMapping:
    """A validated mapping. ``apply`` maps one raw record; ``tables`` names what it writes."""

    def __init__(self, targets: tuple[TargetPlan, ...]) -> None:
        self._targets = targets
        self._rows = tuple(_row_function(target) for target in targets)

    def __repr__(self) -> str:
        return f"CompiledMapping(tables={sorted(self.tables)!r})"

    def __reduce__(self) -> tuple[type[CompiledMapping], tuple[tuple[TargetPlan, ...]]]:
        # Sync workers receive it pickled: the plans travel, the row functions are made again.
        return (CompiledMapping, (self._targets,))

    @property
    def tables(self) -> frozenset[str]:
        """The standard tables this mapping writes rows to."""
        return frozenset(target.table for target in self._targets)

    @property
    def merges(self) -> dict[str, MergeRule]:
        """The merge rule of each table whose target declares one."""
        return {target.table: target.merge for target in self._targets if target.merge is not None}

    @property
    def mapped(self) -> dict[str, frozenset[str]]:
        """The fields each table's target maps (a const counts; connection defaults do not)."""
        return {target.table: frozenset(plan.name for plan in target.fields) for target in self._targets}

    def apply(
        self, raw: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """Map one raw record to ``(table, row)`` pairs, in target order.

        A field whose value comes out null is left out of the row, so the record model's
        default applies (and a required one is reported by validation). ``defaults`` (the
        connection's ``platform``, ``shop_id``, ...) fill fields the row lacks that exist on the
        table's record model; a null default fills nothing. Rows are not validated here: the
        caller validates them with the record models. Raises ``MappingError`` listing every
        field of the record that failed.
        """
        # Each target's fields as one generated function; a record whose data fails any of
        # them is mapped again field by field, which names every failure.
        rows: list[tuple[str, dict[str, Any]]] = []
        try:
            for target, row_of in zip(self._targets, self._rows, strict=True):
                fill = [
                    (name, value)
                    for name, value in (defaults or {}).items()
                    if value is not None and name in target.columns
                ]
                if target.each is None:
                    contexts: Any = (raw,)
                else:
                    items = target.each.search(raw)
                    if items is None:
                        continue
                    if not isinstance(items, list):
                        raise _Unmapped
                    contexts = [{"record": raw, "item": item} for item in items]
                for context in contexts:
                    row = row_of(context)
                    for name, value in fill:
                        if name not in row:
                            row[name] = value
                    rows.append((target.table, row))
        except (_Unmapped, *_PATH_ERRORS, *_DATA_ERRORS):
            return self._apply_field_by_field(raw, defaults)
        return rows

    def _apply_field_by_field(
        self, raw: Mapping[str, Any], defaults: Mapping[str, Any] | None
    ) -> list[tuple[str, dict[str, Any]]]:
        rows: list[tuple[str, dict[str, Any]]] = []
        problems: list[Problem] = []
        summary: list[str] = []
        for target in self._targets:
            for label, context in self._contexts(target, raw, problems, summary):
                row: dict[str, Any] = {}
                for plan in target.fields:
                    try:
                        value = plan.evaluate(context)
                    except _FieldFailure as failure:
                        problems.append((failure.path, f"{label}{failure.reason}"))
                        summary.append(f"{target.table}.{plan.name}: {label}{failure.reason}")
                        continue
                    if value is not None:
                        row[plan.name] = value
                for name, value in (defaults or {}).items():
                    if value is not None and name in target.columns and name not in row:
                        row[name] = value
                rows.append((target.table, row))
        if problems:
            raise MappingError(f"cannot map the record: {'; '.join(summary)}", problems)
        return rows

    @staticmethod
    def _contexts(
        target: TargetPlan, raw: Mapping[str, Any], problems: list[Problem], summary: list[str]
    ) -> list[tuple[str, Any]]:
        if target.each is None:
            return [("", raw)]
        try:
            items = target.each.search(raw)
        except _PATH_ERRORS as exc:
            reason = f"JMESPath error: {exc}"
        else:
            if items is None:
                return []
            if isinstance(items, list):
                return [(f"item [{i}]: ", {"record": raw, "item": item}) for i, item in enumerate(items)]
            reason = f"expected a list, got {type(items).__name__} {short_repr(items)}"
        problems.append((f"{target.path}.each", reason))
        summary.append(f"{target.table} (each): {reason}")
        return []


_IMMUTABLE = (type(None), bool, int, float, str, Decimal)


def _row_function(target: TargetPlan) -> Callable[[Any], dict[str, Any]]:
    """One function computing every field of ``target`` for a context, as ``FieldPlan.evaluate``
    does field by field, without its per-field calls and loops (the mapping was a fifth of a
    sync). It raises what the transforms raise; ``apply`` then maps the record field by field."""
    names: dict[str, Any] = {"_coerce_for": coerce_for, "_deepcopy": copy.deepcopy}
    lines = ["def row(context):", "    row = {}"]
    for index, plan in enumerate(target.fields):
        fields: tuple[str, ...] | None = plan._fields  # type: ignore[attr-defined]
        if fields is not None:
            lines.append("    value = context")
            for name in fields:
                lines.append(f"    value = value.get({name!r}) if isinstance(value, dict) else None")
        elif plan.source is None:
            names[f"_const{index}"] = plan.const
            immutable = isinstance(plan.const, _IMMUTABLE)
            lines.append(
                f"    value = _const{index}" if immutable else f"    value = _deepcopy(_const{index})"
            )
        else:
            names[f"_source{index}"] = plan.source
            lines.append(f"    value = _source{index}.search(context)")
        for number, step in enumerate(plan.steps):
            fn, args = f"_fn{index}_{number}", f"_args{index}_{number}"
            names[fn], names[args] = step.transform.fn, step.args
            call = f"value = {fn}(value, {args}, context)"
            lines.append(
                f"    {call}" if step.transform.accepts_none else f"    if value is not None: {call}"
            )
        if plan._coerce:  # type: ignore[attr-defined]
            names[f"_kind{index}"] = plan.kind
            lines.append(f"    if type(value) is not str: value = _coerce_for(_kind{index}, value)")
        lines.append(f"    if value is not None: row[{plan.name!r}] = value")
    lines.append("    return row")
    source = "\n".join(lines) + "\n"
    # The text is built from the checked mapping's field names (repr-quoted) and numbered slots.
    exec(compile(source, f"<mapping of {target.table}>", "exec"), names)  # noqa: S102
    function: Callable[[Any], dict[str, Any]] = names["row"]
    return function
