"""``/users``: the people of a tenant, with a role and a data scope (admins only).

An admin gives a user at most its own role and scope, and may change only users already
within its scope. Narrowing a user narrows the keys that act for the user at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ...store.service_tables import api_keys, users
from ..access import Permission, Principal, Role, Scope, role_within
from ..deps import Hub, ObjectId, Page, Paging, require
from ..errors import ApiError, conflict
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
    user = None if row is None else UserPublic.model_validate(row._asdict())
    # A scoped admin sees and manages only the users within its own scope.
    if user is None or not user.scope.within(caller.scope):
        raise not_found("user", user_id)
    return user


def _grantable(caller: Principal, role: Role, scope: Scope) -> None:
    refused = caller.may_grant(role, scope)
    if refused:
        raise ApiError(403, f"{refused}; give users at most your own role and scope", [("body", refused)])


def _narrow_keys(conn: Any, user_id: int, role: Role, scope: Scope) -> list[int]:
    """Bring the user's live keys within its new role and scope; the ids of those changed."""
    changed = []
    rows = conn.execute(
        select(api_keys.c.id, api_keys.c.role, api_keys.c.scope).where(
            api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None)
        )
    )
    for key_id, key_role, key_scope in rows:
        current = Scope.model_validate(dict(key_scope or {}))
        values: dict[str, Any] = {}
        if not role_within(Role(key_role), role):
            values["role"] = role.value
        if not current.within(scope):
            narrowed = current.narrowed_to(scope)
            if narrowed.within(scope):
                values["scope"] = narrowed.model_dump()
            else:  # nothing of the key's scope is left in the user's: the key goes
                values["revoked_at"] = _now()
        if values:
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(**values))
            changed.append(int(key_id))
    return changed


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@router.get("", response_model=Page[UserPublic], summary="List users")
def list_users(hub: Hub, caller: Admin, paging: Paging) -> Page[UserPublic]:
    with hub.ready_store.begin() as conn:
        rows = conn.execute(select(users).where(users.c.tenant_id == caller.tenant_id).order_by(users.c.id))
        items = [UserPublic.model_validate(r._asdict()) for r in rows]
    return Page[UserPublic].of([u for u in items if u.scope.within(caller.scope)], paging)


@router.post(
    "",
    response_model=UserPublic,
    status_code=201,
    responses=conflict("A user with that email exists"),
    summary="Add a user",
)
def create_user(hub: Hub, caller: Admin, body: UserCreate) -> UserPublic:
    _grantable(caller, body.role, body.scope)
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
    role = body.role or before.role
    scope = body.scope if body.scope is not None else before.scope
    if body.role is not None or body.scope is not None:
        _grantable(caller, role, scope)
    if changes:
        with hub.ready_store.begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(updated_at=_now(), **changes))
            if changes.get("disabled"):  # a disabled person's keys stop working with them
                conn.execute(
                    update(api_keys)
                    .where(api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
                    .values(revoked_at=_now())
                )
            narrowed = _narrow_keys(conn, user_id, role, scope)
            old = before.model_dump(mode="json")
            record(
                conn,
                caller,
                "user.update",
                f"user:{user_id}",
                before={k: old[k] for k in changes},
                after=changes,
                **({"keys_narrowed": narrowed} if narrowed else {}),
            )
    return _row(hub, caller, user_id)


@router.delete("/{user_id}", status_code=204, summary="Disable a user and revoke their keys")
def delete_user(hub: Hub, caller: Admin, user_id: ObjectId) -> Response:
    update_user(hub, caller, user_id, UserUpdate(disabled=True))
    return Response(status_code=204)
