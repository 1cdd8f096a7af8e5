"""Preview a mapping on sample raw records: the rows it would write, or why it cannot.

This is what the admin API shows a user editing a mapping, so each record's outcome is
complete: every mapping problem and every record-model violation, each with the mapping path
to fix.

Anyone who may read a connection may preview, and a mapping's JMESPath runs in pure Python
in the server's process, so a preview is bounded: the override's size
(``MAX_OVERRIDE_BYTES``), the sample's (``MAX_RECORDS``), the work of records times fields
(``MAX_WORK``) and its time (``PREVIEW_SECONDS``). Past any of them it is refused with a
``PreviewTooCostly`` naming the bound, rather than starving the requests around it.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import jmespath
from pydantic import BaseModel, ConfigDict, ValidationError

from sdk.errors import ConfigError, MappingError
from sdk.records import standard_record

from .compiled import CompiledMapping
from .problems import validation_problems

__all__ = [
    "MAX_OVERRIDE_BYTES",
    "MAX_RECORDS",
    "MAX_WORK",
    "PREVIEW_SECONDS",
    "PreviewProblem",
    "PreviewResult",
    "PreviewRow",
    "PreviewTooCostly",
    "check_override_size",
    "preview",
]

MAX_OVERRIDE_BYTES = 128 * 1024
"""The largest override (as compact JSON) that is validated or previewed. One that remaps
every field of every standard table is under 50 KB; a larger one is a mistake or an attack."""
MAX_RECORDS = 200
"""Sample records one preview maps at most (the API's ``limit`` stops there too)."""
MAX_WORK = 10_000
"""Field evaluations one preview may ask for: sample records times the fields the mapping
maps (a stream's default mapping has at most some 35, so 200 of its records fit)."""
PREVIEW_SECONDS = 5.0
"""How long one preview may run. Pure-Python JMESPath over large records can be slow beyond
what the bounds above can see (a long chain of functions on one field), so time cuts it off."""


class PreviewTooCostly(ConfigError):
    """A preview or check asks for more than one request may do; ``limit`` names the bound
    (``MAX_OVERRIDE_BYTES``, ``MAX_RECORDS``, ``MAX_WORK`` or ``PREVIEW_SECONDS``)."""

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


_WORK = (str(Path(jmespath.__file__).parent) + os.sep, str(Path(__file__).parent) + os.sep)
"""Where a preview spends its time: JMESPath's interpreter and the mapping's own code."""
_SUSPENDABLE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


class _OutOfTime(BaseException):
    """Raised inside a preview whose time is up. A ``BaseException``, so that no ``except
    Exception`` in a transform or record check can swallow it and run on."""


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


def check_override_size(override: object) -> None:
    """Refuse an override larger than ``MAX_OVERRIDE_BYTES`` before it is merged or compiled."""
    size = len(json.dumps(override, separators=(",", ":"), ensure_ascii=False, default=str).encode())
    if size > MAX_OVERRIDE_BYTES:
        raise PreviewTooCostly(
            f"the override is {size // 1024} KB; a mapping override may be at most "
            f"{MAX_OVERRIDE_BYTES // 1024} KB (one remapping every standard field is under 50 KB)",
            limit="MAX_OVERRIDE_BYTES",
        )


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

    Raises ``PreviewTooCostly`` for more than ``MAX_RECORDS`` records or ``MAX_WORK`` field
    evaluations, and when the preview runs longer than ``PREVIEW_SECONDS``.
    """
    fields = sum(len(names) for names in compiled.mapped.values())
    if len(raws) > MAX_RECORDS:
        raise PreviewTooCostly(
            f"a preview maps at most {MAX_RECORDS} records, not {len(raws)}; preview fewer records",
            limit="MAX_RECORDS",
        )
    if len(raws) * fields > MAX_WORK:
        raise PreviewTooCostly(
            f"previewing {len(raws)} records with a mapping of {fields} fields is "
            f"{len(raws) * fields} field evaluations, more than {MAX_WORK}; preview at most "
            f"{MAX_WORK // fields} records",
            limit="MAX_WORK",
        )
    each = list(defaults) if isinstance(defaults, Sequence) else [defaults] * len(raws)
    seconds = PREVIEW_SECONDS
    deadline = time.monotonic() + seconds

    def trace(frame: FrameType, event: str, arg: Any, clock: Callable[[], float] = time.monotonic) -> None:
        # Called at every Python call in this thread (no line events), so it stops JMESPath's
        # interpreter and the transforms in their tracks. Only their own frames are stopped:
        # a finalizer of someone else's garbage may run here too, and must not be cut off, nor
        # may a generator, which may be being closed.
        code = frame.f_code
        if clock() > deadline and code.co_filename.startswith(_WORK) and not code.co_flags & _SUSPENDABLE:
            raise _OutOfTime

    results: list[PreviewResult] = []
    previous = sys.gettrace()
    try:
        for index, raw in enumerate(raws):
            if time.monotonic() > deadline:  # also stops one whose _OutOfTime was swallowed
                raise _OutOfTime
            sys.settrace(trace)
            try:
                results.append(_preview_one(compiled, index, raw, each[index], check))
            finally:
                sys.settrace(previous)
    except _OutOfTime:
        raise PreviewTooCostly(
            f"the preview took longer than {seconds:g} s (after {len(results)} of {len(raws)} "
            "records); preview fewer records",
            limit="PREVIEW_SECONDS",
        ) from None
    return results


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
