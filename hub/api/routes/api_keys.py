"""``/api-keys``: create (shown once), list, revoke (admins only).

A key is created with at most its creator's role and scope, and, when it acts for a user, at
most that user's: scopes never widen.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update

from ...store.service_tables import api_keys, users
from ..access import Permission, Principal, Role, Scope, create_api_key, role_within
from ..deps import MAX_ID, Hub, ObjectId, Page, Paging, require
from ..errors import ApiError
from ..scoping import not_found, record

__all__ = ["router"]

router = APIRouter(prefix="/api-keys", tags=["api keys"])
Admin = Annotated[Principal, Depends(require(Permission.ADMIN))]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    role: Role
    scope: Scope = Field(default_factory=Scope)
    user_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The user the key acts for, if any."
    )


class ApiKeyPublic(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart; never the key.")
    role: Role
    scope: Scope
    user_id: int | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself. Shown this once; only its hash is stored.")


def _get(hub: Hub, caller: Principal, key_id: ObjectId) -> ApiKeyPublic:
    with hub.ready_store.begin() as conn:
        row = conn.execute(
            select(api_keys).where(api_keys.c.id == key_id, api_keys.c.tenant_id == caller.tenant_id)
        ).first()
    found = None if row is None else ApiKeyPublic.model_validate(row._asdict())
    # A scoped admin sees and revokes only the keys within its own scope.
    if found is None or not found.scope.within(caller.scope):
        raise not_found("api key", key_id)
    return found


@router.get("", response_model=Page[ApiKeyPublic], summary="List API keys")
def list_keys(hub: Hub, caller: Admin, paging: Paging) -> Page[ApiKeyPublic]:
    with hub.ready_store.begin() as conn:
        rows = conn.execute(
            select(api_keys).where(api_keys.c.tenant_id == caller.tenant_id).order_by(api_keys.c.id)
        )
        items = [ApiKeyPublic.model_validate(r._asdict()) for r in rows]
    return Page[ApiKeyPublic].of([k for k in items if k.scope.within(caller.scope)], paging)


@router.post("", response_model=ApiKeyCreated, status_code=201, summary="Create an API key (shown once)")
def create_key(hub: Hub, caller: Admin, body: ApiKeyCreate) -> ApiKeyCreated:
    refused = caller.may_grant(body.role, body.scope)
    if refused:
        raise ApiError(403, f"{refused}; create keys within your own role and scope", [("body", refused)])
    with hub.ready_store.begin() as conn:
        if body.user_id is not None:
            owner = conn.execute(
                select(users.c.id, users.c.role, users.c.scope, users.c.disabled).where(
                    users.c.id == body.user_id, users.c.tenant_id == caller.tenant_id
                )
            ).first()
            if owner is None or owner.disabled:
                raise not_found("user", body.user_id)
            user_scope = Scope.model_validate(dict(owner.scope or {}))
            if not role_within(body.role, Role(owner.role)) or not body.scope.within(user_scope):
                raise ApiError(
                    403,
                    "a key acting for a user gets at most the user's role and scope",
                    [("body.user_id", "the key would reach beyond its user")],
                )
        key_id, key = create_api_key(
            conn,
            tenant_id=caller.tenant_id,
            name=body.name,
            role=body.role.value,
            scope=body.scope,
            user_id=body.user_id,
            actor=caller.actor,
        )
    return ApiKeyCreated(**_get(hub, caller, key_id).model_dump(), key=key)


@router.get("/{key_id}", response_model=ApiKeyPublic, summary="Get an API key's details")
def get_key(hub: Hub, caller: Admin, key_id: ObjectId) -> ApiKeyPublic:
    return _get(hub, caller, key_id)


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(hub: Hub, caller: Admin, key_id: ObjectId) -> Response:
    before = _get(hub, caller, key_id)
    if before.revoked_at is None:
        with hub.ready_store.begin() as conn:
            now = dt.datetime.now(dt.UTC)
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now))
            record(
                conn,
                caller,
                "api_key.revoke",
                f"api_key:{key_id}",
                before={"revoked_at": None},
                after={"revoked_at": now.isoformat()},
            )
    return Response(status_code=204)
