"""API keys, roles and data scopes: who may do what, on which shops.

A key is ``kph_`` followed by 32 random bytes (URL-safe base64). Only its sha256 is stored:
with that much entropy a fast hash is as safe as a slow KDF and keeps every request to one
indexed look-up. The key is shown once, when it is created.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, select, update

from sdk import ConfigError

from ..connections import audit, ensure_tenant
from ..store import inserted_id
from ..store.service_tables import api_keys
from ..store.tables import tenants

__all__ = [
    "KEY_PREFIX",
    "Permission",
    "Principal",
    "Role",
    "Scope",
    "authenticate",
    "create_api_key",
    "hash_key",
    "role_within",
]

KEY_PREFIX = "kph_"


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    OPERATOR = "operator"
    AGENCY = "agency"
    VIEWER = "viewer"


class Permission(enum.StrEnum):
    READ = "read"
    """See data and configuration within the key's scope."""
    OPERATE = "operate"
    """Run a sync now, check a connection: actions that change no configuration."""
    CONFIGURE = "configure"
    """Change connections, field mappings, schedules: what feeds the numbers."""
    ADMIN = "admin"
    """Users, API keys, the tenant's settings, the audit log."""


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MANAGER: frozenset({Permission.READ, Permission.OPERATE, Permission.CONFIGURE}),
    Role.OPERATOR: frozenset({Permission.READ, Permission.OPERATE, Permission.CONFIGURE}),
    # An agency runs shops for the seller and is assessed on them: it may sync its shops but
    # never change what feeds its own numbers.
    Role.AGENCY: frozenset({Permission.READ, Permission.OPERATE}),
    Role.VIEWER: frozenset({Permission.READ}),
}


class Scope(BaseModel):
    """A data scope: empty lists mean "all"; a non-empty list limits to the ids in it."""

    model_config = ConfigDict(extra="forbid")

    shops: list[str] = Field(default_factory=list, max_length=1000)
    platforms: list[str] = Field(default_factory=list, max_length=50)
    categories: list[str] = Field(default_factory=list, max_length=1000)

    @property
    def unlimited(self) -> bool:
        return not (self.shops or self.platforms or self.categories)

    def allows_shop(self, platform: str | None, shop_id: str | None) -> bool:
        if self.platforms and platform not in self.platforms:
            return False
        return not self.shops or shop_id in self.shops

    def within(self, other: Scope) -> bool:
        """Whether this scope reaches nothing ``other`` does not: each list ``other`` limits is
        limited here too, to a subset of it."""
        return all(
            not bound or (bool(mine) and set(mine) <= set(bound))
            for mine, bound in (
                (self.shops, other.shops),
                (self.platforms, other.platforms),
                (self.categories, other.categories),
            )
        )

    def narrowed_to(self, other: Scope) -> Scope:
        """This scope cut down to ``other``: where ``other`` limits a list, the intersection
        (or ``other``'s list where this one is unlimited)."""

        def cut(mine: list[str], bound: list[str]) -> list[str]:
            if not bound:
                return list(mine)
            return [x for x in mine if x in bound] if mine else list(bound)

        return Scope(
            shops=cut(self.shops, other.shops),
            platforms=cut(self.platforms, other.platforms),
            categories=cut(self.categories, other.categories),
        )

    def allows_shops(self, platform: str | None, shop_ids: set[str]) -> bool:
        """Whether every shop of a connection is in scope; a connection with no known shop
        is visible only to an unlimited scope."""
        if self.platforms and platform not in self.platforms:
            return False
        if not self.shops:
            return True
        return bool(shop_ids) and shop_ids <= set(self.shops)


@dataclass(frozen=True)
class Principal:
    """The caller of a request: a key of one tenant, with a role and a scope."""

    key_id: int
    tenant_id: int
    tenant: str
    name: str
    role: Role
    scope: Scope = field(default_factory=Scope)

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        return f"apikey:{self.key_id}:{self.name}"

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def may_grant(self, role: Role, scope: Scope) -> str | None:
        """Why this principal may not give someone ``role`` and ``scope``, or ``None``: a key
        or user it creates gets at most its own permissions, within its own scope."""
        if not role_within(role, self.role):
            return f"a {self.role.value} key cannot grant the {role.value} role"
        if not scope.within(self.scope):
            return "the scope reaches shops, platforms or categories outside this key's own scope"
        return None


def role_within(role: Role, bound: Role) -> bool:
    """Whether ``role`` can do nothing ``bound`` cannot."""
    return ROLE_PERMISSIONS[role] <= ROLE_PERMISSIONS[bound]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_api_key(
    conn: Connection,
    *,
    tenant: str | None = None,
    tenant_id: int | None = None,
    name: str,
    role: str,
    scope: Scope | None = None,
    user_id: int | None = None,
    actor: str,
) -> tuple[int, str]:
    """Store a new key (its hash) and return its id and the key itself, to show once."""
    try:
        valid_role = Role(role)
    except ValueError:
        raise ConfigError(f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}") from None
    if tenant_id is None:
        if not tenant:
            raise ConfigError("name the tenant the key belongs to")
        tenant_id = ensure_tenant(conn, tenant)
    scope = scope or Scope()
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    inserted = conn.execute(
        api_keys.insert().values(
            tenant_id=tenant_id,
            user_id=user_id,
            name=name,
            prefix=key[:12],
            key_hash=hash_key(key),
            role=valid_role.value,
            scope=scope.model_dump(),
            created_at=_now(),
        )
    )
    key_id = inserted_id(inserted)
    audit(
        conn,
        actor=actor,
        action="api_key.create",
        target=f"api_key:{key_id}",
        detail={"after": {"name": name, "role": valid_role.value, "scope": scope.model_dump(), "key": "***"}},
        tenant_id=tenant_id,
    )
    return key_id, key


def authenticate(conn: Connection, key: str) -> Principal | None:
    """The principal for ``key``, or ``None`` if it is unknown or revoked."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    row = conn.execute(
        select(api_keys, tenants.c.name.label("tenant"))
        .join(tenants, tenants.c.id == api_keys.c.tenant_id)
        .where(api_keys.c.key_hash == hash_key(key), api_keys.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    now = _now()
    # Touch at most once a minute: a busy key should not turn every read into a write.
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=now))
    return Principal(
        key_id=int(row.id),
        tenant_id=int(row.tenant_id),
        tenant=row.tenant,
        name=row.name,
        role=Role(row.role),
        scope=Scope.model_validate(_scope_dict(row.scope)),
    )


def _scope_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}
