"""Dependencies every route shares: the hub, the caller, their permission, pagination."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

import httpx
from fastapi import Depends, Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from ..context import HubContext
from .access import Permission, Principal, authenticate
from .errors import ApiError

__all__ = [
    "MAX_ID",
    "Caller",
    "Hub",
    "ObjectId",
    "Page",
    "PageParams",
    "Paging",
    "Transport",
    "hub_of",
    "reject_nul",
    "reject_unknown_query",
    "require",
]

T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, description="An API key: `kpihub apikey create` prints one.")


MAX_ID = 2**63 - 1

ObjectId = Annotated[int, Path(ge=1, le=MAX_ID, description="An object's id.")]
"""A path id: bounded so every database can compare it (a 70-bit id is a 422, not a crash)."""


def _textual(content_type: str | None) -> bool:
    """Whether a body of this type is parsed into text fields: JSON (FastAPI parses a body with
    no content type as JSON too), text and URL-encoded forms. A binary upload (an .xlsx
    workbook, a multipart file) holds NUL bytes by nature and is read by its own parser."""
    if not content_type:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return (
        kind.startswith("text/")
        or kind in ("application/json", "application/x-www-form-urlencoded")
        or (kind.startswith("application/") and kind.endswith("+json"))
    )


async def reject_nul(request: Request) -> None:
    """Refuse NUL characters in the path, the query and any text body: PostgreSQL cannot store
    them in text."""
    if "\x00" in request.url.path or "%00" in str(request.url):
        raise ApiError(422, "the request contains a NUL character, which no field accepts")
    if _textual(request.headers.get("content-type")):
        body = await request.body()
        if b"\\u0000" in body or b"\x00" in body:
            raise ApiError(422, "the request contains a NUL character, which no field accepts")


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route declares, its own and its dependencies' (paging, filters)."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def reject_unknown_query(request: Request) -> None:
    """Refuse query parameters the route does not declare: a misspelt filter (``?conection_id=``)
    would otherwise be ignored silently and answer with everything."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _query_names(route.dependant)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        accepted = ", ".join(sorted(known)) or "none"
        raise ApiError(
            422,
            f"unknown query parameter(s); this route accepts: {accepted}",
            [(f"query.{name[:64]}", "not a parameter of this route") for name in unknown[:10]],
        )


def hub_of(request: Request) -> HubContext:
    hub = request.app.state.hub
    assert isinstance(hub, HubContext)
    return hub


Hub = Annotated[HubContext, Depends(hub_of)]


def _transport(request: Request) -> httpx.AsyncBaseTransport | None:
    """The HTTP transport sources use: ``None`` (the network) unless the app was given one."""
    transport = getattr(request.app.state, "transport", None)
    assert transport is None or isinstance(transport, httpx.AsyncBaseTransport)
    return transport


Transport = Annotated[httpx.AsyncBaseTransport | None, Depends(_transport)]


def _principal(
    hub: Hub, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "send an API key as `Authorization: Bearer <key>`")
    with hub.ready_store.begin() as conn:
        principal = authenticate(conn, credentials.credentials)
    if principal is None:
        raise ApiError(401, "the API key is unknown or revoked; create one with `kpihub apikey create`")
    return principal


Caller = Annotated[Principal, Depends(_principal)]


def require(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency that lets the request through only if the caller's role has ``permission``."""

    def check(principal: Caller) -> Principal:
        if not principal.can(permission):
            raise ApiError(403, f"role {principal.role.value!r} may not {permission.value} here")
        return principal

    return check


class PageParams(BaseModel):
    limit: int
    offset: int


def _paging(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(_paging)]


class Page(BaseModel, Generic[T]):
    """One page of a list: ``items``, the ``total`` matching, and where this page starts."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, items: list[Any], paging: PageParams) -> Page[T]:
        """A page cut from a full list (lists here are small: a tenant's users, connections)."""
        return cls(
            items=items[paging.offset : paging.offset + paging.limit],
            total=len(items),
            limit=paging.limit,
            offset=paging.offset,
        )
