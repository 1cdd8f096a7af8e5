"""Building the plugin manager and the registry of what plugins registered.

Loading is done one way: the hub's default plugins first, then every entry point of group
``kpihub``, each inside its own ``try`` so a broken plugin is recorded and shown, never fatal.
``KPIHUB_LOAD_PLUGINS`` (comma-separated entry-point names; empty = none) limits which
entry points load. Nothing is loaded at import time: call ``load_plugins()``.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import ModuleType
from typing import Any, TypeVar

import pluggy
from pydantic import BaseModel

from sdk import (
    PROJECT_NAME,
    SECRET_NAME,
    CredentialSpec,
    MetricProvider,
    NotFound,
    PluginError,
    PluginOptions,
    Sink,
    Source,
    secret_field_names,
)
from sdk import __version__ as sdk_version

from . import __version__ as hub_version
from . import hookspecs

__all__ = ["DEFAULT_PLUGINS", "PluginInfo", "Registry", "load_plugins"]

DEFAULT_PLUGINS: tuple[str, ...] = ("hub.default_plugins.files", "hub.default_plugins.metrics")
"""Modules of the features the hub ships as plugins, built on the public hooks."""

KINDS = ("sources", "sinks", "metric_providers")
_SDK_MAJOR = int(sdk_version.split(".")[0])
T = TypeVar("T")

# Credential fields whose names say they hold a secret must be typed as secrets.


@dataclass
class PluginInfo:
    """What ``kpihub plugins`` shows about one plugin."""

    name: str
    origin: str
    version: str | None = None
    module: str | None = None
    distribution: str | None = None
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "origin": self.origin,
            "version": self.version,
            "module": self.module,
            "distribution": self.distribution,
            "hooks": self.hooks,
            "registered": self.registered,
            "error": self.error,
        }


@dataclass
class Registry:
    """Everything plugins registered, by kind and name, plus how each plugin loaded."""

    manager: pluggy.PluginManager
    plugins: list[PluginInfo]
    sources: dict[str, type[Source]] = field(default_factory=dict)
    sinks: dict[str, type[Sink]] = field(default_factory=dict)
    metric_providers: dict[str, MetricProvider] = field(default_factory=dict)

    def source(self, name: str) -> type[Source]:
        return _lookup(self.sources, name, "source")

    def sink(self, name: str) -> type[Sink]:
        return _lookup(self.sinks, name, "sink")

    @property
    def errors(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.error]


def _lookup(table: dict[str, T], name: str, kind: str) -> T:
    try:
        return table[name]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise NotFound(
            f"no {kind} plugin named {name!r} is installed (installed: {known}); "
            "see `kpihub plugins` for load errors"
        ) from None


def _allowed(load_plugins: str | None) -> set[str] | None:
    if load_plugins is None:
        return None
    return {name.strip() for name in load_plugins.split(",") if name.strip()}


def load_plugins(
    *,
    load_plugins: str | None = None,
    default_plugins: Sequence[str] = DEFAULT_PLUGINS,
    entry_points: Iterable[md.EntryPoint] | None = None,
    extra: Sequence[tuple[str, object]] = (),
) -> Registry:
    """Build a fresh plugin manager and collect every registration.

    ``load_plugins`` is the ``KPIHUB_LOAD_PLUGINS`` allow-list (``None`` loads all);
    ``entry_points`` defaults to the installed ones of group ``kpihub``; ``extra`` adds
    ``(name, plugin)`` pairs, which tests use to register fake plugins.
    """
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    plugins: list[PluginInfo] = []

    for module_name in default_plugins:
        info = PluginInfo(
            name=module_name.rpartition(".")[2], origin="default", module=module_name, version=hub_version
        )
        plugins.append(info)
        _guarded(info, partial(importlib.import_module, module_name), pm)

    allowed = _allowed(load_plugins)
    eps = md.entry_points(group=PROJECT_NAME) if entry_points is None else entry_points
    for ep in sorted(eps, key=lambda e: e.name):
        if allowed is not None and ep.name not in allowed:
            continue
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            origin="entry_point",
            module=ep.value,
            version=dist.version if dist is not None else None,
            distribution=dist.name if dist is not None else None,
        )
        twin = next((p for p in plugins if p.name == ep.name and p.error is None), None)
        plugins.append(info)
        if twin is not None:
            first, second = twin.distribution or twin.origin, info.distribution or "another distribution"
            info.error = (
                f"PluginError: plugin name {ep.name!r} is declared by both {first!r} and {second!r}; "
                "uninstall one"
            )
            continue
        _guarded(info, ep.load, pm)

    for name, plugin in extra:
        info = PluginInfo(name=name, origin="extra", module=getattr(plugin, "__name__", None))
        plugins.append(info)
        _guarded(info, partial(_identity, plugin), pm)

    registry = Registry(manager=pm, plugins=plugins)
    _collect(registry)
    return registry


def _identity(plugin: object) -> object:
    return plugin


def _guarded(info: PluginInfo, obtain: Callable[[], object], pm: pluggy.PluginManager) -> None:
    """Import and register one plugin; record, never raise, whatever goes wrong."""
    try:
        plugin = obtain()
        if (mismatch := _sdk_mismatch(info.name, plugin)) is not None:
            info.error = mismatch
            return
        pm.register(plugin, name=info.name)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a third party's import can raise anything
        info.error = f"{type(exc).__name__}: {exc}"
        return
    try:
        pm.check_pending()  # only this plugin is new, so only it can fail here
    except pluggy.PluginValidationError as exc:
        pm.unregister(name=info.name)
        info.error = f"PluginError: implements a hook kpihub does not define: {exc}"
        return
    if info.version is None and isinstance(plugin, ModuleType):
        info.version = getattr(plugin, "__version__", None)
    info.hooks = sorted(impl_hook for impl_hook, _ in _hooks_of(pm, info.name))


def _sdk_mismatch(name: str, plugin: object) -> str | None:
    """Why a plugin built for another SDK major version cannot load, or None if it can.

    A plugin declares ``__sdk_version__`` (the SDK version it was built with); one that
    declares none is taken to follow the SDK it is loaded with.
    """
    declared = getattr(plugin, "__sdk_version__", None)
    if declared is None:
        return None
    match = re.fullmatch(r"(\d+)(?:\.\d+){0,2}", str(declared))
    if match is None:
        return (
            f"PluginError: plugin {name!r} declares __sdk_version__ = {declared!r}, which is not a "
            f"version such as {sdk_version!r}; fix the plugin's declaration"
        )
    major = int(match.group(1))
    if major != _SDK_MAJOR:
        return (
            f"PluginError: plugin {name!r} was built for kpihub SDK {declared} but this hub provides "
            f"SDK {sdk_version}; install a release of the plugin built for SDK {_SDK_MAJOR}.x"
        )
    return None


def _hooks_of(pm: pluggy.PluginManager, plugin_name: str) -> list[tuple[str, Any]]:
    plugin = pm.get_plugin(plugin_name)
    if plugin is None:
        return []
    callers = pm.get_hookcallers(plugin) or []
    out = []
    for caller in callers:
        for impl in caller.get_hookimpls():
            if impl.plugin_name == plugin_name:
                out.append((caller.name, impl))
    return out


def _collect(registry: Registry) -> None:
    """Call each plugin's register hooks on their own, so errors are attributed to it."""
    owners: dict[tuple[str, str], str] = {}
    for info in registry.plugins:
        if info.error:
            continue
        staged: dict[str, list[tuple[str, Any]]] = {kind: [] for kind in KINDS}
        try:
            for hook_name, impl in _hooks_of(registry.manager, info.name):
                kind = hook_name.removeprefix("register_")
                impl.function(register=_stager(kind, staged[kind]))
            for kind in KINDS:
                for name, _ in staged[kind]:
                    owner = owners.get((kind, name))
                    if owner is not None:
                        raise PluginError(
                            f"{_singular(kind)} {name!r} is registered by both plugin {owner!r} "
                            f"and plugin {info.name!r}; uninstall one or limit KPIHUB_LOAD_PLUGINS"
                        )
        except Exception as exc:  # noqa: BLE001 - any failure in a plugin's hook disables that plugin only
            info.error = f"{type(exc).__name__}: {exc}"
            registry.manager.unregister(name=info.name)
            continue
        for kind in KINDS:
            target: dict[str, Any] = getattr(registry, kind)
            for name, obj in staged[kind]:
                owners[(kind, name)] = info.name
                target[name] = obj
            if staged[kind]:
                info.registered[kind] = [name for name, _ in staged[kind]]


