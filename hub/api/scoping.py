"""What a caller may see: their tenant's rows, cut down to their data scope.

Anything outside is answered with 404, exactly as an id that does not exist, so a caller
cannot learn by guessing which ids other tenants (or other shops) use.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from sdk import NotFound

from ..connections import ConnectionInfo, audit, list_connections
from ..context import HubContext
from ..store.tables import standard_tables
from .access import Principal
from .errors import ApiError

__all__ = ["connection_shops", "not_found", "record", "visible_connection", "visible_connections"]


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, f"no {what} {ident!r} here")


def connection_shops(conn: Connection, tenant_id: int) -> dict[int, set[str]]:
    """The shop ids each connection of the tenant has written to the shop dimension."""
    shops = standard_tables["shops"]
    found: dict[int, set[str]] = {}
    rows = conn.execute(
        select(shops.c.connection_id, shops.c.shop_id).where(
            shops.c.tenant_id == tenant_id, shops.c.connection_id.is_not(None)
        )
    )
    for row in rows:
        found.setdefault(int(row.connection_id), set()).add(row.shop_id)
    return found


def _platform(hub: HubContext, plugin: str) -> str:
    try:
        return hub.registry.source(plugin).platform
    except NotFound:
        return plugin


def visible_connections(hub: HubContext, principal: Principal) -> list[ConnectionInfo]:
    infos = list_connections(hub.ready_store, tenant=principal.tenant)
    if principal.scope.unlimited:
        return infos
    with hub.ready_store.begin() as conn:
        shops = connection_shops(conn, principal.tenant_id)
    return [
        info
        for info in infos
        if principal.scope.allows_shops(_platform(hub, info.plugin), shops.get(info.id, set()))
    ]


def visible_connection(hub: HubContext, principal: Principal, connection_id: int) -> ConnectionInfo:
    for info in visible_connections(hub, principal):
        if info.id == connection_id:
            return info
    raise not_found("connection", connection_id)


def record(
    conn: Connection,
    principal: Principal,
    action: str,
    target: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    """Write one audit entry for a change made through the API, in the change's transaction."""
    detail: dict[str, Any] = {"before": before, "after": after, **extra}
    audit(
        conn,
        actor=principal.actor,
        action=action,
        target=target,
        detail=detail,
        tenant_id=principal.tenant_id,
    )
