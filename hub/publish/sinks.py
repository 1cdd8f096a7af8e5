"""Configured sinks: adding them (credentials into the vault), finding them, opening them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select, update

from sdk import ConfigError, NotFound, Sink, SinkContext

from ..connections import (
    DEFAULT_TENANT,
    audit,
    ensure_tenant,
    merge_credentials,
    operator_egress,
    stored_credentials,
    validate_model,
)
from ..destinations import Egress, changed_destinations, check_fields, place_fields, plugin_hosts
from ..egress import EgressGuard, SyncEgressGuard
from ..plugins import Registry
from ..store import Store
from ..store.sink_tables import sinks
from ..store.tables import metadata, tenants
from ..vault import Vault
from .catalog import catalog, select_tables

__all__ = ["SINK_STATUSES", "SinkInfo", "add_sink", "get_sink", "list_sinks", "open_sink", "update_sink"]

SINK_STATUSES = ("active", "paused")
"""A paused sink is not pushed after the scheduler's runs."""


@dataclass(frozen=True)
class SinkInfo:
    """A configured sink as the hub shows it: credentials only as "set" or not."""

    id: int
    tenant_id: int
    tenant: str
    name: str
    plugin: str
    options: dict[str, Any]
    tables: list[str] | None
    status: str
    has_credentials: bool

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tenant": self.tenant,
            "plugin": self.plugin,
            "status": self.status,
            "options": self.options,
            "tables": self.tables or "published tables",
            "credentials": "set" if self.has_credentials else "not set",
        }


def add_sink(
    store: Store,
    vault: Vault,
    registry: Registry,
    *,
    name: str,
    plugin: str,
    options: Any,
    credentials: Any,
    tables: Sequence[str] | None = None,
    tenant: str = DEFAULT_TENANT,
    actor: str = "cli",
    egress: Egress | None = None,
) -> SinkInfo:
    """Validate and store a new sink, its credentials encrypted. Changes nothing on error.

    Where it writes (URLs, database URLs, paths) must pass the operator's rules
    (``hub.destinations``)."""
    sink_cls = registry.sink(plugin)
    egress = operator_egress(egress)
    owner = f"sink {name!r}"
    valid_options = validate_model(sink_cls.Options, options, f"options for sink plugin {plugin!r}")
    check_fields(sink_cls.Options, dict(valid_options), egress=egress, tenant=tenant, owner=owner)
    if tables:
        select_tables(catalog(metadata), tables)  # names every unknown table
    if credentials is None:
        required = [n for n, f in sink_cls.Credentials.model_fields.items() if f.is_required()]
        if required:
            raise ConfigError(
                f"sink plugin {plugin!r} needs credentials ({', '.join(required)}); pass --credentials "
                "FILE, or --credentials - to read them from standard input"
            )
        credentials = {}
    valid_credentials = validate_model(sink_cls.Credentials, credentials, f"credentials for sink {plugin!r}")
    check_fields(sink_cls.Credentials, dict(valid_credentials), egress=egress, tenant=tenant, owner=owner)
    secrets = valid_credentials.revealed()
    now = dt.datetime.now(dt.UTC)
    with store.begin() as conn:
        tenant_id = ensure_tenant(conn, tenant)
        exists = conn.execute(
            select(sinks.c.id).where(sinks.c.tenant_id == tenant_id, sinks.c.name == name)
        ).first()
        if exists:
            raise ConfigError(f"a sink named {name!r} already exists in tenant {tenant!r}")
        conn.execute(
            sinks.insert().values(
                tenant_id=tenant_id,
                name=name,
                plugin=plugin,
                options=valid_options.model_dump(mode="json"),
                credentials=vault.encrypt(secrets) if secrets else None,
                tables=list(tables) if tables else None,
                status="active",
                created_at=now,
                updated_at=now,
            )
        )
        audit(
            conn,
            actor=actor,
            action="sink.create",
            target=name,
            detail={"plugin": plugin, "credential_fields": sorted(valid_credentials.model_fields_set)},
            tenant_id=tenant_id,
        )
    return get_sink(store, name, tenant=tenant)