def _singular(kind: str) -> str:
    return {"sources": "source", "sinks": "sink", "metric_providers": "metric provider"}[kind]


def _stager(kind: str, staged: list[tuple[str, Any]]) -> Callable[[Any], None]:
    def register(obj: Any) -> None:
        staged.append((_validated_name(kind, obj), obj))

    return register


def _validated_name(kind: str, obj: Any) -> str:
    """Check a registered object against the SDK contract and return its name."""
    if kind == "metric_providers":
        if not isinstance(obj, MetricProvider):
            raise PluginError(f"register_metric_providers got {obj!r}, not a MetricProvider instance")
        return _name_of(obj)
    base: type[Source] | type[Sink] = Source if kind == "sources" else Sink
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise PluginError(f"register_{kind} got {obj!r}, not a subclass of sdk.{base.__name__}")
    name = _name_of(obj)
    _check_model(obj, "Options", PluginOptions, name)
    _check_model(obj, "Credentials", CredentialSpec, name)
    plain = [
        f
        for f in obj.Credentials.model_fields
        if SECRET_NAME.search(f) and f not in secret_field_names(obj.Credentials)
    ]
    if plain:
        raise PluginError(
            f"{name}: credential fields {plain} hold secrets and must be typed pydantic.SecretStr"
        )
    return name


def _name_of(obj: Any) -> str:
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_\-]*", name):
        raise PluginError(f"{obj!r} needs a `name`: lower-case letters, digits, '_' or '-'")
    return name


def _check_model(cls: type, attr: str, base: type[BaseModel], name: str) -> None:
    model = getattr(cls, attr, None)
    if not (isinstance(model, type) and issubclass(model, base)):
        raise PluginError(f"{name}.{attr} must subclass sdk.{base.__name__}")
    if model.model_config.get("extra") != "forbid":
        raise PluginError(f"{name}.{attr} must forbid unknown keys (model_config extra='forbid')")
