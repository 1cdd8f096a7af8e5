"""Checking and placing what a plugin's options and credentials declare as destinations.

Every plugin field marked ``sdk.Destination`` passes through here when it is saved and again
when the plugin is opened (the operator's rules may have narrowed since): URLs against the
platform's hosts and the operator's allowances (``hub.egress``), database URLs against the
operator's address rules and the hub's own store, and paths into the tenant's own areas under
the operator's data directory::

    <KPIHUB_DATA_DIR>/<tenant>/uploads/   files a tenant's file sources read (uploaded through the API)
    <KPIHUB_DATA_DIR>/<tenant>/outputs/   SQLite databases and extracts its sinks write

Paths are resolved (symbolic links followed) and then checked to lie inside the area, never
string-matched; a relative path is taken from the area.
"""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from sdk import ConfigError, Destination, PluginOptions, destination_fields

from .egress import SETTING, EgressPolicy, EgressRefused, _address, check_url
from .settings import Settings

__all__ = ["Egress", "TenantAreas", "changed_destinations", "check_fields", "place_fields", "plugin_hosts"]

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SERVER_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mssql": 1433, "oracle": 1521}


@dataclass(frozen=True)
class TenantAreas:
    """A tenant's two folders on the hub's host: what it uploads, and what its sinks write."""

    root: Path

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"


@dataclass(frozen=True)
class Egress:
    """Everything the destination checks need from the operator's settings."""

    policy: EgressPolicy
    data_dir: Path
    store_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Egress:
        return cls(
            policy=EgressPolicy.parse(settings.egress_allow),
            data_dir=Path(settings.data_dir).expanduser().resolve(),
            store_url=settings.database_url,
        )

    def areas(self, tenant: str) -> TenantAreas:
        """The tenant's areas; a name that is not a safe folder name gets a stable hashed one."""
        folder = tenant if _SAFE_NAME.match(tenant) and tenant not in (".", "..") else None
        folder = folder or "tenant-" + hashlib.sha256(tenant.encode()).hexdigest()[:16]
        return TenantAreas(self.data_dir / folder)


def plugin_hosts(options: type[PluginOptions]) -> tuple[str, ...]:
    """Every host a plugin's HTTP traffic may reach by its own declaration."""
    hosts = [h for d in destination_fields(options).values() if d.kind == "url" for h in d.hosts]
    return (*hosts, *options.egress_hosts)


def _plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _inside(area: Path, value: str, *, owner: str, option: str) -> Path:
    area = area.resolve()
    path = (area / Path(value).expanduser()).resolve()
    if not path.is_relative_to(area):
        raise EgressRefused(
            f"{owner}: option {option} points outside the tenant's area {area}; "
            "use a path inside it (relative paths are taken from there)"
        )
    return path


def _database_url(text: str, *, egress: Egress, outputs: Path, owner: str, option: str) -> URL:
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"{owner}: {option} is not a database URL (dialect+driver://user:password@host/db)"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.query:
            raise EgressRefused(f"{owner}: {option} may not carry SQLite URI options; name a file only")
        if not url.database or url.database == ":memory:":
            raise ConfigError(f"{owner}: {option} must name a SQLite file (sqlite:///kpis.db)")
        path = _inside(outputs, url.database, owner=owner, option=option)
        placed = url.set(database=str(path))
    else:
        if backend not in _SERVER_DEFAULT_PORTS:
            raise ConfigError(f"{owner}: {option} uses {backend!r}; use PostgreSQL, MySQL/MariaDB or SQLite")
        if not url.host or any(k in url.query for k in ("host", "hostaddr", "unix_socket", "service")):
            raise EgressRefused(f"{owner}: {option} must name its server in the host part, not a socket")
        _check_server(url.host, url.port or _SERVER_DEFAULT_PORTS[backend], egress.policy, owner, option)
        placed = url
    if _same_database(placed, egress):
        raise EgressRefused(f"{owner}: {option} names the hub's own store; name the seller's own database")
    return placed


def _check_server(host: str, port: int, policy: EgressPolicy, owner: str, option: str) -> None:
    if policy.allows_host(host):
        return
    address = _address(host)
    try:
        found = [address] if address else [_address(str(i[4][0])) for i in socket.getaddrinfo(host, port)]
    except OSError:
        return  # unknown host: connecting fails and says so
    if any(a is not None and not policy.allows_address(a) for a in found):
        raise EgressRefused(
            f"{owner}: {option} names a server on a loopback, private or link-local address; the hub's "
            f"operator can allow that range in {SETTING}"
        )


def _identity(url: URL) -> tuple[object, ...]:
    """What makes two URLs the same database: file, or server, port, database and schema."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        return ("sqlite", str(Path(url.database or "").expanduser().resolve()))
    host = url.host or ""
    if host in ("localhost", "::1") or host.startswith("127."):
        host = "loopback"
    options = str(url.query.get("options", ""))
    schema = options.split("search_path=", 1)[1].split()[0] if "search_path=" in options else "public"
    return (backend, host, url.port or _SERVER_DEFAULT_PORTS.get(backend), url.database, schema)


def _same_database(url: URL, egress: Egress) -> bool:
    try:
        store = make_url(egress.store_url)
    except (ArgumentError, ValueError):
        return False
    return _identity(url) == _identity(store)


def _check_one(
    name: str, destination: Destination, value: Any, *, egress: Egress, tenant: str, owner: str
) -> Any:
    value = _plain(value)
    if value is None or destination.kind == "choice":
        return value
    if destination.kind == "url":
        check_url(name, str(value), destination.hosts, egress.policy, owner=owner)
        return value
    areas = egress.areas(tenant)
    if destination.kind == "input_path":
        return str(_inside(areas.uploads, str(value), owner=owner, option=name))
    # A sink writes into its tenant's output area, which exists from its first use on.
    areas.outputs.mkdir(parents=True, exist_ok=True)
    if destination.kind == "output_path":
        return str(_inside(areas.outputs, str(value), owner=owner, option=name))
    placed = _database_url(str(value), egress=egress, outputs=areas.outputs, owner=owner, option=name)
    return placed.render_as_string(hide_password=False)


def check_fields(
    model: type[BaseModel], values: Mapping[str, Any], *, egress: Egress, tenant: str, owner: str
) -> None:
    """Refuse any destination in ``values`` (a plugin's options or credentials) the hub does
    not allow for ``tenant``; changes nothing."""
    place_fields(model, values, egress=egress, tenant=tenant, owner=owner)


def place_fields(
    model: type[BaseModel], values: Mapping[str, Any], *, egress: Egress, tenant: str, owner: str
) -> dict[str, Any]:
    """``values`` with every destination checked, and paths and SQLite files made absolute
    inside the tenant's areas: what the plugin is opened with."""
    placed = dict(values)
    for name, destination in destination_fields(model).items():
        if name in placed:
            placed[name] = _check_one(
                name, destination, placed[name], egress=egress, tenant=tenant, owner=owner
            )
    return placed


def changed_destinations(
    model: type[BaseModel], before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[str]:
    """The destination fields whose value differs between two sets of values."""
    return sorted(
        name for name in destination_fields(model) if _plain(before.get(name)) != _plain(after.get(name))
    )
