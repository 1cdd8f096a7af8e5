"""The one error shape of the admin API, and the handlers that give every error that shape.

::

    {"error": {"status": 422, "code": "invalid_request", "message": "...",
               "fields": [{"path": "body.options.page_size", "reason": "..."}]}}

FastAPI's own validation errors, Starlette's 404/405, kpihub errors and anything unexpected
all pass through here; none echoes the offending input, which may be a secret.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from sdk import (
    ConfigError,
    CredentialError,
    KpihubError,
    MappingError,
    NotFound,
    PluginError,
    StoreError,
    TransientError,
)

from ..redaction import scrub

__all__ = ["ApiError", "ErrorBody", "ErrorResponse", "FieldProblem", "conflict", "install_error_handlers"]

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal_error",
    503: "unavailable",
}


class FieldProblem(BaseModel):
    path: str
    reason: str


class ErrorBody(BaseModel):
    status: int
    code: str
    message: str
    fields: list[FieldProblem] = []


class ErrorResponse(BaseModel):
    """Every error the API returns, whatever the route and whatever went wrong."""

    error: ErrorBody


class ApiError(Exception):
    """An error to answer with: a status, a message, and the fields at fault."""

    def __init__(
        self, status: int, message: str, fields: list[tuple[str, str]] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or []
        self.code = code or CODES.get(status, "error")


def render(
    status: int,
    message: str,
    fields: list[tuple[str, str]] | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    # Whatever a message quotes (a plugin's error, a URL), credentials in it never go out.
    body = ErrorBody(
        status=status,
        code=code or CODES.get(status, "error"),
        message=scrub(message),
        fields=[FieldProblem(path=p, reason=scrub(r)) for p, r in fields or []],
    )
    return JSONResponse(ErrorResponse(error=body).model_dump(), status_code=status, headers=headers)


def _kpihub_status(exc: KpihubError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, ConfigError | CredentialError | MappingError | PluginError):
        return 422
    if isinstance(exc, StoreError | TransientError):
        return 503
    return 422


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return render(exc.status, exc.message, exc.fields, exc.code)


async def _kpihub_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KpihubError)
    fields = list(exc.problems) if isinstance(exc, MappingError) else []
    return render(_kpihub_status(exc), str(exc), fields)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = []
    for error in exc.errors():
        path = ".".join(str(part) for part in error.get("loc", ())) or "<root>"
        fields.append((path, str(error.get("msg", "invalid"))))
    where = ", ".join(path for path, _ in fields[:5])
    return render(422, f"the request is invalid at {where}", fields)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "error")
    if exc.status_code == 404 and message == "Not Found":
        message = "no such route; see /openapi.json for the API's routes"
    if exc.status_code == 405:
        message = "this route does not accept that method; see /openapi.json"
    if exc.status_code == 400:
        # FastAPI answers 400 for a body it cannot even decode (not UTF-8, not JSON); to the
        # client that is invalid input like any other, so it gets the documented 422 naming it.
        return render(422, "the request body is not valid JSON text", [("body", "send UTF-8 encoded JSON")])
    return render(exc.status_code, message, headers=getattr(exc, "headers", None))


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # The message stays generic: an unexpected exception's text may quote anything.
    log.error("unexpected error answering a request: %s", type(exc).__name__, exc_info=exc)
    return render(500, "the hub failed unexpectedly; the error is in its log")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(KpihubError, _kpihub_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def conflict(description: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry of a route that answers 409 when the state forbids the change."""
    return {409: {"model": ErrorResponse, "description": description}}
