"""An in-memory stand-in for the hub's sync engine, so the kit can drive a source on its own.

It follows the engine's contract (``hub.sync.engine``): each partition is read from its saved
state; records are buffered until the stream yields a ``Checkpoint``; then the buffered raw
records, the standard rows they map to and the checkpoint's state are "committed" together
(here: into dictionaries). Rows are upserted by their natural key, as the store does.
Rotated credentials handed to ``SourceContext.save_credentials`` are kept and used by the
next run, so a platform with single-use refresh tokens works across runs.

The mapping engine belongs to the hub, and the SDK imports nothing of the hub's: the runner
is given a ``RecordMapper`` (the hub's pytest plugin ``hub.testing`` provides one as the
``kpihub_mapper`` fixture).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import jmespath
from pydantic import SecretStr

from ..errors import KpihubError
from ..options import SECRET_NAME, CredentialSpec, secret_field_names
from ..records import standard_record
from ..source import Checkpoint, Partition, RawRecord, Source, SourceContext, Stream

__all__ = ["SECRET_NAME", "KitRunner", "RecordMapper", "RowKey", "RunOutcome", "secret_names"]

"""Credential field names that say they hold a secret, which must then be typed ``SecretStr``."""

RowKey = tuple[str, tuple[Any, ...]]
"""A standard row's identity: its table and its natural key."""


class RecordMapper(Protocol):
    """Maps one raw record of a stream to validated standard rows, as the hub would."""

    def map(
        self, stream: Stream, raw: RawRecord, defaults: Mapping[str, Any]
    ) -> list[tuple[str, dict[str, Any]]]:
        """``(table, row)`` pairs, each row valid against its record model.

        Raises a ``KpihubError`` (``MappingError``) saying why the record cannot be mapped,
        including when the stream's default mapping itself is invalid.
        """
        ...


class Interrupted(Exception):
    """The runner stopped a run on purpose, as a crash would."""


@dataclass
class RunOutcome:
    """What one run did."""

    read: Counter[str] = field(default_factory=Counter)
    """Raw records read, by stream."""
    written: list[RowKey] = field(default_factory=list)
    """Rows inserted or changed by this run."""
    problems: list[str] = field(default_factory=list)
    """Streams that failed, records that could not be mapped, states the hub could not store."""
    duplicates: list[str] = field(default_factory=list)
    """Records whose primary key another record of this run already had, with other content."""
    collisions: list[str] = field(default_factory=list)
    """Rows whose natural key a row from another record of this run already had."""
    stats: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def total_read(self) -> int:
        return sum(self.read.values())


