"""The Power BI sink: one push dataset per sink, tables replaced or appended, paced."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from sdk import ConfigError, Sink, SinkContext, TableBatch, TableSchema

from .client import PowerBIClient
from .dataset import check_fits, data_type, dataset_body, table_body, wire_converter
from .options import PowerBICredentials, PowerBIOptions
from .pacing import DatasetPacer

__all__ = ["PowerBISink"]

log = logging.getLogger("kpihub.powerbi")


class PowerBISink(Sink):
    """Pushes the published tables into a Power BI push dataset in a workspace.

    Push datasets cannot update or delete single rows, so the hub sends either rows that are
    all new (appended) or a whole table (its rows deleted, then posted again).
    """

    name = "powerbi"
    version = "0.1.0"
    upserts = False

    class Options(PowerBIOptions):
        """See ``PowerBIOptions``."""

    class Credentials(PowerBICredentials):
        """See ``PowerBICredentials``."""

    options: PowerBIOptions
    credentials: PowerBICredentials

    def __init__(
        self,
        options: PowerBIOptions,
        credentials: PowerBICredentials,
        context: SinkContext | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(options, credentials, context)
        self._transport = transport or self.context.transport
        self._client: PowerBIClient | None = None
        self.pacer = DatasetPacer(
            time_scale=options.time_scale, max_pending=options.max_pending, clock=clock, sleep=sleep
        )
        self.dataset_id: str | None = None
        self._schemas: dict[str, TableSchema] = {}
        self._table_rows: dict[str, int] = {}
        self.truncated = 0
        """String values cut to Power BI's 4,000 characters."""

    @property
    def client(self) -> PowerBIClient:
        if self._client is None:
            self._client = PowerBIClient(
                self.options,
                self.credentials,
                transport=self._transport,
                identity_transport=self.context.sync_transport,
            )
        return self._client

    async def prepare(self, schemas: Sequence[TableSchema]) -> None:
        check_fits(schemas, retention=self.options.retention)
        self._schemas = {s.name: s for s in schemas}
        found = [d for d in await self.client.datasets() if d.get("name") == self.options.dataset]
        if not found:
            body = dataset_body(self.options.dataset, schemas, measures=self.options.measures)
            self.dataset_id = await self.client.create_dataset(body, retention=self.options.retention)
            return
        dataset = found[0]
        if dataset.get("addRowsAPIEnabled") is False:
            raise ConfigError(
                f"dataset {self.options.dataset!r} in workspace {self.options.workspace_id} is not a push "
                "dataset; choose another dataset name in the sink's options"
            )
        self.dataset_id = str(dataset["id"])  # the client saw to it that there is one
        await self._evolve(schemas)

    async def _evolve(self, schemas: Sequence[TableSchema]) -> None:
        """Add new contract columns with PUT table (the full column list); rows are kept."""
        assert self.dataset_id is not None
        present = {t["name"]: t for t in await self.client.tables(self.dataset_id)}
        for schema in schemas:
            table = present.get(schema.name)
            if table is None:
                raise ConfigError(
                    f"dataset {self.options.dataset!r} has no table {schema.name!r} and push datasets do not "
                    "gain tables: delete the dataset in Power BI (the next push recreates and refills it) "
                    "or give the sink another dataset name"
                )
            columns = {c["name"]: c.get("dataType", "String") for c in table.get("columns") or []}
            wanted = {name: data_type(schema, name) for name in schema.columns}
            if "columns" not in table or any(name not in columns for name in wanted):
                body = table_body(schema, measures=self.options.measures, existing=columns)
                await self.client.put_table(self.dataset_id, body)

    async def push(self, batch: TableBatch, *, full: bool) -> int:
        if self.dataset_id is None or batch.table not in self._schemas:
            raise ConfigError(f"table {batch.table!r} was not prepared; prepare() comes before push()")
        dataset_id = self.dataset_id
        if full:
            await self.client.delete_rows(dataset_id, batch.table)
            self._table_rows[batch.table] = 0
        else:
            # What the table holds before an append: the hub's count less what it is sending.
            held = (self._schemas[batch.table].rows or 0) - (batch.total or 0)
            self._table_rows.setdefault(batch.table, max(0, held))
        sent = 0
        in_flight: set[asyncio.Task[None]] = set()
        rows = iter(batch.rows)
        to_wire = wire_converter(batch.columns)
        try:
            while chunk := list(itertools.islice(rows, self.options.rows_per_post)):
                wire = []
                for row in chunk:
                    converted, cut = to_wire(row)
                    wire.append(converted)
                    self.truncated += cut
                if len(in_flight) >= self.options.max_pending:
                    done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    _raise_first(done)
                in_flight.add(asyncio.create_task(self._post(dataset_id, batch, wire)))
                sent += len(wire)
            if in_flight:
                for outcome in await asyncio.gather(*in_flight, return_exceptions=True):
                    if isinstance(outcome, BaseException):
                        raise outcome
        finally:
            for task in in_flight:
                task.cancel()
            # Let cancelled POSTs unwind, so their connections close before the client does.
            await asyncio.gather(*in_flight, return_exceptions=True)
        if self.truncated:
            log.warning("%d string values were cut to Power BI's 4,000 characters", self.truncated)
        return sent

    async def _post(self, dataset_id: str, batch: TableBatch, rows: list[dict[str, Any]]) -> None:
        table = batch.table

        async def send() -> None:
            await self.client.post_rows(dataset_id, table, rows)

        await self.pacer.post(rows=len(rows), table_rows=self._table_rows[table], send=send)
        self._table_rows[table] += len(rows)
        batch.accepted(len(rows))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    @classmethod
    def simulator(cls, seed: int) -> Any:
        """A Power BI tenant with one workspace; its credentials are printed when served."""
        from .simulator import PowerBISimulator

        return PowerBISimulator(workspaces=[str(uuid.UUID(int=seed))])


def _raise_first(done: set[asyncio.Task[None]]) -> None:
    """Raise the first failure among finished POSTs, having looked at every one of them."""
    errors = [error for task in done if not task.cancelled() and (error := task.exception()) is not None]
    if errors:
        raise errors[0]
