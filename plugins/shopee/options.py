"""What a Shopee connection is configured with: one partner app and the shops it reads."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from sdk import Source

from .regions import HOSTS, REGIONS

__all__ = ["ShopeeCredentials", "ShopeeOptions"]


class ShopeeOptions(Source.Options):
    """A partner app (``partner_id``) reading one or more authorised shops, each a partition."""

    partner_id: int = Field(gt=0, description="the app's partner id (Shopee Open Platform console)")
    shops: dict[str, str] = Field(
        min_length=1, description="shop id -> its region code (SG, MY, TH, PH, VN, ID, TW, BR, ...)"
    )
    host: Literal["global", "china", "brazil", "sandbox", "sandbox_china"] = Field(
        default="global", description="production near SG (global), Chinese Mainland, Brazil/US, or sandbox"
    )
    base_url: str | None = Field(default=None, description="replaces the host: a proxy or a simulator")
    start_date: dt.date | None = Field(default=None, description="first day to read; default 90 days back")
    ads: bool = Field(default=True, description="read daily CPC ads performance")
    ads_lookback_days: int = Field(default=3, ge=1, le=30, description="ad days re-read (restated)")
    rate_limit: float = Field(
        default=10.0,
        gt=0,
        le=10_000,
        description="requests/s per API, shared by the app's shops",
    )

    @field_validator("shops")
    @classmethod
    def _known_shops(cls, value: dict[str, str]) -> dict[str, str]:
        bad_ids = sorted(shop for shop in value if not shop.isdigit())
        if bad_ids:
            raise ValueError(f"shop ids are numbers, not {bad_ids}")
        unknown = sorted({code for code in value.values() if code.upper() not in REGIONS})
        if unknown:
            raise ValueError(f"unknown regions {unknown}; known: {sorted(REGIONS)}")
        return {shop: code.upper() for shop, code in value.items()}

    def url(self) -> str:
        return (self.base_url or HOSTS[self.host]).rstrip("/")


def _json_object(value: Any) -> Any:
    """Accept a plain object of shop id -> value and keep it as JSON text in a secret."""
    if isinstance(value, dict):
        return json.dumps({str(k): v for k, v in sorted(value.items())}, separators=(",", ":"))
    return value


class ShopeeCredentials(Source.Credentials):
    """The partner key and, per shop, its (single-use) refresh token and current access token.

    ``refresh_tokens`` is an object of shop id -> refresh token (each shop refreshes on its
    own). The connector replaces a refresh token the moment Shopee hands out its successor and
    keeps each shop's access token (``access_tokens``) so a run does not spend a refresh token
    needlessly; both are stored encrypted.
    """

    documentation = (
        "Shopee Open Platform console > App: partner_id and partner_key; authorise each shop "
        "(shop/auth_partner) and exchange the code with auth/token/get for its refresh_token"
    )

    partner_key: SecretStr
    refresh_tokens: SecretStr
    access_tokens: SecretStr | None = None

    _to_json = field_validator("refresh_tokens", "access_tokens", mode="before")(_json_object)

    @field_validator("refresh_tokens")
    @classmethod
    def _readable_refresh_tokens(cls, value: SecretStr) -> SecretStr:
        tokens = _load(value)
        if not tokens or not all(isinstance(t, str) and t for t in tokens.values()):
            raise ValueError('give an object of shop id -> refresh token, e.g. {"123456": "..."}')
        return value

    def refresh_token(self, shop_id: str) -> str | None:
        return _load(self.refresh_tokens).get(shop_id)

    def access_token(self, shop_id: str) -> tuple[str, float] | None:
        """The kept access token of ``shop_id`` and when it expires (Unix seconds), if any."""
        found = _load(self.access_tokens).get(shop_id) if self.access_tokens else None
        if not isinstance(found, dict) or not found.get("token"):
            return None
        return str(found["token"]), float(found.get("expires_at", 0))


def _load(secret: SecretStr | None) -> dict[str, Any]:
    if secret is None:
        return {}
    try:
        loaded = json.loads(secret.get_secret_value())
    except ValueError:
        raise ValueError("is not a JSON object of shop id -> token") from None
    if not isinstance(loaded, dict):
        raise ValueError("is not a JSON object of shop id -> token")
    return loaded
