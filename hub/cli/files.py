"""Reading the JSON or YAML files and standard input that CLI options point at."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from sdk import ConfigError

from ..mapping import load_mapping_text

__all__ = ["read_mapping", "read_structured", "read_text"]


def read_mapping(source: str) -> dict[str, Any]:
    """A mapping document from a file (or ``-``), with the mapping loader's precise errors."""
    text, name = read_text(source, "mapping")
    return load_mapping_text(text, filename=name)


def read_text(source: str, what: str) -> tuple[str, str]:
    """The text of ``source`` (a path, or ``-`` for standard input) and a name for messages."""
    if source == "-":
        text, name = sys.stdin.read(), "standard input"
    else:
        path = Path(source)
        try:
            text, name = path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            raise ConfigError(f"the {what} file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the {what} file {path}: {exc}") from None
    return text, name


def read_structured(source: str, what: str) -> Any:
    """Parse ``source`` (a path, or ``-`` for standard input) as JSON or YAML."""
    text, name = read_text(source, what)
    if not text.strip():
        raise ConfigError(f"the {what} in {name} is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        # Only the position is shown: the text may hold credentials.
        raise ConfigError(f"the {what} in {name} is neither valid JSON nor valid YAML{where}") from None
