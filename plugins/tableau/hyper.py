"""Writing and reading ``.hyper`` files with tableauhyperapi (imported only when used).

A table goes to ``<directory>/<table>.hyper`` as ``"Extract"."Extract"``, the shape Tableau
publishes as a data source; or, with ``one_file``, every table goes to the one file as
``"Extract"."<table>"``. Every write goes to a temporary copy in the same directory that then
replaces the old file, so a reader (or Tableau) never sees a half-written extract, and a table
that fails midway leaves the file as it was.
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

from sdk import ConfigError, TableSchema

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


def _kinds(schema: TableSchema) -> dict[str, str]:
    """Each column's Hyper kind: a decimal of more than four places (a KPI value's quotients)
    is kept as a double, since an extract of the default database version holds 18-digit
    numerics only, which ten places would leave eight digits of amount."""
    return {
        name: "float" if kind == "decimal" and schema.decimal_places(name) > 4 else kind
        for name, kind in schema.columns.items()
    }


def _value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "float":
        double = float(value)
        return double if math.isfinite(double) else None
    if kind == "decimal":
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        return number.quantize(Decimal("0.0001")) if number.is_finite() else None
    return value


class HyperWriter:
    """One Hyper process for a push; ``write`` replaces or extends a table in its file.

    ``target`` is the folder of one file per table or, with ``one_file``, the file of them all.
    """

    def __init__(self, target: Path, *, one_file: bool = False) -> None:
        from tableauhyperapi import HyperProcess, Telemetry

        self.one_file = one_file
        self.directory = target.parent if one_file else target
        self._file = target if one_file else None
        self.directory.mkdir(parents=True, exist_ok=True)
        self._process = HyperProcess(
            telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_config": ""}
        )

    def path(self, table: str) -> Path:
        return self._file if self._file is not None else self.directory / f"{table}.hyper"

    def table_name(self, table: str) -> tuple[str, str]:
        """The (schema, table) a table is written as."""
        return SCHEMA, table if self.one_file else TABLE

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
            HyperException,
            Inserter,
            TableDefinition,
            TableName,
        )

        final = self.path(schema.name)
        temp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        # The other tables of a shared file stay as they are: start from a copy of it.
        keep = append or self.one_file
        copied = keep and final.exists()
        if copied:
            shutil.copyfile(final, temp)
        types = hyper_types()
        kinds = _kinds(schema)
        name = TableName(*self.table_name(schema.name))
        definition = TableDefinition(
            name,
            [
                TableDefinition.Column(name, types[kind], NOT_NULLABLE if name in schema.key else NULLABLE)
                for name, kind in kinds.items()
            ],
        )
        written = 0
        try:
            mode = CreateMode.CREATE_IF_NOT_EXISTS if keep else CreateMode.CREATE_AND_REPLACE
            try:
                connection = Connection(self._process.endpoint, str(temp), mode)
            except HyperException as exc:
                if not copied:
                    raise
                # Only the copy was opened: the file itself is left as it was.
                raise ConfigError(
                    f"the Tableau sink's file {final} is not a Hyper extract (Hyper cannot open it); "
                    "move it away, or name another file in the sink's options"
                ) from exc
            with connection as conn:
                conn.catalog.create_schema_if_not_exists(SCHEMA)
                if not append:
                    conn.execute_command(f"DROP TABLE IF EXISTS {name}")
                conn.catalog.create_table_if_not_exists(definition)
                names = list(schema.columns)
                # Only numbers need converting; the other values go in as they are (a call per
                # value is much of what a large table's write costs).
                numeric = [(i, k) for i, k in enumerate(kinds.values()) if k in ("float", "decimal")]
                with Inserter(conn, definition) as inserter:
                    for row in rows:
                        values = [row.get(n) for n in names]
                        for i, kind in numeric:
                            values[i] = _value(values[i], kind)
                        inserter.add_row(values)
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
