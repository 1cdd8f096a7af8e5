"""The request bodies the Power BI sink sends, checked against a JSON schema: the official
swagger's definitions when ``KPIHUB_SPECS_DIR`` holds it, else the same rules written out here.

The validator covers the keywords those definitions use (``$ref``, ``type``, ``required``,
``properties``, ``items``, ``enum``, ``pattern``); patterns are compiled with
``strict_pattern`` so they mean what the swagger intends.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from .limits import _COLUMN_NAME_SWAGGER, _TABLE_NAME_SWAGGER, strict_pattern

__all__ = ["DEFINITIONS", "load_definitions", "validate"]

DEFINITIONS = ("CreateDatasetRequest", "Table", "Column", "Measure", "Relationship", "PostRowsRequest")
SWAGGER = Path("powerbi") / "swagger.json"

_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "array": list,
    "object": dict,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
}

_NAME = {"type": "string", "pattern": _TABLE_NAME_SWAGGER}
_COLUMN = {"type": "string", "pattern": _COLUMN_NAME_SWAGGER}
_MODES = ["AsAzure", "AsOnPrem", "Push", "Streaming", "PushStreaming"]
_DIRECTIONS = ["OneDirection", "BothDirections", "Automatic"]
_OWN: dict[str, Any] = {
    "CreateDatasetRequest": {
        "required": ["name", "tables"],
        "properties": {
            "name": {"type": "string"},
            "tables": {"type": "array", "items": {"$ref": "#/definitions/Table"}},
            "relationships": {"type": "array", "items": {"$ref": "#/definitions/Relationship"}},
            "datasources": {"type": "array", "items": {"type": "object"}},
            "defaultMode": {
                "type": "string",
                "enum": ["AsAzure", "AsOnPrem", "Push", "Streaming", "PushStreaming"],
            },
        },
    },
    "Table": {
        "required": ["name", "columns"],
        "properties": {
            "name": _NAME,
            "columns": {"type": "array", "items": {"$ref": "#/definitions/Column"}},
            "rows": {"type": "array", "items": {"type": "object"}},
            "measures": {"type": "array", "items": {"$ref": "#/definitions/Measure"}},
            "isHidden": {"type": "boolean"},
            "description": {"type": "string"},
            "source": {"type": "array", "items": {"type": "object", "required": ["expression"]}},
        },
    },
    "Column": {
        "required": ["name", "dataType"],
        "properties": {
            "name": _COLUMN,
            "dataType": {"type": "string"},
            "formatString": {"type": "string"},
            "sortByColumn": {"type": "string"},
            "dataCategory": {"type": "string"},
            "isHidden": {"type": "boolean"},
            "summarizeBy": {"type": "string"},
        },
    },
    "Measure": {
        "required": ["name", "expression"],
        "properties": {
            "name": _COLUMN,
            "expression": {"type": "string"},
            "formatString": {"type": "string"},
            "description": {"type": "string"},
            "isHidden": {"type": "boolean"},
        },
    },
    "Relationship": {
        "required": ["name", "fromTable", "fromColumn", "toTable", "toColumn"],
        "properties": {
            "name": _NAME,
            "crossFilteringBehavior": {
                "type": "string",
                "enum": ["OneDirection", "BothDirections", "Automatic"],
            },
            "fromTable": _NAME,
            "fromColumn": _COLUMN,
            "toTable": _NAME,
            "toColumn": _COLUMN,
        },
    },
    "PostRowsRequest": {"properties": {"rows": {"type": "array", "items": {"type": "object"}}}},
}


@cache
def load_definitions(specs_dir: str | None = None) -> tuple[dict[str, Any], str]:
    """The definitions to validate with and where they come from (the swagger's path, or
    ``"built-in"``); ``specs_dir`` defaults to ``KPIHUB_SPECS_DIR``."""
    folder = specs_dir or os.environ.get("KPIHUB_SPECS_DIR")
    if folder:
        path = Path(folder) / SWAGGER
        if path.is_file():
            definitions = json.loads(path.read_text(encoding="utf-8"))["definitions"]
            return definitions, str(path)
    return _OWN, "built-in"


def validate(definition: str, body: Any, definitions: dict[str, Any]) -> list[str]:
    """Problems of ``body`` against ``definitions[definition]``; empty when it is valid."""
    problems: list[str] = []
    _check({"$ref": f"#/definitions/{definition}"}, body, definitions, "$", problems)
    return problems


def _check(schema: dict[str, Any], value: Any, defs: dict[str, Any], path: str, out: list[str]) -> None:
    if "$ref" in schema:
        _check(defs[schema["$ref"].rsplit("/", 1)[1]], value, defs, path, out)
        return
    for part in schema.get("allOf", ()):
        _check(part, value, defs, path, out)
    kind = schema.get("type")
    if kind is not None:
        expected = _TYPES[kind]
        if not isinstance(value, expected) or (kind in ("integer", "number") and isinstance(value, bool)):
            out.append(f"{path}: expected {kind}, got {type(value).__name__}")
            return
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if "pattern" in schema and isinstance(value, str) and not _pattern(schema["pattern"]).search(value):
        out.append(f"{path}: {value!r} does not match the name pattern")
    if isinstance(value, dict):
        out.extend(
            f"{path}: {name!r} is a required property"
            for name in schema.get("required", ())
            if name not in value
        )
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                _check(sub, value[name], defs, f"{path}.{name}", out)
    if isinstance(value, list) and "items" in schema:
        items = schema["items"]
        if items == {"type": "object"}:
            # Rows: thousands per request, and only their kind is specified.
            bad = next((i for i, item in enumerate(value) if not isinstance(item, dict)), None)
            if bad is not None:
                out.append(f"{path}[{bad}]: expected object")
            return
        for i, item in enumerate(value):
            _check(items, item, defs, f"{path}[{i}]", out)


@cache
def _pattern(pattern: str) -> Any:
    return strict_pattern(pattern)
