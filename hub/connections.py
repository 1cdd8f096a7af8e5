"""Tenants and connections: creating them, finding them, and building their sources."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, select, update

from sdk import ConfigError, CredentialError, CredentialSpec, NotFound, Source, SourceContext

from .destinations import Egress, changed_destinations, check_fields, place_fields, plugin_hosts
from .egress import EgressGuard, SyncEgressGuard
from .errors import describe_validation
from .plugins import Registry
from .store import Store, inserted_id
from .store.tables import audit_log, connections, tenants
from .vault import Vault, current_key_id

__all__ = [
    "ConnectionInfo",
    "add_connection",
    "audit",
    "ensure_tenant",
    "get_connection",
    "list_connections",
    "merge_credentials",
    "open_source",
    "operator_egress",
    "set_connection_status",
    "update_connection",
    "validate_model",
]

DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class ConnectionInfo:
    """A stored connection as the hub shows it: credentials only as "set" or not."""

    id: int
    tenant_id: int
    tenant: str
    name: str
    plugin: str
    options: dict[str, Any]
    status: str
    has_credentials: bool

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tenant": self.tenant,
            "plugin": self.plugin,
            "status": self.status,
            "options": self.options,
            "credentials": "set" if self.has_credentials else "not set",
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def audit(
    conn: Connection, *, actor: str, action: str, target: str, detail: dict[str, Any], tenant_id: int | None
) -> None:
    """Append one line to the audit log, inside the caller's transaction."""
    conn.execute(
        audit_log.insert().values(
            at=_now(), actor=actor, action=action, target=target, detail=detail, tenant_id=tenant_id
        )
    )


def ensure_tenant(conn: Connection, name: str) -> int:
    """The id of tenant ``name``, created on first use."""
    found = conn.execute(select(tenants.c.id).where(tenants.c.name == name)).scalar_one_or_none()
    if found is not None:
        return int(found)
    inserted = conn.execute(tenants.insert().values(name=name, created_at=_now()))
    return inserted_id(inserted)


M = TypeVar("M", bound=BaseModel)


def validate_model(model: type[M], values: Any, what: str) -> M:
    """Validate ``values`` against ``model`` or raise one ``ConfigError`` naming every field."""
    if not isinstance(values, dict):
        raise ConfigError(f"{what} must be a mapping of field names to values, not {type(values).__name__}")
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{path}: {reason}" for path, reason in describe_validation(exc))
        raise ConfigError(f"invalid {what}: {problems}") from None


def operator_egress(egress: Egress | None) -> Egress:
    """``egress``, or the operator's rules as the environment sets them now."""
    if egress is not None:
        return egress
    from .context import load_settings  # the context builds on this module

    return Egress.from_settings(load_settings())


def stored_credentials(vault: Vault, stored: str | None, *, owner: str) -> dict[str, Any]:
    return vault.decrypt(stored, what=f"credentials of {owner}") if stored else {}


def merge_credentials(
    vault: Vault,
    stored: str | None,
    changes: Any,
    model: type[CredentialSpec],
    *,
    owner: str,
    what: str,
    replace: bool = False,
) -> str | None:
    """The stored credentials of ``owner`` with ``changes`` laid over them, validated by
    ``model`` and encrypted again (``None`` when no secret is left). Fields not named keep
    their values, so a client can rotate one secret without resending the others; with
    ``replace`` nothing stored is kept (a destination changed: secrets never follow it)."""
    if not isinstance(changes, dict):
        raise ConfigError("credentials must be a mapping of field names to values")
    current = {} if replace else stored_credentials(vault, stored, owner=owner)
    merged = validate_model(model, {**current, **changes}, what)
    secrets = merged.revealed()
    return vault.encrypt(secrets) if secrets else None


