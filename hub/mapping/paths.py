"""JMESPath expressions as the mapping evaluates them, millions of times per sync.

``jmespath``'s own ``ParsedResult.search`` builds a new interpreter (and loses its method
cache) on every call, which profiles as half of a large sync. ``CompiledPath`` keeps the
parsed expression and evaluates it with one shared interpreter, and a plain dotted path of
field names (by far the most common mapping source) as dictionary look-ups with the same
result JMESPath gives.
"""

from __future__ import annotations

from typing import Any

from jmespath import visitor
from jmespath.parser import ParsedResult

__all__ = ["CompiledPath"]

# The interpreter keeps no state between calls but a cache of its visit methods.
_INTERPRETER = visitor.TreeInterpreter()


class CompiledPath(ParsedResult):
    """A parsed JMESPath expression with a faster ``search``."""

    def __init__(self, parsed: ParsedResult) -> None:
        super().__init__(parsed.expression, parsed.parsed)
        self.fields: tuple[str, ...] | None = _field_chain(parsed.parsed)
        self.chains: tuple[tuple[str, ...], ...] | None = _chain_list(parsed.parsed)
        """The chains of ``[a.b, c]``, a list of plain dotted paths (amounts to add up, say)."""

    def search(self, value: Any, options: Any = None) -> Any:
        if options is not None:
            return super().search(value, options)
        if self.fields is not None:
            return _follow(self.fields, value)
        if self.chains is not None:
            # JMESPath: a multi-select of null is null.
            return None if value is None else [_follow(chain, value) for chain in self.chains]
        return _INTERPRETER.visit(self.parsed, value)


def _follow(fields: tuple[str, ...], value: Any) -> Any:
    for name in fields:
        # JMESPath: a field of anything that is not an object is null, and null stays null.
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _chain_list(node: Any) -> tuple[tuple[str, ...], ...] | None:
    """The field chains of ``[a.b, c]``, or ``None`` unless every element is one."""
    if node["type"] != "multi_select_list":
        return None
    chains = [_field_chain(child) for child in node["children"]]
    return None if any(chain is None for chain in chains) else tuple(c for c in chains if c is not None)


def _field_chain(node: Any) -> tuple[str, ...] | None:
    """The field names of ``a.b.c`` (or ``a``), or ``None`` for anything else."""
    if node["type"] == "field":
        return (node["value"],)
    if node["type"] == "subexpression":
        names: list[str] = []
        for child in node["children"]:
            chain = _field_chain(child)
            if chain is None:
                return None
            names.extend(chain)
        return tuple(names)
    return None