class KitRunner:
    """Runs a source's streams into in-memory tables; one instance stands for one connection."""

    def __init__(
        self,
        source_class: type[Source],
        *,
        options: Mapping[str, Any],
        credentials: Mapping[str, Any],
        mapper: RecordMapper,
        transport: httpx.AsyncBaseTransport | None = None,
        connection: str = "kit",
    ) -> None:
        self.source_class = source_class
        self.options = dict(options)
        self.credentials = dict(credentials)
        self.mapper = mapper
        self.transport = transport
        self.connection = connection
        self.states: dict[tuple[str, str], dict[str, Any]] = {}
        self.raw: dict[tuple[str, str, tuple[Any, ...]], RawRecord] = {}
        self.tables: dict[RowKey, dict[str, Any]] = {}
        self.secrets: set[str] = set(self._secret_values(self.credentials))
        """Every secret value the connection has held, rotated ones included."""

    def open(self, credentials: Mapping[str, Any] | None = None) -> Source:
        """A source for this connection, as the hub builds one for each run."""
        cls = self.source_class
        context = SourceContext(self.connection, save_credentials=self._save, transport=self.transport)
        creds = self.credentials if credentials is None else dict(credentials)
        return cls(cls.Options.model_validate(self.options), cls.Credentials.model_validate(creds), context)

    async def _save(self, updated: CredentialSpec) -> None:
        self.credentials = updated.revealed()
        self.secrets |= set(self._secret_values(self.credentials))

    def _secret_values(self, values: Mapping[str, Any]) -> list[str]:
        names = secret_names(self.source_class.Credentials)
        found = []
        for name in names:
            value = values.get(name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if isinstance(value, str) and len(value) >= 4:
                found.append(value)
        return found

    async def run(self, *, stop_after: int | None = None, full_refresh: bool = False) -> RunOutcome:
        """One sync of every stream; ``stop_after`` records, abandon it like a crash."""
        outcome = RunOutcome()
        source = self.open()
        seen_raw: dict[tuple[str, str, tuple[Any, ...]], RawRecord] = {}
        row_owner: dict[RowKey, tuple[str, tuple[Any, ...]]] = {}
        try:
            for stream in source.streams():
                for partition in stream.partitions():
                    try:
                        await self._partition(
                            source, stream, partition, outcome, seen_raw, row_owner, stop_after, full_refresh
                        )
                    except Interrupted:
                        raise
                    except Exception as exc:  # noqa: BLE001 - the hub records a failed stream; so does the kit
                        where = f"stream {stream.name!r} partition {partition.key!r}"
                        outcome.problems.append(f"{where} failed: {type(exc).__name__}: {exc}")
        except Interrupted:
            outcome.interrupted = True
        finally:
            outcome.stats = dict(source.stats())
            await source.aclose()
        return outcome

    async def _partition(
        self,
        source: Source,
        stream: Stream,
        partition: Partition,
        outcome: RunOutcome,
        seen_raw: dict[tuple[str, str, tuple[Any, ...]], RawRecord],
        row_owner: dict[RowKey, tuple[str, tuple[Any, ...]]],
        stop_after: int | None,
        full_refresh: bool,
    ) -> None:
        defaults = {**source.mapping_defaults(), **partition.defaults}
        state_key = (stream.name, partition.key)
        state = {} if full_refresh else dict(self.states.get(state_key, {}))
        buffer: list[RawRecord] = []
        items: AsyncIterator[RawRecord | Checkpoint] = stream.read(partition, state)
        try:
            async for item in items:
                if isinstance(item, Checkpoint):
                    self._commit(stream, partition, defaults, buffer, outcome, row_owner, item.state)
                    buffer = []
                    continue
                if stop_after is not None and outcome.total_read >= stop_after:
                    raise Interrupted(f"stopped after {stop_after} records")
                outcome.read[stream.name] += 1
                key = (stream.name, partition.key, self._raw_key(stream, item, outcome))
                if key in seen_raw and seen_raw[key] != item:
                    outcome.duplicates.append(
                        f"stream {stream.name!r}: two different records share primary key {key[2]!r}"
                    )
                seen_raw[key] = item
                buffer.append(item)
        finally:
            await _close(items)
        if buffer:  # as the engine does: keep them, the state stays where it was
            self._commit(stream, partition, defaults, buffer, outcome, row_owner, None)

    def _raw_key(self, stream: Stream, raw: RawRecord, outcome: RunOutcome) -> tuple[Any, ...]:
        values = []
        for expression in stream.primary_key:
            value = jmespath.search(expression, raw)
            if value is None:
                outcome.problems.append(
                    f"stream {stream.name!r}: primary key {expression!r} is null in a record "
                    f"with keys {sorted(raw)[:8]}"
                )
            values.append(json.dumps(value, sort_keys=True, default=str))
        return tuple(values)

    def _commit(
        self,
        stream: Stream,
        partition: Partition,
        defaults: Mapping[str, Any],
        records: list[RawRecord],
        outcome: RunOutcome,
        row_owner: dict[RowKey, tuple[str, tuple[Any, ...]]],
        state: dict[str, Any] | None,
    ) -> None:
        stored = None
        if state is not None:
            try:
                stored = json.loads(json.dumps(state))
            except (TypeError, ValueError) as exc:
                outcome.problems.append(
                    f"stream {stream.name!r}: a checkpoint state cannot be stored as JSON ({exc}); "
                    "keep only strings, numbers, booleans, lists and dicts in it"
                )
        for raw in records:
            raw_key = self._raw_key(stream, raw, _Discard())
            self.raw[(stream.name, partition.key, raw_key)] = raw
            try:
                rows = self.mapper.map(stream, raw, defaults)
            except KpihubError as exc:
                outcome.problems.append(f"stream {stream.name!r} record {raw_key!r}: {exc}")
                continue
            for table, row in rows:
                natural = tuple(row.get(column) for column in standard_record(table).natural_key)
                row_key: RowKey = (table, natural)
                owner = (stream.name, raw_key)
                previous = row_owner.get(row_key)
                if previous is not None and previous != owner and self.tables.get(row_key) != row:
                    outcome.collisions.append(
                        f"{table} row {natural!r} is produced by record {previous[1]!r} of stream "
                        f"{previous[0]!r} and by record {raw_key!r} of stream {stream.name!r}"
                    )
                row_owner[row_key] = owner
                if self.tables.get(row_key) != row:
                    outcome.written.append(row_key)
                    self.tables[row_key] = row
        if state is not None and stored is not None:
            self.states[(stream.name, partition.key)] = stored


def secret_names(credentials: type[CredentialSpec]) -> list[str]:
    """Fields typed as secrets, and fields whose names say they hold one (typed or not)."""
    typed = secret_field_names(credentials)
    return typed + [n for n in credentials.model_fields if SECRET_NAME.search(n) and n not in typed]


class _Discard(RunOutcome):
    """An outcome whose problems nobody reads: the key was checked when the record was read."""


async def _close(items: AsyncIterator[Any]) -> None:
    aclose = getattr(items, "aclose", None)
    if aclose is not None:
        await aclose()
