"""Turning validation failures into messages that name each field and never echo values."""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["describe_validation"]


def describe_validation(exc: ValidationError, *, prefix: str = "") -> list[tuple[str, str]]:
    """``(field path, reason)`` for each problem, without the offending input.

    Pydantic's own message repeats the input value, which may be a secret; this keeps only
    where the problem is and what it is.
    """
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in error["loc"])
        problems.append((f"{prefix}{path}" if path else prefix.rstrip(".") or "<root>", error["msg"]))
    return problems