def add_connection(
    store: Store,
    vault: Vault,
    registry: Registry,
    *,
    name: str,
    plugin: str,
    options: Any,
    credentials: Any,
    tenant: str = DEFAULT_TENANT,
    actor: str = "cli",
    egress: Egress | None = None,
) -> ConnectionInfo:
    """Validate and store a new connection, its credentials encrypted. Changes nothing on error.

    Options and credentials that decide where credentials go must pass the operator's egress
    rules (``hub.destinations``)."""
    source_cls = registry.source(plugin)
    egress = operator_egress(egress)
    valid_options = validate_model(source_cls.Options, options, f"options for plugin {plugin!r}")
    owner = f"connection {name!r}"
    check_fields(source_cls.Options, dict(valid_options), egress=egress, tenant=tenant, owner=owner)
    if credentials is None:
        required = [n for n, f in source_cls.Credentials.model_fields.items() if f.is_required()]
        if required:
            raise ConfigError(
                f"plugin {plugin!r} needs credentials ({', '.join(required)}); pass --credentials FILE, "
                "or --credentials - to read them from standard input"
            )
        credentials = {}
    valid_credentials = validate_model(
        source_cls.Credentials, credentials, f"credentials for plugin {plugin!r}"
    )
    check_fields(source_cls.Credentials, dict(valid_credentials), egress=egress, tenant=tenant, owner=owner)
    secrets = valid_credentials.revealed()
    with store.begin() as conn:
        tenant_id = ensure_tenant(conn, tenant)
        exists = conn.execute(
            select(connections.c.id).where(connections.c.tenant_id == tenant_id, connections.c.name == name)
        ).first()
        if exists:
            raise ConfigError(f"a connection named {name!r} already exists in tenant {tenant!r}")
        now = _now()
        conn.execute(
            connections.insert().values(
                tenant_id=tenant_id,
                name=name,
                plugin=plugin,
                options=valid_options.model_dump(mode="json"),
                credentials=vault.encrypt(secrets) if secrets else None,
                status="active",
                created_at=now,
                updated_at=now,
            )
        )
        audit(
            conn,
            actor=actor,
            action="connection.create",
            target=name,
            detail={"plugin": plugin, "credential_fields": sorted(valid_credentials.model_fields_set)},
            tenant_id=tenant_id,
        )
    return get_connection(store, name, tenant=tenant)


def update_connection(
    store: Store,
    vault: Vault,
    registry: Registry,
    info: ConnectionInfo,
    *,
    options: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
    actor: str,
    egress: Egress | None = None,
) -> ConnectionInfo:
    """Change a connection's options and/or credentials; changes nothing on error.

    Options replace the stored ones. Credentials are merged over the stored ones, so one
    rotated secret can be sent alone; the audit entry names the fields that changed, never
    their values. A change of where credentials go (any ``Destination`` option) needs the
    credentials again, in full, in the same change: stored secrets never follow a new
    destination.
    """
    source_cls = registry.source(info.plugin)
    egress = operator_egress(egress)
    owner = f"connection {info.name!r}"
    values: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    moved: list[str] = []
    if options is not None:
        valid = validate_model(source_cls.Options, options, f"options for plugin {info.plugin!r}")
        check_fields(source_cls.Options, dict(valid), egress=egress, tenant=info.tenant, owner=owner)
        values["options"] = valid.model_dump(mode="json")
        moved = changed_destinations(source_cls.Options, info.options, values["options"])
        detail["before"], detail["after"] = {"options": info.options}, {"options": values["options"]}
    if moved and credentials is None:
        raise ConfigError(
            f"changing {', '.join(moved)} of {owner} changes where its credentials are sent: send the "
            "credentials again, every field, in the same change"
        )
    if credentials is not None:
        with store.begin() as conn:
            stored = conn.execute(
                select(connections.c.credentials).where(connections.c.id == info.id)
            ).scalar_one()
        before = stored_credentials(vault, stored, owner=owner)
        replace = bool(moved) or bool(
            changed_destinations(source_cls.Credentials, before, {**before, **credentials})
        )
        values["credentials"] = merge_credentials(
            vault,
            stored,
            credentials,
            source_cls.Credentials,
            owner=owner,
            what=f"credentials for plugin {info.plugin!r}",
            replace=replace,
        )
        merged = vault.decrypt(values["credentials"], what=owner) if values["credentials"] else {}
        check_fields(source_cls.Credentials, merged, egress=egress, tenant=info.tenant, owner=owner)
        detail["credential_fields_changed"] = sorted(credentials)
    if not values:
        return info
    with store.begin() as conn:
        conn.execute(
            update(connections).where(connections.c.id == info.id).values(updated_at=_now(), **values)
        )
        audit(
            conn,
            actor=actor,
            action="connection.update",
            target=info.name,
            detail=detail,
            tenant_id=info.tenant_id,
        )
    return get_connection(store, info.name, tenant=info.tenant)


def set_connection_status(store: Store, info: ConnectionInfo, status: str, *, actor: str) -> ConnectionInfo:
    """Pause (``paused``) or resume (``active``) a connection: paused ones are never run."""
    if status not in ("active", "paused"):
        raise ConfigError(f"status {status!r} is not one of active, paused")
    with store.begin() as conn:
        conn.execute(
            update(connections).where(connections.c.id == info.id).values(status=status, updated_at=_now())
        )
        audit(
            conn,
            actor=actor,
            action="connection.pause" if status == "paused" else "connection.resume",
            target=info.name,
            detail={"before": {"status": info.status}, "after": {"status": status}},
            tenant_id=info.tenant_id,
        )
    return get_connection(store, info.name, tenant=info.tenant)


