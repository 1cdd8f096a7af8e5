"""What a TikTok Shop connection is configured with: one authorised seller and its shops."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from sdk import Destination, Source

__all__ = ["API_HOST", "AUTH_HOST", "REGIONS", "Region", "TikTokCredentials", "TikTokOptions", "TikTokShop"]

API_HOST = "https://open-api.tiktokglobalshop.com"
AUTH_HOST = "https://auth.tiktok-shops.com"


@dataclass(frozen=True)
class Region:
    """A TikTok Shop region as the hub names it: its site code and currency."""

    site: str
    currency: str


REGIONS: dict[str, Region] = {
    "US": Region("US", "USD"),
    "GB": Region("UK", "GBP"),
    "MY": Region("MY", "MYR"),
    "TH": Region("TH", "THB"),
    "ID": Region("ID", "IDR"),
    "PH": Region("PH", "PHP"),
    "VN": Region("VN", "VND"),
    "SG": Region("SG", "SGD"),
    "MX": Region("MX", "MXN"),
    "ES": Region("ES", "EUR"),
}
"""Shop region codes (``GET /authorization/202309/shops`` ``shops[].region``) the hub knows."""


class TikTokShop(BaseModel):
    """One shop of the seller: its cipher (from ``/authorization/202309/shops``) and the hub's id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cipher: str = Field(min_length=1, description="shops[].cipher of GET /authorization/202309/shops")
    shop_id: str = Field(min_length=1, description="the hub's shop id for this shop")
    region: str = Field(description="shops[].region, e.g. US, GB, MY, TH")
    name: str | None = Field(default=None, description="the shop's name, for people")

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value.upper() not in REGIONS:
            raise ValueError(f"unknown region {value!r}; known: {', '.join(sorted(REGIONS))}")
        return value.upper()


class TikTokOptions(Source.Options):
    """A seller authorisation of one app and the shops (one partition each) it covers."""

    shops: list[TikTokShop] = Field(min_length=1)
    start_date: dt.date | None = Field(default=None, description="first day to read; default 90 days back")
    page_size: int = Field(default=100, ge=1, le=100, description="orders per page (TikTok allows 1-100)")
    returns_page_size: int = Field(default=50, ge=10, le=50, description="returns per page (10-50)")
    requests_per_second: float = Field(
        default=5.0, gt=0, le=10_000, description="per shop and endpoint; TikTok's limits are dynamic"
    )
    burst: int = Field(default=10, ge=1, le=1000)
    lag_seconds: int = Field(
        default=60, ge=0, le=86400, description="records updated this recently are left for the next sync"
    )
    api_url: Annotated[str, Destination("url", hosts=("open-api.tiktokglobalshop.com",))] = API_HOST
    auth_url: Annotated[str, Destination("url", hosts=("auth.tiktok-shops.com",))] = AUTH_HOST

    @model_validator(mode="after")
    def _distinct(self) -> TikTokOptions:
        for name in ("cipher", "shop_id"):
            values = [getattr(shop, name) for shop in self.shops]
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"shops: {name} {twice} listed more than once")
        return self


class TikTokCredentials(Source.Credentials):
    """The app (key and secret) and the seller's authorisation: a refresh token or a fresh code."""

    documentation = (
        "Partner Center > App & Service > your app: app key and secret; the seller authorises the app "
        "and you receive an auth code (valid 30 minutes, once) or, after exchanging it, a refresh token"
    )

    app_key: SecretStr = Field(
        description="the app's key; kept as a secret, like the hub keeps every app key"
    )
    app_secret: SecretStr
    refresh_token: SecretStr | None = None
    auth_code: SecretStr | None = None
    access_token: SecretStr | None = None
    access_expires_at: int | None = Field(default=None, description="Unix seconds, as TikTok gives it")

    @model_validator(mode="after")
    def _authorised(self) -> TikTokCredentials:
        if self.refresh_token is None and self.auth_code is None:
            raise ValueError("give refresh_token, or auth_code from the seller's authorisation")
        return self
