"""The small expression language metric definitions are written in, compiled to SQLAlchemy.

Expressions use Python syntax but only a safe subset: numbers, strings, ``None``, names,
``a.b`` attributes, arithmetic (``+ - * /``), comparisons (including ``in`` and ``is None``),
``and``/``or``/``not``, ``x if cond else y`` and calls of the functions an environment offers.
Whatever depends only on constants (the counting basis above all) is folded at compile time,
so ``0 if basis.tax_included else tax`` becomes plain SQL. Division by zero gives ``NULL``.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from sdk import ConfigError

from .exactsql import exact_div

__all__ = ["Env", "compile_expr", "divide", "is_sql", "names_in", "parse", "sql_value"]

_ALLOWED = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.Constant,
    ast.Name,
    ast.Attribute,
    ast.IfExp,
    ast.Call,
    ast.Tuple,
    ast.List,
    ast.Load,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
)


@cache
def parse(text: str) -> ast.expr:
    """Parse ``text``; a ``ConfigError`` names what is not allowed."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"cannot parse the expression {text!r}: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ConfigError(
                f"the expression {text!r} uses {type(node).__name__}, which metric expressions do not "
                "allow; use arithmetic, comparisons, and/or/not, 'x if c else y' and names"
            )
        if isinstance(node, ast.Call) and not isinstance(node.func, ast.Name):
            raise ConfigError(f"the expression {text!r} calls something that is not a plain function name")
    return tree.body


def names_in(text: str) -> set[str]:
    """Plain names (not attributes, not called functions) an expression refers to."""
    tree = parse(text)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    bases = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called | bases} - {
        "True",
        "False",
        "None",
    }


class Env(Protocol):
    """What names, attributes and function calls mean where an expression is compiled."""

    def name(self, name: str) -> Any: ...

    def attr(self, base: str, attr: str) -> Any: ...

    def call(self, func: str, args: Sequence[ast.expr], compile_arg: Callable[[ast.expr], Any]) -> Any: ...


def is_sql(value: Any) -> bool:
    return isinstance(value, sa.ColumnElement)


def sql_value(value: Any) -> ColumnElement[Any]:
    """A SQL element for a compiled value (constants become literals; booleans 1/0 in arithmetic)."""
    if is_sql(value):
        return value  # type: ignore[no-any-return]
    if value is None:
        return sa.null()
    if isinstance(value, bool):
        return sa.literal(int(value))
    return sa.literal(value)


def _num(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def divide(num: Any, den: Any) -> Any:
    if not is_sql(num) and not is_sql(den):
        if num is None or den is None or _num(den) == 0:
            return None
        return _num(num) / _num(den)
    # Exactly, to ten places (NULL over zero), as every published quotient.
    return exact_div(sql_value(num), sql_value(den))


_ARITH: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def compile_expr(text: str, env: Env, basis: dict[str, Any]) -> Any:
    """Compile ``text`` into a SQL element, or a Python constant where it folds to one."""

    def walk(node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[node.id]
            return env.name(node.id)
        if isinstance(node, ast.Attribute):
            if not isinstance(node.value, ast.Name):
                raise ConfigError(f"in {text!r}: only one level of attributes (like order.status) is allowed")
            base = node.value.id
            if base == "basis":
                if node.attr not in basis:
                    known = ", ".join(sorted(basis))
                    raise ConfigError(
                        f"in {text!r}: the counting basis has no option {node.attr!r} ({known})"
                    )
                return basis[node.attr]
            return env.attr(base, node.attr)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return env.call(node.func.id, node.args, walk)
        if isinstance(node, ast.UnaryOp):
            value = walk(node.operand)
            if isinstance(node.op, ast.Not):
                return (not value) if not is_sql(value) else sa.not_(value)
            if isinstance(node.op, ast.USub):
                return -_num(value) if not is_sql(value) else -value
            return value
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Div):
                return divide(left, right)
            op = _ARITH.get(type(node.op))
            if op is None:
                raise ConfigError(f"in {text!r}: operator {type(node.op).__name__} is not supported")
            if not is_sql(left) and not is_sql(right):
                return None if left is None or right is None else op(_num(left), _num(right))
            # A term a basis switches off (``cogs * basis.margin_includes_cogs``) is left out,
            # not computed as 0: its inputs then play no part in the value or its coverage.
            if isinstance(node.op, ast.Mult) and any(
                not is_sql(v) and v is not None and _num(v) == 0 for v in (left, right)
            ):
                return 0
            if (
                isinstance(node.op, ast.Add | ast.Sub)
                and not is_sql(right)
                and right is not None
                and _num(right) == 0
            ):
                return left
            if isinstance(node.op, ast.Add) and not is_sql(left) and left is not None and _num(left) == 0:
                return right
            return op(sql_value(left), sql_value(right))
        if isinstance(node, ast.BoolOp):
            values = [walk(v) for v in node.values]
            is_and = isinstance(node.op, ast.And)
            sql_parts = []
            for value in values:
                if is_sql(value):
                    sql_parts.append(value)
                elif is_and and not value:
                    return False
                elif not is_and and value:
                    return True
            if not sql_parts:
                return is_and
            return sa.and_(*sql_parts) if is_and else sa.or_(*sql_parts)
        if isinstance(node, ast.IfExp):
            test = walk(node.test)
            if not is_sql(test):
                return walk(node.body) if test else walk(node.orelse)
            return sa.case((test, sql_value(walk(node.body))), else_=sql_value(walk(node.orelse)))
        if isinstance(node, ast.Compare):
            return _compare(text, node, walk)
        if isinstance(node, ast.Tuple | ast.List):
            return [walk(e) for e in node.elts]
        raise ConfigError(f"in {text!r}: {type(node).__name__} is not supported")

    return walk(parse(text))


def _compare(text: str, node: ast.Compare, walk: Callable[[ast.expr], Any]) -> Any:
    parts: list[Any] = []
    left = walk(node.left)
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        right = walk(comparator)
        parts.append(_compare_one(text, op, left, right))
        left = right
    if len(parts) == 1:
        return parts[0]
    if all(not is_sql(p) for p in parts):
        return all(parts)
    return sa.and_(*[p if is_sql(p) else sa.true() if p else sa.false() for p in parts])


def _compare_one(text: str, op: ast.cmpop, left: Any, right: Any) -> Any:
    if isinstance(op, ast.Is | ast.IsNot):
        if right is not None:
            raise ConfigError(f"in {text!r}: 'is' compares with None only")
        if not is_sql(left):
            return (left is None) == isinstance(op, ast.Is)
        return left.is_(None) if isinstance(op, ast.Is) else left.is_not(None)
    if isinstance(op, ast.In | ast.NotIn):
        if not isinstance(right, list) or any(is_sql(v) for v in right):
            raise ConfigError(f"in {text!r}: 'in' needs a list of constants")
        if not is_sql(left):
            return (left in right) == isinstance(op, ast.In)
        return left.in_(right) if isinstance(op, ast.In) else left.not_in(right)
    compare = _COMPARE[type(op)]
    if not is_sql(left) and not is_sql(right):
        return compare(left, right)
    return compare(
        sql_value(left) if not is_sql(left) else left, right if is_sql(right) else sa.literal(right)
    )
