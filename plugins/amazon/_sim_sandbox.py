"""The static sandbox cases of Amazon's own API models, read at run time, never copied.

``ordersV0.json`` (Amazon's Selling Partner API model, Apache-2.0) carries, per operation and
status, ``x-amzn-api-sandbox.static`` entries: request parameters and the exact response.
The simulator answers requests that name a ``TEST_CASE_...`` with the matching entry. The
files are looked up under ``KPIHUB_SPECS_DIR`` (default ``<repo>/../shared/reference/specs``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["SandboxCase", "SpecsAbsent", "orders_model_path", "sandbox_answer", "specs_dir"]


class SpecsAbsent(Exception):
    """The model file is not where ``KPIHUB_SPECS_DIR`` says."""


@dataclass(frozen=True)
class SandboxCase:
    status: int
    response: Any


def specs_dir() -> Path:
    default = Path(__file__).resolve().parents[3] / "shared" / "reference" / "specs"
    return Path(os.environ.get("KPIHUB_SPECS_DIR", default))


def orders_model_path() -> Path:
    return specs_dir() / "amazon-sp-api" / "ordersV0.json"


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict[str, Any]:
    with open(path, encoding="utf-8") as file:
        model: dict[str, Any] = json.load(file)
    return model


def _cases(path: str, method: str) -> list[tuple[int, dict[str, Any], Any]]:
    model_path = orders_model_path()
    try:
        model = _load(str(model_path), model_path.stat().st_mtime)
    except (OSError, ValueError) as exc:
        raise SpecsAbsent(
            f"the Amazon API model {model_path} is absent or unreadable ({exc.__class__.__name__}); "
            "set KPIHUB_SPECS_DIR to the directory holding amazon-sp-api/ordersV0.json"
        ) from None
    operation = model.get("paths", {}).get(path, {}).get(method, {})
    found = []
    for status, answer in operation.get("responses", {}).items():
        for case in answer.get("x-amzn-api-sandbox", {}).get("static", []):
            parameters = case.get("request", {}).get("parameters", {})
            found.append((int(status), parameters, case.get("response")))
    return found


def _matches(expected: Mapping[str, Any], given: Mapping[str, list[str]]) -> bool:
    for name, spec in expected.items():
        value = spec.get("value") if isinstance(spec, dict) else spec
        wanted = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        if given.get(name) != wanted:
            return False
    return True


def sandbox_answer(path: str, method: str, given: Mapping[str, list[str]]) -> SandboxCase | None:
    """The static case of the model's operation ``method path`` the request's parameters match.

    ``given`` holds the request's query and path parameters, list-valued ones split on
    commas. The most specific matching case wins (the one naming the most parameters), so a
    follow-up call with ``NextToken`` gets the second page. Raises ``SpecsAbsent``.
    """
    best: tuple[int, int, Any] | None = None
    for status, parameters, response in _cases(path, method):
        if _matches(parameters, given) and (best is None or len(parameters) > best[0]):
            best = (len(parameters), status, response)
    return SandboxCase(best[1], best[2]) if best is not None else None
