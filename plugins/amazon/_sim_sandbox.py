"""The static sandbox cases of Amazon's own API models, read at run time, never copied.

``ordersV0.json`` and ``orders_2026-01-01.json`` (Amazon's Selling Partner API models,
Apache-2.0) carry, per operation and status, ``x-amzn-api-sandbox.static`` entries: request
parameters and the exact response. The simulator answers requests that name a ``TEST_CASE_...``
with the matching entry. The files are looked up under ``KPIHUB_SPECS_DIR`` (default
``<repo>/../shared/reference/specs``), in its ``amazon-sp-api`` directory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "ORDERS_2026_MODEL",
    "ORDERS_V0_MODEL",
    "SandboxCase",
    "SpecsAbsent",
    "model_path",
    "orders_model_path",
    "sandbox_answer",
    "specs_dir",
]

ORDERS_V0_MODEL = "ordersV0.json"
ORDERS_2026_MODEL = "orders_2026-01-01.json"


class SpecsAbsent(Exception):
    """The model file is not where ``KPIHUB_SPECS_DIR`` says."""


@dataclass(frozen=True)
class SandboxCase:
    status: int
    response: Any


def specs_dir() -> Path:
    default = Path(__file__).resolve().parents[3] / "shared" / "reference" / "specs"
    return Path(os.environ.get("KPIHUB_SPECS_DIR", default))


def model_path(model: str) -> Path:
    return specs_dir() / "amazon-sp-api" / model


def orders_model_path() -> Path:
    return model_path(ORDERS_V0_MODEL)


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict[str, Any]:
    with open(path, encoding="utf-8") as file:
        model: dict[str, Any] = json.load(file)
    return model


def _cases(path: str, method: str, model_name: str) -> list[tuple[int, dict[str, Any], Any]]:
    file = model_path(model_name)
    try:
        model = _load(str(file), file.stat().st_mtime)
    except (OSError, ValueError) as exc:
        raise SpecsAbsent(
            f"the Amazon API model {file} is absent or unreadable ({exc.__class__.__name__}); "
            f"set KPIHUB_SPECS_DIR to the directory holding amazon-sp-api/{model_name}"
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


def sandbox_answer(
    path: str, method: str, given: Mapping[str, list[str]], model: str = ORDERS_V0_MODEL
) -> SandboxCase | None:
    """The static case of ``model``'s operation ``method path`` the request's parameters match.

    ``given`` holds the request's query and path parameters, list-valued ones split on
    commas. The most specific matching case wins (the one naming the most parameters), so a
    follow-up call with ``NextToken`` gets the second page. Raises ``SpecsAbsent``.
    """
    best: tuple[int, int, Any] | None = None
    for status, parameters, response in _cases(path, method, model):
        if _matches(parameters, given) and (best is None or len(parameters) > best[0]):
            best = (len(parameters), status, response)
    return SandboxCase(best[1], best[2]) if best is not None else None