def update_sink(
    store: Store,
    vault: Vault,
    registry: Registry,
    info: SinkInfo,
    *,
    options: Any = None,
    credentials: Any = None,
    tables: Sequence[str] | None = None,
    status: str | None = None,
    actor: str = "cli",
    egress: Egress | None = None,
) -> SinkInfo:
    """Change a sink's options, credentials, tables or status; changes nothing on error.

    Options replace the stored ones; credentials are merged over the stored ones, so one
    rotated secret can be sent alone; ``tables`` replaces the selection (empty: the default
    set). The audit entry names the credential fields that changed, never their values. A change
    of where the sink sends its data or credentials needs the credentials again, in full.
    """
    sink_cls = registry.sink(info.plugin)
    egress = operator_egress(egress)
    owner = f"sink {info.name!r}"
    moved: list[str] = []
    values: dict[str, Any] = {}
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    detail: dict[str, Any] = {"before": before, "after": after}
    if options is not None:
        valid = validate_model(sink_cls.Options, options, f"options for sink plugin {info.plugin!r}")
        check_fields(sink_cls.Options, dict(valid), egress=egress, tenant=info.tenant, owner=owner)
        values["options"] = after["options"] = valid.model_dump(mode="json")
        before["options"] = info.options
        moved = changed_destinations(sink_cls.Options, info.options, values["options"])
    if moved and credentials is None and sink_cls.Credentials.model_fields:
        raise ConfigError(
            f"changing {', '.join(moved)} of {owner} changes where its data and credentials go: send the "
            "credentials again, every field, in the same change"
        )
    if tables is not None:
        if tables:
            select_tables(catalog(metadata), tables)  # names every unknown table
        values["tables"] = after["tables"] = list(tables) or None
        before["tables"] = info.tables
    if status is not None:
        if status not in SINK_STATUSES:
            raise ConfigError(f"status {status!r} is not one of {', '.join(SINK_STATUSES)}")
        values["status"], before["status"], after["status"] = status, info.status, status
    if credentials is not None:
        with store.begin() as conn:
            stored = conn.execute(select(sinks.c.credentials).where(sinks.c.id == info.id)).scalar_one()
        previous = stored_credentials(vault, stored, owner=owner)
        replace = bool(moved) or bool(
            changed_destinations(sink_cls.Credentials, previous, {**previous, **credentials})
        )
        values["credentials"] = merge_credentials(
            vault,
            stored,
            credentials,
            sink_cls.Credentials,
            owner=owner,
            what=f"credentials for sink {info.plugin!r}",
            replace=replace,
        )
        merged = vault.decrypt(values["credentials"], what=owner) if values["credentials"] else {}
        check_fields(sink_cls.Credentials, merged, egress=egress, tenant=info.tenant, owner=owner)
        detail["credential_fields_changed"] = sorted(credentials)
    if not values:
        return info
    with store.begin() as conn:
        conn.execute(
            update(sinks).where(sinks.c.id == info.id).values(updated_at=dt.datetime.now(dt.UTC), **values)
        )
        audit(
            conn, actor=actor, action="sink.update", target=info.name, detail=detail, tenant_id=info.tenant_id
        )
    return get_sink(store, info.name, tenant=info.tenant)


def _query() -> Any:
    return select(
        sinks.c.id,
        sinks.c.tenant_id,
        tenants.c.name.label("tenant"),
        sinks.c.name,
        sinks.c.plugin,
        sinks.c.options,
        sinks.c.tables,
        sinks.c.status,
        sinks.c.credentials.is_not(None).label("has_credentials"),
    ).join(tenants, tenants.c.id == sinks.c.tenant_id)


def _info(row: Any) -> SinkInfo:
    return SinkInfo(
        id=int(row.id),
        tenant_id=int(row.tenant_id),
        tenant=row.tenant,
        name=row.name,
        plugin=row.plugin,
        options=dict(row.options),
        tables=list(row.tables) if row.tables else None,
        status=row.status,
        has_credentials=bool(row.has_credentials),
    )


def list_sinks(store: Store, *, tenant: str | None = None) -> list[SinkInfo]:
    query = _query().order_by(tenants.c.name, sinks.c.name)
    if tenant is not None:
        query = query.where(tenants.c.name == tenant)
    with store.begin() as conn:
        return [_info(row) for row in conn.execute(query)]


def get_sink(store: Store, name: str, *, tenant: str = DEFAULT_TENANT) -> SinkInfo:
    with store.begin() as conn:
        row = conn.execute(_query().where(tenants.c.name == tenant, sinks.c.name == name)).first()
    if row is None:
        known = ", ".join(s.name for s in list_sinks(store, tenant=tenant)) or "none"
        raise NotFound(
            f"no sink named {name!r} in tenant {tenant!r} (sinks: {known}); add one with `kpihub sink add`"
        )
    return _info(row)


def open_sink(
    store: Store,
    vault: Vault,
    registry: Registry,
    info: SinkInfo,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    egress: Egress | None = None,
) -> Sink:
    """An instance of the sink's plugin with its options and decrypted credentials, its
    destinations checked and placed (``hub.destinations``) and its HTTP traffic guarded."""
    sink_cls = registry.sink(info.plugin)
    egress = operator_egress(egress)
    owner = f"sink {info.name!r}"
    options = validate_model(sink_cls.Options, info.options, f"stored options of {owner}")
    options = sink_cls.Options.model_validate(
        place_fields(sink_cls.Options, dict(options), egress=egress, tenant=info.tenant, owner=owner)
    )
    with store.begin() as conn:
        ciphertext = conn.execute(select(sinks.c.credentials).where(sinks.c.id == info.id)).scalar_one()
    plain = vault.decrypt(ciphertext, what=f"credentials of {owner}") if ciphertext else {}
    credentials = validate_model(sink_cls.Credentials, plain, f"stored credentials of {owner}")
    credentials = sink_cls.Credentials.model_validate(
        place_fields(sink_cls.Credentials, dict(credentials), egress=egress, tenant=info.tenant, owner=owner)
    )
    hosts = plugin_hosts(sink_cls.Options)
    context = SinkContext(
        sink=info.name,
        transport=EgressGuard(hosts, egress.policy, inner=transport, owner=owner),
        sync_transport=SyncEgressGuard(hosts, egress.policy, owner=owner),
    )
    return sink_cls(options, credentials, context)
