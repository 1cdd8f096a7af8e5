"""Merge a client's mapping override onto a plugin's default mapping.

A plugin ships a default mapping; a client changes only what differs for their account (a
custom status, a field their ERP fills). The override names only those parts, so the client
keeps receiving the plugin's fixes to everything else.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sdk.errors import MappingError

__all__ = ["merge_mapping"]


def merge_mapping(default: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``default`` with ``override`` applied; neither input is modified.

    Per target and per field: a field in the override replaces the default's field spec
    entirely (its path, const and transforms together); a field set to ``null`` is removed; a
    target's ``each`` is replaced (``null`` removes it); a target set to ``null`` is removed; a
    target the default lacks is added. Top-level keys other than ``targets`` (``version``) are
    replaced. The result is not checked: compile it with ``compile_mapping``.
    """
    _require_object(default, "default mapping", "")
    _require_object(override, "override", "")
    merged = copy.deepcopy(dict(default))
    for key, value in override.items():
        if key == "targets":
            continue
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = copy.deepcopy(value)
    if "targets" not in override:
        return merged
    _require_object(override["targets"], "override", "targets")
    targets = merged.get("targets", {})
    _require_object(targets, "default mapping", "targets")
    for table, target in override["targets"].items():
        if target is None:
            targets.pop(table, None)
            continue
        _require_object(target, "override", f"targets.{table}")
        base = targets.get(table, {})
        _require_object(base, "default mapping", f"targets.{table}")
        targets[table] = _merge_target(base, target, f"targets.{table}")
    merged["targets"] = targets
    return merged


def _merge_target(base: Mapping[str, Any], override: Mapping[str, Any], path: str) -> dict[str, Any]:
    result = copy.deepcopy(dict(base))
    for key, value in override.items():
        if key == "fields" and value is not None:
            _require_object(value, "override", f"{path}.fields")
            fields = result.get("fields", {})
            _require_object(fields, "default mapping", f"{path}.fields")
            for name, spec in value.items():
                if spec is None:
                    fields.pop(name, None)
                else:
                    fields[name] = copy.deepcopy(spec)
            result["fields"] = fields
        elif value is None:
            result.pop(key, None)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _require_object(value: object, which: str, path: str) -> None:
    if not isinstance(value, Mapping):
        where = f"{which} {path}" if path else which
        reason = f"expected an object, got {type(value).__name__}"
        raise MappingError(f"cannot merge mappings: {where}: {reason}", [(path, f"{which}: {reason}")])
