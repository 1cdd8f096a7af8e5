"""Read a mapping document from JSON or YAML text, as a user or a plugin wrote it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NoReturn

import yaml

from sdk.errors import MappingError

from .problems import Problem

__all__ = ["load_mapping_text"]


def load_mapping_text(text: str, *, filename: str = "<mapping>") -> dict[str, Any]:
    """Parse ``text`` (JSON or YAML) into a mapping document; it is not checked further.

    ``MappingError`` if the text is malformed (its message gives ``filename:line:column``), if
    it does not hold an object, or if an object key is not text: YAML reads unquoted
    ``yes``/``no``/``on``/``off`` as booleans and ``10`` as a number, which would silently
    change a ``map_values`` table, so such keys must be quoted.
    """
    data = _parse(text, filename)
    if data is None:
        _fail(filename, "is empty; expected a mapping object with 'version' and 'targets'")
    if not isinstance(data, dict):
        _fail(filename, f"must hold an object with 'version' and 'targets', not a {type(data).__name__}")
    problems = list(_non_text_keys(data, ""))
    if problems:
        listed = "; ".join(f"{path}: {reason}" for path, reason in problems)
        raise MappingError(f"{filename}: {listed}", problems)
    return data


def _parse(text: str, filename: str) -> Any:
    if filename.endswith(".json") or text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            if filename.endswith(".json"):
                _fail(f"{filename}:{exc.lineno}:{exc.colno}", f"malformed JSON: {exc.msg}")
            # Not JSON after all; YAML flow style ({a: 1}) also starts with a brace.
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        _fail(where, f"malformed YAML: {detail or exc}")
    except yaml.YAMLError as exc:
        _fail(filename, f"malformed YAML: {exc}")


def _fail(where: str, reason: str) -> NoReturn:
    raise MappingError(f"{where}: {reason}", [(where, reason)])


def _non_text_keys(value: Any, path: str) -> Iterator[Problem]:
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str):
                yield child, f"key {key!r} is not text ({type(key).__name__}); quote it"
            yield from _non_text_keys(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_text_keys(item, f"{path}[{index}]")
