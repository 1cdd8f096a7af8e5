"""``/files``: the tenant's upload area, which its file connections read from.

A files connection reads only from its tenant's upload area on the hub's host
(``<KPIHUB_DATA_DIR>/<tenant>/uploads``): this is how the seller's spreadsheets (staff, teams,
costs, rates) get there. Names are relative paths of plain segments; a file replaces the one
of the same name. Uploads feed tenant-wide tables, so only keys without a shop limit may
change them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from ..access import Permission, Principal
from ..deps import Caller, Hub, Page, Paging, require
from ..errors import ApiError
from ..limits import UPLOAD_LIMITS
from ..scoping import not_found, record

__all__ = ["router"]

router = APIRouter(prefix="/files", tags=["files"])
Configure = Annotated[Principal, Depends(require(Permission.CONFIGURE))]

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_MAX_DEPTH = 4


class FilePublic(BaseModel):
    path: str = Field(description="Relative to the upload area; what a files connection's directory names.")
    bytes: int
    modified_at: dt.datetime


def _area(hub: Hub, caller: Principal) -> Path:
    area = hub.egress.areas(caller.tenant).uploads
    area.mkdir(parents=True, exist_ok=True)
    return area.resolve()


def _place(area: Path, path: str) -> Path:
    segments = path.split("/")
    if len(segments) > _MAX_DEPTH or not all(_SEGMENT.match(s) for s in segments):
        raise ApiError(
            422,
            "a file name is up to four folder levels of letters, digits, _ . - (no leading dot)",
            [("path.path", "not a plain relative name")],
        )
    placed = (area / path).resolve()
    if not placed.is_relative_to(area):  # a link inside the area pointing out of it
        raise ApiError(422, "the name leads out of the upload area", [("path.path", "outside the area")])
    return placed


def _unlimited(caller: Principal) -> None:
    if not caller.scope.unlimited:
        raise ApiError(403, "a key limited to some shops cannot change the tenant's uploaded files")


@router.get("", response_model=Page[FilePublic], summary="List the uploaded files")
def list_files(hub: Hub, caller: Caller, paging: Paging) -> Page[FilePublic]:
    area = _area(hub, caller)
    items = [
        FilePublic(
            path=p.relative_to(area).as_posix(),
            bytes=p.stat().st_size,
            modified_at=dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC),
        )
        for p in sorted(area.rglob("*"))
        if p.is_file() and not p.is_symlink()
    ]
    return Page[FilePublic].of(items, paging)


@router.put(
    "/{path:path}",
    response_model=FilePublic,
    responses={413: {"description": "Larger than the upload limit"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    summary="Upload a file (CSV or JSON Lines) into the tenant's upload area",
)
async def put_file(hub: Hub, caller: Configure, path: str, request: Request) -> FilePublic:
    _unlimited(caller)
    area = _area(hub, caller)
    target = _place(area, path)
    limit = next(limit for pattern, limit in UPLOAD_LIMITS if pattern.match(f"/api/v1/files/{path}"))
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and moved over it: a cut upload never leaves half a file.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, f"the file is larger than {limit:,} bytes")
                out.write(chunk)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    with hub.ready_store.begin() as conn:
        record(conn, caller, "file.upload", f"file:{path}", after={"bytes": size})
    stat = target.stat()
    return FilePublic(
        path=path, bytes=stat.st_size, modified_at=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
    )


@router.delete("/{path:path}", status_code=204, summary="Delete an uploaded file")
def delete_file(hub: Hub, caller: Configure, path: str) -> Response:
    _unlimited(caller)
    target = _place(_area(hub, caller), path)
    if not target.is_file():
        raise not_found("file", path)
    target.unlink()
    with hub.ready_store.begin() as conn:
        record(conn, caller, "file.delete", f"file:{path}", before={"path": path})
    return Response(status_code=204)
