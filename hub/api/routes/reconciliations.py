"""``/reconciliations``: a seller's hand report against kpihub's KPIs, as ``kpihub reconcile``.

The report and its column map arrive as one multipart form (``file``: the .xlsx or .csv
report; ``map``: the YAML column map, as a file or a text field), as the targets workbook upload
does. A reconciliation only reads, so the read permission is enough. A key limited to some
shops reconciles only those: the report's rows about other shops are left out (with a note that
counts them, and nothing that says which shops exist), and totals over several shops (tenant,
platform and site scopes) are refused, since they include shops the key may not see.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from sdk import ConfigError

from ...context import HubContext
from ...kpi.xlsx import WorkbookError
from ...reconcile import ColumnMap, Reconciliation, parse_map, read_report, reconcile
from ...reconcile.colmap import MAX_MAP_BYTES
from ..access import Principal
from ..deps import Caller, Hub
from ..errors import ApiError, ErrorResponse

__all__ = ["MAX_BYTES", "router"]

router = APIRouter(prefix="/reconciliations", tags=["reconciliation"])

MAX_BYTES = 10 * 2**20
"""The largest report accepted, as for a targets workbook."""

_BINARY = {"type": "string", "format": "binary"}
_UPLOAD = {
    "requestBody": {
        "required": True,
        "description": "The report (`file`: .xlsx or .csv, named so) and its YAML column map (`map`).",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": _BINARY, "map": {"type": "string"}},
                    "required": ["file", "map"],
                }
            }
        },
    }
}
_REFUSED: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "The report is larger than 10 MB"},
    415: {"model": ErrorResponse, "description": "The body is not a multipart form"},
}


class ExplanationPublic(BaseModel):
    kind: Literal[
        "missing_from_report", "missing_from_kpihub", "another_day", "another_rate", "another_period"
    ]
    effect: Decimal = Field(description="The part of the difference (kpihub - report) this accounts for.")
    text: str
    shop: str | None
    order_id: str | None
    refund_id: str | None
    amount: Decimal | None = Field(description="In `currency`: the order's or refund's own.")
    currency: str | None
    kpihub_day: dt.date | None
    report_day: dt.date | None
    kpihub_zone: str | None
    report_zone: str | None
    kpihub_rate: Decimal | None
    report_rate: Decimal | None
    order_day: dt.date | None
    refund_day: dt.date | None


class ReconciledValuePublic(BaseModel):
    metric_id: str
    scope_type: str
    scope_id: str
    scope_label: str | None
    period: dt.date
    kpihub: Decimal | None
    report: Decimal | None
    difference: Decimal | None = Field(description="kpihub's value minus the report's.")
    tolerance: Decimal
    unit: str = Field(description="currency (the tenant's base currency), count, ratio, …")
    status: Literal["matched", "explained", "unexplained", "not_in_report", "unknown_in_kpihub"]
    unexplained: Decimal | None = Field(description="What the explanations leave of the difference.")
    cell: str | None = Field(description="Where the report's value is, e.g. 销售日报!C7.")
    note: str | None
    explanations: list[ExplanationPublic]


class ReconciliationPublic(BaseModel):
    report: str
    tenant: str
    scope: str
    grain: str
    currency: str
    basis_version: int | None
    report_zone: str | None
    matched: bool = Field(description="Whether every value agrees within the tolerance.")
    counts: dict[str, int]
    notes: list[str]
    rows: list[ReconciledValuePublic]


def _name(filename: str | None, default: str) -> str:
    """An uploaded file's own name, as messages call it."""
    name = (filename or "").replace("/", "_").replace("\\", "_").replace("\x00", "").strip()
    return name[-120:] or default


async def _form(request: Request) -> tuple[bytes, str, bytes, str]:
    """The report's bytes and name, and the map's."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "multipart/form-data":
        raise ApiError(
            415, "send the report and its column map as the file and map fields of multipart/form-data"
        )
    try:
        form = await request.form(max_files=2, max_fields=10)
    except HTTPException as exc:  # the multipart parser's refusal (a 400)
        raise ApiError(
            422, f"the form cannot be read: {exc.detail}", [("body", "not a multipart form")]
        ) from None
    try:
        report, column_map = form.get("file"), form.get("map")
        if not isinstance(report, UploadFile):
            raise ApiError(
                422, "the form has no file field", [("body.file", "attach the report (.xlsx or .csv)")]
            )
        data, name = await report.read(MAX_BYTES + 1), _name(report.filename, "report.xlsx")
        if isinstance(column_map, UploadFile):
            mapping, map_name = (
                await column_map.read(MAX_MAP_BYTES + 1),
                _name(column_map.filename, "map.yaml"),
            )
        elif isinstance(column_map, str) and column_map.strip():
            mapping, map_name = column_map.encode(), "map.yaml"
        else:
            raise ApiError(422, "the form has no map field", [("body.map", "give the YAML column map")])
    finally:
        await form.close()
    if len(data) > MAX_BYTES:
        raise ApiError(413, "the report is larger than 10 MB; split it", [("body.file", "too large")])
    if not data:
        raise ApiError(422, "the report is empty", [("body.file", "send the report")])
    return data, name, mapping, map_name


def _run(
    hub: HubContext, caller: Principal, colmap: ColumnMap, data: bytes, name: str, map_name: str
) -> Reconciliation:
    report = read_report(io.BytesIO(data), colmap, name=name)
    catalogue = hub.catalogue
    limited = bool(caller.scope.shops or caller.scope.platforms)
    visible = caller.scope.allows_shop if limited else None
    return reconcile(
        hub.ready_store,
        caller.tenant,
        report,
        colmap,
        map_name=map_name,
        catalogue=catalogue,
        visible=visible,
    )


@router.post(
    "",
    response_model=ReconciliationPublic,
    responses=_REFUSED,
    openapi_extra=_UPLOAD,
    summary="Reconcile a seller's report (.xlsx or .csv) with the KPIs and explain each difference",
)
async def create_reconciliation(request: Request, hub: Hub, caller: Caller) -> ReconciliationPublic:
    data, name, mapping, map_name = await _form(request)
    try:
        colmap = parse_map(mapping, map_name)
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("body.map", str(exc))]) from None
    if (caller.scope.shops or caller.scope.platforms) and colmap.scope != "shop":
        raise ApiError(
            403, f"a key limited to some shops reconciles shop figures only, not {colmap.scope} totals"
        )
    try:
        result = await run_in_threadpool(_run, hub, caller, colmap, data, name, map_name)
    except WorkbookError as exc:
        fields = [(f"body.file.{p.cell}", f"{p.where}: {p.why}") for p in exc.problems]
        raise ApiError(422, str(exc), fields) from None
    except ConfigError as exc:
        raise ApiError(422, str(exc), [("body", str(exc))]) from None
    return ReconciliationPublic.model_validate(result.as_dict())
