"""What an Amazon connection is configured with: one seller account in one region."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from sdk import Destination, Source

from .marketplaces import ADS_OFFICIAL_HOSTS, LWA_OFFICIAL_HOSTS, MARKETPLACES, SP_API_OFFICIAL_HOSTS

__all__ = ["AmazonCredentials", "AmazonOptions"]


class AmazonOptions(Source.Options):
    """A selling-partner account: its region and the marketplaces (one shop each) it sells in."""

    # Report documents come from pre-signed S3 URLs in Amazon's answers.
    egress_hosts = ("*.amazonaws.com",)

    seller_id: str = Field(min_length=1)
    region: Annotated[Literal["na", "eu", "fe"], Destination("choice")]
    marketplaces: dict[str, str] = Field(
        min_length=1, description="marketplace id -> the hub's shop id for that marketplace"
    )
    orders_api: Literal["2026-01-01", "v0"] = Field(
        default="2026-01-01", description="v0 getOrders is retired by Amazon on 2027-03-27"
    )
    attribution_window: Literal[7, 14] = 14
    start_date: dt.date | None = Field(default=None, description="first day to read; default 90 days back")
    ads_lookback_days: int = Field(
        default=3, ge=0, le=60, description="ad days re-read: Amazon restates them"
    )
    report_poll_seconds: float = Field(default=30.0, gt=0)
    report_max_wait_seconds: float = Field(default=3 * 3600.0, gt=0)
    rate_limit_scale: float = Field(
        default=1.0, gt=0, le=10_000, description="raised usage plans, simulators: rate multiplier"
    )
    sp_api_url: Annotated[str | None, Destination("url", hosts=SP_API_OFFICIAL_HOSTS)] = Field(
        default=None,
        description="replaces the region's SP-API host: a sandbox, or a simulator the operator allows",
    )
    ads_url: Annotated[str | None, Destination("url", hosts=ADS_OFFICIAL_HOSTS)] = Field(
        default=None, description="replaces the region's Amazon Ads host"
    )
    lwa_url: Annotated[str | None, Destination("url", hosts=LWA_OFFICIAL_HOSTS)] = Field(
        default=None, description="the full LWA token URL (…/auth/o2/token), replacing Amazon's"
    )

    @field_validator("marketplaces")
    @classmethod
    def _known_marketplaces(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(MARKETPLACES))
        if unknown:
            raise ValueError(f"unknown marketplace ids {unknown}; known: {sorted(MARKETPLACES)}")
        return value

    @model_validator(mode="after")
    def _one_region(self) -> AmazonOptions:
        elsewhere = [m for m in self.marketplaces if MARKETPLACES[m].region != self.region]
        if elsewhere:
            raise ValueError(
                f"marketplaces {elsewhere} are not in region {self.region!r}; use one connection per region"
            )
        return self


class AmazonCredentials(Source.Credentials):
    """The LWA app and the seller's authorisation (refresh token)."""

    documentation = "Seller Central > Apps and Services > Develop Apps: LWA credentials and a refresh token"

    lwa_client_id: str = Field(min_length=1)
    lwa_client_secret: SecretStr
    refresh_token: SecretStr
    ads_refresh_token: SecretStr | None = None
