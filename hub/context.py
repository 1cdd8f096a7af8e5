"""The hub's working parts for one command or request, built lazily from the settings."""

from __future__ import annotations

from functools import cached_property
from types import TracebackType

from pydantic import ValidationError

from sdk import ConfigError

from .destinations import Egress
from .errors import describe_validation
from .kpi.catalogue import Catalogue
from .plugins import Registry, load_plugins
from .settings import Settings
from .store import Store, open_store
from .vault import Vault, open_vault

__all__ = ["HubContext", "load_settings"]


def load_settings() -> Settings:
    """Settings from the environment, or a ``ConfigError`` naming the bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"KPIHUB_{path.upper()}: {why}" for path, why in describe_validation(exc))
        raise ConfigError(f"invalid settings: {problems}") from None


class HubContext:
    """Settings, store, plugins, vault and metric catalogue, each built on first use and only
    then; ``with HubContext() as ctx:`` closes what was opened."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else load_settings()

    @cached_property
    def store(self) -> Store:
        """The store, whatever its migration state (``kpihub init`` uses this)."""
        return open_store(self.settings.database_url)

    @cached_property
    def ready_store(self) -> Store:
        """The store, checked to be reachable and at the newest migration."""
        self.store.require_current()
        return self.store

    @cached_property
    def registry(self) -> Registry:
        return load_plugins(load_plugins=self.settings.load_plugins)

    @cached_property
    def egress(self) -> Egress:
        """The operator's rules for where plugins may send credentials and data."""
        return Egress.from_settings(self.settings)

    @cached_property
    def vault(self) -> Vault:
        return open_vault(self.settings, self.ready_store)

    @cached_property
    def catalogue(self) -> Catalogue:
        """The metrics of every registered metric provider (the default catalogue's, and any a
        third party installed): every compute, scheduled or not, uses this one."""
        return Catalogue.from_providers(self.registry.metric_providers.values())

    def __enter__(self) -> HubContext:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.dispose()
