"""The column map: which columns of a seller's report hold which kpihub metrics, for which scope.

A small YAML file (docs/reconcile.md) written once per report layout. It is checked whole when
loaded: an unknown key, a missing column name or a bad value is a ``ConfigError`` naming the map
file and the key at fault, before the report itself is read.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sdk import ConfigError

from ..errors import describe_validation

__all__ = ["MAX_MAP_BYTES", "ColumnMap", "OrderDetail", "load_map", "parse_map"]

MAX_MAP_BYTES = 64 * 1024
"""A map is a dozen lines; anything this large is not one."""

_Header = Field(min_length=1, max_length=255)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Columns(_Strict):
    """Header names of the report's columns."""

    date: str = _Header
    shop: str | None = Field(None, min_length=1, max_length=255)
    platform: str | None = Field(None, min_length=1, max_length=255)
    site: str | None = Field(None, min_length=1, max_length=255)
    metrics: dict[str, str] = Field(min_length=1, max_length=50)
    """kpihub metric id -> the header of the column holding it."""


class OrderColumns(_Strict):
    order_id: str = _Header
    shop: str = _Header
    date: str = _Header
    amount: str | None = Field(None, min_length=1, max_length=255)


class OrderDetail(_Strict):
    """A sheet listing the orders behind the report's figures, one order a row."""

    sheet: str = Field(min_length=1, max_length=31)
    header_row: int = Field(1, ge=1, le=1000)
    columns: OrderColumns


class ColumnMap(_Strict):
    """Where a report's figures are and how to read them."""

    sheet: str | None = Field(None, min_length=1, max_length=31)
    header_row: int = Field(1, ge=1, le=1000, description="the row holding the column names")
    scope: Literal["shop", "tenant", "platform", "site"] = "shop"
    grain: Literal["day", "month"] = "day"
    columns: Columns
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    tolerance: Decimal | None = Field(None, ge=0, allow_inf_nan=False)
    tolerance_pct: Decimal | None = Field(None, ge=0, le=100, allow_inf_nan=False)
    timezone: str | None = Field(None, description="the report's day boundary, e.g. Asia/Shanghai")
    orders: OrderDetail | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown timezone; use an IANA name such as Asia/Shanghai") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ColumnMap:
        if self.tolerance is not None and self.tolerance_pct is not None:
            raise ValueError("give tolerance or tolerance_pct, not both")
        scoped = {"shop": self.columns.shop, "platform": self.columns.platform, "site": self.columns.site}
        if self.scope in scoped and scoped[self.scope] is None:
            raise ValueError(
                f"scope {self.scope} needs columns.{self.scope}: the header of the {self.scope} column"
            )
        for scope, column in scoped.items():
            if scope != self.scope and column is not None:
                raise ValueError(f"columns.{scope} is given but the scope is {self.scope}")
        if self.orders is not None and self.scope != "shop":
            raise ValueError("orders (an order detail sheet) needs scope: shop")
        return self

    @property
    def scope_column(self) -> str | None:
        """The header of the column naming each row's scope (none for the tenant scope)."""
        return {"shop": self.columns.shop, "platform": self.columns.platform, "site": self.columns.site}.get(
            self.scope
        )

    def tolerance_for(self, report_value: Decimal) -> Decimal:
        """How far kpihub's value may be from ``report_value`` and still match (default 0.01)."""
        if self.tolerance_pct is not None:
            return abs(report_value) * self.tolerance_pct / 100
        return self.tolerance if self.tolerance is not None else Decimal("0.01")


def parse_map(text: bytes | str, name: str) -> ColumnMap:
    """The column map in ``text``; ``name`` is how errors call it (its file name)."""
    if len(text) > MAX_MAP_BYTES:
        raise ConfigError(f"the column map {name} is larger than {MAX_MAP_BYTES // 1024} KB; it is not a map")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ConfigError(f"the column map {name} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"the column map {name} must be a YAML mapping (sheet:, scope:, columns: …)")
    try:
        return ColumnMap.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{path}: {why}" if path != "<root>" else why
            for path, why in ((p, w.removeprefix("Value error, ")) for p, w in describe_validation(exc))
        )
        raise ConfigError(f"the column map {name}: {problems}") from None


def load_map(path: Path) -> ColumnMap:
    """The column map in the file at ``path``."""
    try:
        if path.stat().st_size > MAX_MAP_BYTES:
            raise ConfigError(
                f"the column map {path} is larger than {MAX_MAP_BYTES // 1024} KB; it is not a map"
            )
        text = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"the column map {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"the column map {path} cannot be read: {exc.strerror or exc}") from None
    return parse_map(text, str(path))
