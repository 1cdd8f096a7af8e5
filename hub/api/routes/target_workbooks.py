"""``/targets/xlsx``: targets to and from Excel workbooks, as ``kpihub targets export/import``.

An import writes targets, which feed assessments: it takes the configure right and an
unlimited key (see ``management.py``). It is all or nothing: a workbook with any bad cell is a
422 naming every cell (row, column, why), and nothing is stored. An export holds the targets
the key may see.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from sdk import ConfigError

from ...kpi.targets import list_targets
from ...kpi.xlsx import WorkbookError, import_xlsx, write_targets_xlsx
from ..deps import Caller, Hub
from ..errors import ApiError, ErrorResponse
from .management import METRIC_ID, Configure, TargetGrain, _unlimited, known_metrics, target_visible

__all__ = ["XLSX", "router"]

router = APIRouter(prefix="/targets", tags=["kpi management"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_BYTES = 10 * 2**20
"""The largest workbook accepted: some 100,000 targets."""

_BINARY = {"type": "string", "format": "binary"}
_UPLOAD = {
    "requestBody": {
        "required": True,
        "description": "The workbook: the body itself, or the `file` field of a form.",
        "content": {
            XLSX: {"schema": _BINARY},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": _BINARY}, "required": ["file"]}
            },
        },
    }
}
_REFUSED: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "The workbook is larger than 10 MB"},
    415: {"model": ErrorResponse, "description": "The body is neither an .xlsx workbook nor a form"},
}


class TargetImportPublic(BaseModel):
    workbook: str = Field(description="The name the workbook was imported under (audited).")
    imported: int = Field(description="Targets set; rows with the key of a stored target replace it.")


@router.get(
    "/xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {"schema": _BINARY}}, "description": "The targets as a workbook"}},
    summary="Export targets (with their attainment) as an .xlsx workbook",
)
def export_targets(
    hub: Hub,
    caller: Caller,
    metric_id: Annotated[str | None, Query(pattern=METRIC_ID)] = None,
    grain: TargetGrain | None = None,
    period: Annotated[
        str | None, Query(max_length=16, description="e.g. 2026-11, 2026-Q4, 2026; needs grain.")
    ] = None,
) -> Response:
    try:
        targets = list_targets(
            hub.ready_store, tenant=caller.tenant, metric_id=metric_id, grain=grain, period=period
        )
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("query.period", str(exc))]) from None
    book = io.BytesIO()
    write_targets_xlsx([t for t in targets if target_visible(caller, t.scope_type, t.scope_id)], book)
    return Response(
        book.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="targets.xlsx"'},
    )


def _upload_name(filename: str | None) -> str:
    """The uploaded file's own name, as the audit log and the messages call it."""
    name = (filename or "").replace("/", "_").replace("\\", "_").replace("\x00", "").strip()
    return name[-120:] or "targets.xlsx"


async def _workbook(request: Request) -> tuple[bytes, str]:
    """The uploaded workbook's bytes and the name it goes by."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BYTES + 64 * 1024:
        raise ApiError(413, "the workbook is larger than 10 MB; split it", [("body", "too large")])
    if kind == XLSX:
        data, name = await request.body(), "targets.xlsx"
    elif kind == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=10)
        except HTTPException as exc:  # the multipart parser's refusal (a 400)
            raise ApiError(
                422, f"the form cannot be read: {exc.detail}", [("body", "not a multipart form")]
            ) from None
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ApiError(
                    422, "the form has no file field", [("body.file", "attach the .xlsx workbook")]
                )
            data, name = await upload.read(MAX_BYTES + 1), _upload_name(upload.filename)
        finally:
            await form.close()
    else:
        raise ApiError(415, f"send the workbook as {XLSX} or as the file field of multipart/form-data")
    if len(data) > MAX_BYTES:
        raise ApiError(413, "the workbook is larger than 10 MB; split it", [("body", "too large")])
    if not data:
        raise ApiError(422, "the workbook is empty", [("body", "send the .xlsx workbook")])
    return data, name


@router.post(
    "/xlsx",
    response_model=TargetImportPublic,
    responses=_REFUSED,
    openapi_extra=_UPLOAD,
    summary="Import targets from an .xlsx workbook (all or nothing)",
)
async def import_targets(request: Request, hub: Hub, caller: Configure) -> TargetImportPublic:
    _unlimited(caller)
    data, name = await _workbook(request)
    try:
        imported = await run_in_threadpool(
            import_xlsx,
            hub.ready_store,
            io.BytesIO(data),
            name=name,
            tenant=caller.tenant,
            actor=caller.actor,
            known_metrics=known_metrics(hub),
        )
    except WorkbookError as exc:
        fields = [(f"body.{p.cell}", f"{p.where}: {p.why}") for p in exc.problems]
        raise ApiError(422, str(exc), fields) from None
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("body", str(exc))]) from None
    return TargetImportPublic(workbook=name, imported=imported)
