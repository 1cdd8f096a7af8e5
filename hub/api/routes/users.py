"""``/users``: the people of a tenant, with a role and a data scope (admins only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ...store.service_tables import api_keys, users
from ..access import Permission, Principal, Role, Scope
from ..deps import Hub, ObjectId, Page, Paging, require
from ..errors import ApiError
from ..scoping import not_found, record

__all__ = ["router"]

router = APIRouter(prefix="/users", tags=["users"])
Admin = Annotated[Principal, Depends(require(Permission.ADMIN))]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=255, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=128)
    role: Role
    scope: Scope = Field(default_factory=Scope)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=128)
    role: Role | None = None
    scope: Scope | None = None
    disabled: bool | None = None


class UserPublic(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    scope: Scope
    disabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime


def _row(hub: Hub, caller: Principal, user_id: ObjectId) -> UserPublic:
    with hub.ready_store.begin() as conn:
        row = conn.execute(
            select(users).where(users.c.id == user_id, users.c.tenant_id == caller.tenant_id)
        ).first()
    if row is None:
        raise not_found("user", user_id)
    return UserPublic.model_validate(row._asdict())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@router.get("", response_model=Page[UserPublic], summary="List users")
def list_users(hub: Hub, caller: Admin, paging: Paging) -> Page[UserPublic]:
    with hub.ready_store.begin() as conn:
        rows = conn.execute(select(users).where(users.c.tenant_id == caller.tenant_id).order_by(users.c.id))
        items = [UserPublic.model_validate(r._asdict()) for r in rows]
    return Page[UserPublic].of(items, paging)


@router.post("", response_model=UserPublic, status_code=201, summary="Add a user")
def create_user(hub: Hub, caller: Admin, body: UserCreate) -> UserPublic:
    now = _now()
    values: dict[str, Any] = {**body.model_dump(mode="json"), "disabled": False}
    try:
        with hub.ready_store.engine.begin() as conn:
            inserted = conn.execute(
                users.insert().values(tenant_id=caller.tenant_id, created_at=now, updated_at=now, **values)
            )
            key = inserted.inserted_primary_key
            assert key is not None
            user_id = int(key[0])
            record(conn, caller, "user.create", f"user:{user_id}", after=values)
    except IntegrityError:
        raise ApiError(
            409, f"a user with email {body.email!r} exists already", [("body.email", "taken")]
        ) from None
    return _row(hub, caller, user_id)


@router.get("/{user_id}", response_model=UserPublic, summary="Get a user")
def get_user(hub: Hub, caller: Admin, user_id: ObjectId) -> UserPublic:
    return _row(hub, caller, user_id)


@router.patch("/{user_id}", response_model=UserPublic, summary="Change a user's name, role, scope or status")
def update_user(hub: Hub, caller: Admin, user_id: ObjectId, body: UserUpdate) -> UserPublic:
    before = _row(hub, caller, user_id)
    changes = body.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    if changes:
        with hub.ready_store.begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(updated_at=_now(), **changes))
            if changes.get("disabled"):  # a disabled person's keys stop working with them
                conn.execute(
                    update(api_keys)
                    .where(api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
                    .values(revoked_at=_now())
                )
            old = before.model_dump(mode="json")
            record(
                conn,
                caller,
                "user.update",
                f"user:{user_id}",
                before={k: old[k] for k in changes},
                after=changes,
            )
    return _row(hub, caller, user_id)


@router.delete("/{user_id}", status_code=204, summary="Disable a user and revoke their keys")
def delete_user(hub: Hub, caller: Admin, user_id: ObjectId) -> Response:
    update_user(hub, caller, user_id, UserUpdate(disabled=True))
    return Response(status_code=204)
