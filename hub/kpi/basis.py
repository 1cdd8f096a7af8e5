"""Counting bases (口径): how a tenant counts, versioned so every KPI value can be explained.

A tenant starts on version 1 (the defaults below). ``set_counting_basis`` stores a new version
whenever the settings change; the engine stamps each value it computes with the version in
force and recomputes everything when the version moves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Connection

from sdk import ConfigError

from ..connections import audit
from ..store.kpi_tables import counting_bases

__all__ = ["BasisVersion", "CountingBasis", "current_basis", "list_bases", "set_counting_basis"]


class CountingBasis(BaseModel):
    """Every counting-basis option, with the default a tenant starts from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tax_included: bool = Field(True, description="GMV includes the tax the buyer paid")
    shipping_included: bool = Field(True, description="GMV includes the shipping the buyer paid")
    refund_dated_by: Literal["refund", "order"] = Field(
        "refund", description="a refund counts on the day it was made, or on its order's day"
    )
    ad_spend_with_fee: bool = Field(False, description="ad spend includes the agency management fee")
    ad_management_fee_rate: float = Field(0.0, ge=0, le=1, description="fee as a share of spend")
    attribution_window_days: Literal[7, 14] = Field(7, description="ad sales attribution window")
    margin_includes_cogs: bool = True
    margin_includes_platform_fees: bool = True
    margin_includes_shipping: bool = True
    margin_includes_ad_spend: bool = False
    refund_rate_by: Literal["count", "amount"] = "count"
    negative_review_max_stars: int = Field(2, ge=1, le=4)
    day_boundary: Literal["shop", "tenant"] = Field(
        "shop", description="days start at midnight in each shop's timezone or the tenant's"
    )
    tenant_timezone: str = "Asia/Shanghai"
    fx_rate: Literal["day", "month_average"] = Field(
        "day", description="convert with the rate of the day or the month's average rate"
    )
    turnover_by: Literal["value", "units"] = "value"
    stockout_lead_time_days: int = Field(30, ge=0)
    stockout_safety_days: int = Field(7, ge=0)
    new_shop_days: int = Field(180, ge=0, description="a shop is 'new' this many days after launch")
    min_coverage: float = Field(
        1.0,
        ge=0,
        le=1,
        description="share of a value's input rows that must be complete (FX rate, cost, fees known); "
        "below it the value is published as unknown",
    )

    @field_validator("tenant_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value


class BasisVersion(BaseModel):
    version: int
    settings: CountingBasis
    created_at: dt.datetime
    created_by: str
    note: str | None = None


def _row(row: Any) -> BasisVersion:
    return BasisVersion(
        version=row.version,
        settings=CountingBasis.model_validate(row.settings),
        created_at=row.created_at,
        created_by=row.created_by,
        note=row.note,
    )


def current_basis(conn: Connection, tenant_id: int) -> BasisVersion:
    """The tenant's newest basis version; version 1 with the defaults is created on first use."""
    row = conn.execute(
        sa.select(counting_bases)
        .where(counting_bases.c.tenant_id == tenant_id)
        .order_by(counting_bases.c.version.desc())
        .limit(1)
    ).first()
    if row is not None:
        return _row(row)
    # Two first computes of a tenant can race to create version 1: the loser reads the winner's.
    try:
        with conn.begin_nested():
            return _insert(conn, tenant_id, 1, CountingBasis(), actor="system", note="defaults")
    except sa.exc.IntegrityError:
        return current_basis(conn, tenant_id)


def list_bases(conn: Connection, tenant_id: int) -> list[BasisVersion]:
    rows = conn.execute(
        sa.select(counting_bases)
        .where(counting_bases.c.tenant_id == tenant_id)
        .order_by(counting_bases.c.version)
    )
    return [_row(r) for r in rows]


def set_counting_basis(
    conn: Connection, tenant_id: int, changes: dict[str, Any], *, actor: str, note: str | None = None
) -> BasisVersion:
    """Apply ``changes`` to the current basis; a new version is stored only if something changed.

    Unknown options or bad values raise a ``ConfigError`` naming them, and nothing is stored.
    """
    current = current_basis(conn, tenant_id)
    try:
        settings = CountingBasis.model_validate({**current.settings.model_dump(), **changes})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'basis'}: {e['msg']}" for e in exc.errors()
        )
        known = ", ".join(CountingBasis.model_fields)
        raise ConfigError(f"invalid counting basis ({problems}); options are: {known}") from None
    if settings == current.settings:
        return current
    stored = _insert(conn, tenant_id, current.version + 1, settings, actor=actor, note=note)
    audit(
        conn,
        actor=actor,
        action="counting_basis.set",
        target=f"counting_basis:{stored.version}",
        detail={"changes": changes, "note": note},
        tenant_id=tenant_id,
    )
    return stored


def _insert(
    conn: Connection, tenant_id: int, version: int, settings: CountingBasis, *, actor: str, note: str | None
) -> BasisVersion:
    now = dt.datetime.now(dt.UTC)
    conn.execute(
        counting_bases.insert().values(
            tenant_id=tenant_id,
            version=version,
            settings=settings.model_dump(mode="json"),
            note=note,
            created_at=now,
            created_by=actor,
        )
    )
    return BasisVersion(version=version, settings=settings, created_at=now, created_by=actor, note=note)
