"""Writing and reading ``.hyper`` files with tableauhyperapi (imported only when used).

A table goes to ``<directory>/<table>.hyper`` as ``"Extract"."Extract"``, the shape Tableau
publishes as a data source. Every write goes to a temporary file in the same directory that
then replaces the old one, so a reader (or Tableau) never sees a half-written extract.
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from sdk import TableSchema

__all__ = ["HyperWriter", "hyper_types"]

SCHEMA = "Extract"
TABLE = "Extract"


def hyper_types() -> dict[str, Any]:
    from tableauhyperapi import SqlType  # type: ignore[import-untyped]

    return {
        "int": SqlType.big_int(),
        "float": SqlType.double(),
        "decimal": SqlType.numeric(18, 4),
        "bool": SqlType.bool(),
        "datetime": SqlType.timestamp_tz(),
        "date": SqlType.date(),
        "str": SqlType.text(),
    }


def _value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "float":
        return float(value) if math.isfinite(value) else None
    if kind == "decimal":
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        return number.quantize(Decimal("0.0001")) if number.is_finite() else None
    return value


class HyperWriter:
    """One Hyper process for a push; ``write`` replaces or extends a table's file."""

    def __init__(self, directory: Path) -> None:
        from tableauhyperapi import HyperProcess, Telemetry

        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._process = HyperProcess(
            telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_config": ""}
        )

    def path(self, table: str) -> Path:
        return self.directory / f"{table}.hyper"

    def write(
        self,
        schema: TableSchema,
        rows: Iterable[Mapping[str, Any]],
        *,
        append: bool,
        accepted: Any = None,
        chunk: int = 1_000,
    ) -> int:
        """Write ``rows`` as the whole table (or after its rows, with ``append``); returns rows written."""
        from tableauhyperapi import (
            NOT_NULLABLE,
            NULLABLE,
            Connection,
            CreateMode,
            Inserter,
            TableDefinition,
            TableName,
        )

        final = self.path(schema.name)
        temp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        if append and final.exists():
            shutil.copyfile(final, temp)
        types = hyper_types()
        definition = TableDefinition(
            TableName(SCHEMA, TABLE),
            [
                TableDefinition.Column(name, types[kind], NOT_NULLABLE if name in schema.key else NULLABLE)
                for name, kind in schema.columns.items()
            ],
        )
        written = 0
        try:
            mode = CreateMode.CREATE_IF_NOT_EXISTS if append else CreateMode.CREATE_AND_REPLACE
            with Connection(self._process.endpoint, str(temp), mode) as conn:
                conn.catalog.create_schema_if_not_exists(SCHEMA)
                conn.catalog.create_table_if_not_exists(definition)
                columns = list(schema.columns.items())
                with Inserter(conn, definition) as inserter:
                    for row in rows:
                        inserter.add_row([_value(row.get(name), kind) for name, kind in columns])
                        written += 1
                        if accepted is not None and written % chunk == 0:
                            accepted(chunk)
                    inserter.execute()
            os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)
        if accepted is not None and written % chunk:
            accepted(written % chunk)
        return written

    def close(self) -> None:
        self._process.close()
