"""Helpers that turn foreign errors (JMESPath, pydantic) into ``(path, reason)`` problems.

Every check in the mapping package reports a problem as a pair: where in the mapping document
it is (``targets.orders.fields.created_at.transforms[0]``) and what is wrong, in words a user
can act on. These helpers keep that wording in one place.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import jmespath
from jmespath.exceptions import IncompleteExpressionError, LexerError, ParseError
from jmespath.functions import Functions
from jmespath.parser import ParsedResult
from pydantic import ValidationError

from .paths import CompiledPath

__all__ = [
    "MAX_JMESPATH_CHARS",
    "MAX_JMESPATH_DEPTH",
    "Problem",
    "compile_jmespath",
    "known_list",
    "short_repr",
    "validation_problems",
]

Problem = tuple[str, str]
"""``(field_path, reason)``, the shape ``MappingError.problems`` holds."""

_JMESPATH_FUNCTIONS = frozenset(Functions().FUNCTION_TABLE)
MAX_JMESPATH_CHARS = 1_000
"""The longest JMESPath expression a mapping may hold (the longest shipped is 130 characters):
parsing and every message that quotes an expression stay small."""
MAX_JMESPATH_DEPTH = 100
"""How deeply a JMESPath expression may nest. JMESPath parses and evaluates recursively, so a
deeper one (``((((a))))`` a thousand times) would exhaust Python's stack in the server; no
mapping needs more than a handful of levels."""


def compile_jmespath(expression: object) -> ParsedResult:
    """Compile ``expression``, or raise ``ValueError`` saying why it is not valid JMESPath.

    Unknown function names are caught here too: JMESPath itself only notices them when the
    expression first runs, which would fail every record instead of the mapping once.
    """
    if not isinstance(expression, str):
        raise ValueError(f"expected a JMESPath expression (text), got {type(expression).__name__}")
    if not expression.strip():
        raise ValueError("empty JMESPath expression")
    try:
        parsed = jmespath.compile(expression)
    except RecursionError:
        raise ValueError(_too_deep(expression)) from None
    except LexerError as exc:
        raise ValueError(
            f"invalid JMESPath expression {expression!r}: {exc.message} at column {exc.lex_position}"
        ) from None
    except IncompleteExpressionError:
        raise ValueError(f"invalid JMESPath expression {expression!r}: incomplete expression") from None
    except ParseError as exc:
        raise ValueError(
            f"invalid JMESPath expression {expression!r}: {exc.msg} at column {exc.lex_position}"
        ) from None
    if _depth(parsed.parsed) > MAX_JMESPATH_DEPTH:
        raise ValueError(_too_deep(expression))
    # Measured after parsing (bounded by the API's body limit), so that an expression both too
    # deep and too long is reported for its depth.
    if len(expression) > MAX_JMESPATH_CHARS:
        raise ValueError(
            f"invalid JMESPath expression {short_repr(expression)}: {len(expression):,} characters long; "
            f"the limit is {MAX_JMESPATH_CHARS:,}"
        )
    unknown = sorted(_function_names(parsed.parsed) - _JMESPATH_FUNCTIONS)
    if unknown:
        raise ValueError(f"invalid JMESPath expression {expression!r}: unknown function {unknown[0]}()")
    return CompiledPath(parsed)


def _too_deep(expression: str) -> str:
    return (
        f"invalid JMESPath expression {short_repr(expression)}: nested more than "
        f"{MAX_JMESPATH_DEPTH} levels deep; split it or write it flatter"
    )


def _depth(root: Any) -> int:
    """How many levels the parsed expression nests (walked without recursion)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(node, dict):
            stack.extend((child, level + 1) for child in node.get("children", ()))
    return deepest


def _function_names(node: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        if node.get("type") == "function_expression":
            names.add(str(node.get("value")))
        for child in node.get("children", ()):
            names |= _function_names(child)
    return names


def known_list(name: str, known: Iterable[str], *, limit: int = 40) -> str:
    """``"did you mean 'x'?; known: a, b, c"``: the tail of an unknown-name message."""
    choices = sorted(known)
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = ", ".join(choices[:limit]) + (", ..." if len(choices) > limit else "")
    return f"{hint}; known: {shown or '(none)'}"


def short_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for quoting raw data in a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validation_problems(exc: ValidationError, prefix: str, *, known: Iterable[str] = ()) -> list[Problem]:
    """One problem per pydantic error, its location appended to ``prefix``.

    ``known`` lists the accepted keys, quoted when a key is refused as unknown.
    """
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"])
        path = f"{prefix}.{loc}" if loc else prefix
        kind = error["type"]
        if kind == "missing":
            reason = "required, but not given"
        elif kind == "extra_forbidden":
            names = list(known)
            reason = (
                f"unknown key{known_list(loc, names)}" if names else "unknown key; this takes no arguments"
            )
        else:
            message = error["msg"].removeprefix("Value error, ")
            reason = f"{message} (got {short_repr(error['input'])})" if loc else message
        problems.append((path, reason))
    return problems
