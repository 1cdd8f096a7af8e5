"""What a Mabang connection is configured with: the app, the gateway and the shop mapping."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sdk import Destination, Source

__all__ = ["DEFAULT_BASE_URL", "MabangCredentials", "MabangOptions", "MabangShop"]

DEFAULT_BASE_URL = "https://gwapi.mabangerp.com/api/v2"


class MabangShop(BaseModel):
    """Which hub shop a Mabang shop is: orders are keyed by the hub's (platform, shop_id)."""

    model_config = ConfigDict(extra="forbid")

    platform: str = Field(min_length=1, description="the hub's platform name, e.g. amazon, shopify")
    shop_id: str = Field(min_length=1, description="the hub's shop id, as the marketplace connector uses it")
    site: str | None = None


class MabangOptions(Source.Options):
    """One Mabang ERP account (app key) and the shops of it the hub reads.

    ``shops`` maps Mabang's ``shopId`` to the hub's shop: the same order then lands once, under
    the key its marketplace connector uses. ``sys-get-shop-list`` (the ``shops`` stream) shows
    every Mabang shop id with its name and platform, as hints for filling it in.
    """

    base_url: Annotated[str, Destination("url", hosts=("*.mabangerp.com",))] = Field(
        default=DEFAULT_BASE_URL,
        description="the gateway; both /api/v2 and /api/v1 (with version in the body) are in use",
    )
    api_version: str = Field(default="2", pattern=r"^[0-9]+$", description="the body's version field")
    shops: dict[str, MabangShop] = Field(min_length=1, description="Mabang shopId -> the hub's shop")
    start_date: dt.date | None = Field(default=None, description="first day to read; default 90 days back")
    window_days: int = Field(default=7, ge=1, le=31, description="days per updateTime window")
    returns_lookback_days: int = Field(
        default=30, ge=0, le=180, description="return cases re-read: their status moves on"
    )
    max_rows: int = Field(default=500, ge=1, le=1000, description="rows per page (maxRows)")
    requests_per_second: float = Field(
        default=5.0, gt=0, le=1000, description="Mabang publishes no limit; a conservative pace"
    )


class MabangCredentials(Source.Credentials):
    """The developer app of the Mabang open platform."""

    documentation = "Mabang ERP > open platform (开放平台): the app's AppKey and its secret"

    app_key: SecretStr = Field(description="sent in every body, but kept like a secret: it names the account")
    app_secret: SecretStr
