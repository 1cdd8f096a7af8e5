"""Base classes for source plugins: a ``Source`` owns its ``Stream``\\ s.

A stream reads raw records (plain JSON-like dicts, exactly as the platform returned them) for
one partition, starting from the state the hub saved last time, and yields a ``Checkpoint``
whenever everything yielded so far may be considered done. The hub lands the raw records,
maps them to standard rows, and commits those rows together with the checkpoint's state in
one transaction, so a crash between two checkpoints re-reads at most one page.
"""

from __future__ import annotations

import datetime as dt
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar

import httpx

from .options import CredentialSpec, PluginOptions

__all__ = [
    "Checkpoint",
    "Partition",
    "RawRecord",
    "Source",
    "SourceContext",
    "Stream",
]

RawRecord = dict[str, Any]
"""A record as the platform returned it (JSON-compatible)."""


@dataclass(frozen=True)
class Partition:
    """An independently resumable slice of a stream, e.g. one marketplace or one shop.

    ``key`` identifies the partition's saved state; ``params`` is whatever the stream needs to
    read it; ``defaults`` are values mapped rows of this partition take where the mapping
    leaves them out (e.g. the ``shop_id`` of a marketplace), over the source's own defaults.
    """

    key: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Checkpoint:
    """State to resume from once every record yielded before it is safely stored."""

    state: dict[str, Any]


@dataclass
class SourceContext:
    """What the hub hands a source besides its options and credentials.

    ``save_credentials`` persists rotated credentials (a refreshed token, a new single-use
    refresh token) in the vault; a source awaits it *before* using the new values so a crash
    can never leave only a spent token behind.
    """

    connection: str
    save_credentials: Callable[[CredentialSpec], Awaitable[None]] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    transport: httpx.AsyncBaseTransport | None = None
    """The HTTP transport for the source's clients. The hub always sets one: it enforces where
    requests may go (and routes them to a simulator in tests and demos). Build every client on it."""
    sync_transport: httpx.BaseTransport | None = None
    """The same for a library that needs a synchronous client."""
    since: dt.date | None = None
    """Set for ``kpihub sync --since DATE``: read from this date, whatever the saved state says."""


class Stream(ABC):
    """One kind of record a source can read, e.g. orders or ad reports.

    Class attributes:
        name: unique within the source.
        primary_key: JMESPath expressions on the raw record that together identify it; raw
            records are kept once per key, newest wins.
        cursor_field: the raw field incremental reads advance on, for documentation and
            freshness; the state itself is whatever the stream puts in its checkpoints.
        default_mapping: file name, next to the plugin's module, of the default field mapping.
    """

    name: ClassVar[str]
    primary_key: ClassVar[tuple[str, ...]]
    cursor_field: ClassVar[str | None] = None
    default_mapping: ClassVar[str | None] = None

    def __init__(self, source: Source) -> None:
        self.source = source

    def partitions(self) -> list[Partition]:
        """The partitions to read, each resumed from its own state. One by default."""
        return [Partition()]

    @abstractmethod
    def read(self, partition: Partition, state: dict[str, Any]) -> AsyncIterator[RawRecord | Checkpoint]:
        """Yield raw records and checkpoints for ``partition``, resuming from ``state``.

        ``state`` is ``{}`` on a first or full-refresh run. Called by the sync engine once per
        partition per run. Raise errors from ``sdk.errors``; transient ones are retried.
        """

    def problems(self, record: RawRecord) -> list[str]:
        """What is wrong with ``record`` that its mapping cannot see; empty when nothing is.

        Called by the hub for every raw record before it is mapped, at sync and at remap. A
        record with problems (e.g. amounts that break the platform's documented identities) is
        kept raw and quarantined with them as its reason; the rest of the page goes on. The
        default finds none.
        """
        return []

    def mapping(self) -> dict[str, Any]:
        """The default field mapping shipped with the plugin, as data."""
        if self.default_mapping is None:
            return {"version": 1, "targets": {}}
        package = type(self.source).__module__.rpartition(".")[0] or type(self.source).__module__
        text = resources.files(package).joinpath(self.default_mapping).read_text(encoding="utf-8")
        loaded: dict[str, Any] = json.loads(text)
        return loaded


class Source(ABC):
    """A platform or system records are read from.

    Subclasses set ``name`` (unique among sources), ``platform`` (the value standard rows carry
    in their ``platform`` column), and nest ``Options`` and ``Credentials`` models. The hub
    builds an instance per connection with validated options and decrypted credentials.
    """

    name: ClassVar[str]
    platform: ClassVar[str]
    version: ClassVar[str] = "0"

    class Options(PluginOptions):
        """Options of a connection; subclasses extend with their own fields."""

        shop_id: str | None = None

    class Credentials(CredentialSpec):
        """Credentials of a connection; subclasses list their fields."""

    def __init__(self, options: Options, credentials: Credentials, context: SourceContext) -> None:
        self.options = options
        self.credentials = credentials
        self.context = context

    @abstractmethod
    def streams(self) -> list[Stream]:
        """The streams this connection can read, in the order they should be synced."""

    def mapping_defaults(self) -> dict[str, Any]:
        """Values the hub puts into mapped rows whose mapping leaves them out.

        By default the source's ``platform`` and the connection's ``shop_id`` option, so a
        single-shop connection's mapping need not repeat them.
        """
        shop_id = getattr(self.options, "shop_id", None)
        return {"platform": self.platform, **({"shop_id": shop_id} if shop_id else {})}

    @classmethod
    def simulator(cls, seed: int) -> Any:
        """A simulator of this platform (an ``sdk.simulator.Simulator``) seeded with ``seed``.

        ``kpihub simulate`` serves it on loopback; ``None`` (the default) means the plugin
        ships none.
        """
        return None

    def stats(self) -> dict[str, int]:
        """Counters of the work done so far (requests, retries by reason, token refreshes).

        Read by the sync engine at the end of a run and kept with the run's record.
        """
        return {}

    async def check(self) -> None:
        """Make one authenticated call and raise a ``CredentialError`` if it is refused.

        The default does nothing: sources that talk to a platform override it.
        """

    async def aclose(self) -> None:
        """Release clients and connections. Called once when the hub is done with the source."""