def _query() -> Any:
    return select(
        connections.c.id,
        connections.c.tenant_id,
        tenants.c.name.label("tenant"),
        connections.c.name,
        connections.c.plugin,
        connections.c.options,
        connections.c.status,
        connections.c.credentials.is_not(None).label("has_credentials"),
    ).join(tenants, tenants.c.id == connections.c.tenant_id)


def _info(row: Any) -> ConnectionInfo:
    return ConnectionInfo(
        id=int(row.id),
        tenant_id=int(row.tenant_id),
        tenant=row.tenant,
        name=row.name,
        plugin=row.plugin,
        options=dict(row.options),
        status=row.status,
        has_credentials=bool(row.has_credentials),
    )


def list_connections(store: Store, *, tenant: str | None = None) -> list[ConnectionInfo]:
    query = _query().order_by(tenants.c.name, connections.c.name)
    if tenant is not None:
        query = query.where(tenants.c.name == tenant)
    with store.begin() as conn:
        return [_info(row) for row in conn.execute(query)]


def get_connection(store: Store, name: str, *, tenant: str = DEFAULT_TENANT) -> ConnectionInfo:
    with store.begin() as conn:
        row = conn.execute(_query().where(tenants.c.name == tenant, connections.c.name == name)).first()
    if row is None:
        known = ", ".join(c.name for c in list_connections(store, tenant=tenant)) or "none"
        raise NotFound(
            f"no connection named {name!r} in tenant {tenant!r} (connections: {known}); "
            "add one with `kpihub connection add`"
        )
    return _info(row)


def open_source(
    store: Store,
    vault: Vault,
    registry: Registry,
    info: ConnectionInfo,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    egress: Egress | None = None,
) -> Source:
    """An instance of the connection's source with its options and decrypted credentials.

    Destinations are checked again under the operator's rules as they are now, paths are
    placed in the tenant's areas, and every HTTP request the source sends passes an
    ``EgressGuard`` (wrapping ``transport`` when a test or the demo gives one). The instance's
    ``save_credentials`` re-encrypts rotated credentials and commits them at once, before the
    source goes on to use them.
    """
    source_cls = registry.source(info.plugin)
    egress = operator_egress(egress)
    owner = f"connection {info.name!r}"
    options = validate_model(source_cls.Options, info.options, f"stored options of {owner}")
    options = source_cls.Options.model_validate(
        place_fields(source_cls.Options, dict(options), egress=egress, tenant=info.tenant, owner=owner)
    )
    with store.begin() as conn:
        ciphertext = conn.execute(
            select(connections.c.credentials).where(connections.c.id == info.id)
        ).scalar_one()
    plain = vault.decrypt(ciphertext, what=f"credentials of {owner}") if ciphertext else {}
    credentials = validate_model(source_cls.Credentials, plain, f"stored credentials of {owner}")
    check_fields(source_cls.Credentials, dict(credentials), egress=egress, tenant=info.tenant, owner=owner)

    async def save_credentials(updated: CredentialSpec) -> None:
        _save_credentials(store, vault, info.id, updated.revealed())

    hosts = plugin_hosts(source_cls.Options)
    context = SourceContext(
        connection=info.name,
        save_credentials=save_credentials,
        transport=EgressGuard(hosts, egress.policy, inner=transport, owner=owner),
        sync_transport=SyncEgressGuard(hosts, egress.policy, owner=owner),
    )
    return source_cls(options, credentials, context)


def _save_credentials(store: Store, vault: Vault, connection_id: int, values: dict[str, Any]) -> None:
    """Store rotated credentials under whichever master key the store is under by then.

    The row is written first, which takes the write lock, so a key rotation cannot commit
    between that write and the check after it; if one committed before it, the vault is
    opened again and the row rewritten under the new key, all in the same transaction.
    """
    with store.begin() as conn:
        active = vault
        while True:
            conn.execute(
                update(connections)
                .where(connections.c.id == connection_id)
                .values(credentials=active.encrypt(values), updated_at=_now())
            )
            current = current_key_id(conn)
            if current in (None, active.primary_id) or active.reopen is None:
                return
            reopened = active.reopen()
            if reopened.primary_id == active.primary_id:
                raise CredentialError(
                    f"the store's credentials are under master key {current}, which this hub cannot open"
                )
            active = reopened
