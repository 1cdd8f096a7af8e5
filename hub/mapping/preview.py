"""Preview a mapping on sample raw records: the rows it would write, or why it cannot.

This is what the admin API shows a user editing a mapping, so each record's outcome is
complete: every mapping problem and every record-model violation, each with the mapping path
to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from sdk.errors import MappingError
from sdk.records import standard_record

from .compiled import CompiledMapping
from .problems import validation_problems

__all__ = ["PreviewProblem", "PreviewResult", "PreviewRow", "preview"]


class PreviewRow(BaseModel):
    """A standard row as it would be stored, in JSON form."""

    model_config = ConfigDict(frozen=True)

    table: str
    row: dict[str, Any]


class PreviewProblem(BaseModel):
    """Why a record cannot be mapped: where in the mapping, and what is wrong."""

    model_config = ConfigDict(frozen=True)

    path: str
    reason: str


class PreviewResult(BaseModel):
    """The outcome for the raw record at ``index``: its ``rows``, or its ``errors``."""

    model_config = ConfigDict(frozen=True)

    index: int
    rows: list[PreviewRow] = []
    errors: list[PreviewProblem] = []

    @property
    def ok(self) -> bool:
        """Whether the record maps cleanly."""
        return not self.errors


def preview(
    compiled: CompiledMapping,
    raws: Sequence[Mapping[str, Any]],
    defaults: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    check: Callable[[Any], list[str]] | None = None,
) -> list[PreviewResult]:
    """Apply ``compiled`` to each raw record and validate the rows with the record models.

    ``defaults`` is one mapping for every record, or one per record (records of different
    partitions, e.g. marketplaces, take different shop ids). ``check`` is the stream's own
    record check (``Stream.problems``), which a sync consults before mapping. A record it finds
    fault with, or whose mapping or validation fails, gets its error list and no rows, since
    none of its rows would be stored.
    """
    each = list(defaults) if isinstance(defaults, Sequence) else [defaults] * len(raws)
    return [_preview_one(compiled, index, raw, each[index], check) for index, raw in enumerate(raws)]


def _preview_one(
    compiled: CompiledMapping,
    index: int,
    raw: Mapping[str, Any],
    defaults: Mapping[str, Any] | None,
    check: Callable[[Any], list[str]] | None,
) -> PreviewResult:
    found = check(raw) if check is not None else []
    if found:
        return PreviewResult(index=index, errors=[PreviewProblem(path="record", reason=r) for r in found])
    try:
        pairs = compiled.apply(raw, defaults)
    except MappingError as exc:
        errors = [PreviewProblem(path=path, reason=reason) for path, reason in exc.problems]
        return PreviewResult(index=index, errors=errors)
    rows: list[PreviewRow] = []
    errors = []
    for position, (table, row) in enumerate(pairs):
        try:
            record = standard_record(table).model_validate(row)
        except ValidationError as exc:
            for path, reason in validation_problems(exc, f"targets.{table}.fields"):
                errors.append(PreviewProblem(path=path, reason=f"row {position} ({table}): {reason}"))
            continue
        rows.append(PreviewRow(table=table, row=record.model_dump(mode="json")))
    return PreviewResult(index=index, rows=[] if errors else rows, errors=errors)
