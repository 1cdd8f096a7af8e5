"""What a Shopee connection is configured with: one partner app and the shops it reads."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator

from sdk import Destination, Source

from .regions import HOSTS, OFFICIAL_HOSTS, REGIONS

__all__ = ["ANY_SHOP", "ShopeeCredentials", "ShopeeOptions", "refresh_tokens"]


class ShopeeOptions(Source.Options):
    """A partner app (``partner_id``) reading one or more authorised shops, each a partition."""

    partner_id: int = Field(gt=0, description="the app's partner id (Shopee Open Platform console)")
    shops: dict[str, str] = Field(
        min_length=1, description="shop id -> its region code (SG, MY, TH, PH, VN, ID, TW, BR, ...)"
    )
    host: Annotated[
        Literal["global", "china", "brazil", "sandbox", "sandbox_china"], Destination("choice")
    ] = Field(
        default="global", description="production near SG (global), Chinese Mainland, Brazil/US, or sandbox"
    )
    base_url: Annotated[str | None, Destination("url", hosts=OFFICIAL_HOSTS)] = Field(
        default=None, description="replaces the host: another Shopee host, or a simulator the operator allows"
    )
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
        problems = []
        bad_ids = sorted(shop for shop in value if not shop.isdigit())
        if bad_ids:
            problems.append(f"shop ids are numbers, not {bad_ids}")
        unknown = sorted({code for code in value.values() if code.upper() not in REGIONS})
        if unknown:
            problems.append(f"unknown regions {unknown}; known: {sorted(REGIONS)}")
        if problems:
            raise ValueError("; ".join(problems))
        return {shop: code.upper() for shop, code in value.items()}

    def url(self) -> str:
        return (self.base_url or HOSTS[self.host]).rstrip("/")


def _tokens_json(value: Any) -> Any:
    """Keep an object of shop id -> refresh token as JSON text in a secret; a plain string is
    one token for every shop. Problems are named without quoting values: they are secrets."""
    if isinstance(value, dict):
        if not value or not all(isinstance(v, str) and v for v in value.values()):
            raise ValueError("give each shop's refresh token: an object of shop id -> refresh token (text)")
        return json.dumps({str(k): v for k, v in sorted(value.items())}, separators=(",", ":"))
    return value


def _access_json(value: Any) -> Any:
    """The connector's own record of access tokens: shop id -> {"token", "expires_at"}."""
    if isinstance(value, dict):
        for kept in value.values():
            if not (
                isinstance(kept, dict)
                and isinstance(kept.get("token"), str)
                and isinstance(kept.get("expires_at"), int | float)
            ):
                raise ValueError('each shop\'s access token is {"token": text, "expires_at": Unix seconds}')
        return json.dumps({str(k): v for k, v in sorted(value.items())}, separators=(",", ":"))
    return value


class ShopeeCredentials(Source.Credentials):
    """The partner key and, per shop, its (single-use) refresh token and current access token.

    ``refresh_tokens`` is an object of shop id -> refresh token (each shop refreshes on its
    own), or one token for every shop (a main-account authorisation hands out one). The
    connector replaces a shop's refresh token the moment Shopee hands out its successor, and
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

    _refresh_json = field_validator("refresh_tokens", mode="before")(_tokens_json)
    _access_json = field_validator("access_tokens", mode="before")(_access_json)

    @field_validator("refresh_tokens")
    @classmethod
    def _some_refresh_token(cls, value: SecretStr) -> SecretStr:
        if not refresh_tokens(value):
            raise ValueError("give each shop's refresh token: an object of shop id -> refresh token")
        return value

    def refresh_token(self, shop_id: str) -> str | None:
        tokens = refresh_tokens(self.refresh_tokens)
        found = tokens.get(shop_id) or tokens.get(ANY_SHOP)
        return str(found) if found else None

    def access_token(self, shop_id: str) -> tuple[str, float] | None:
        """The kept access token of ``shop_id`` and when it expires (Unix seconds), if any."""
        found = _object(self.access_tokens).get(shop_id)
        if not isinstance(found, dict) or not found.get("token"):
            return None
        return str(found["token"]), float(found.get("expires_at", 0))


ANY_SHOP = "*"
"""Key of a refresh token given for every shop."""


def refresh_tokens(secret: SecretStr) -> dict[str, Any]:
    """Refresh tokens by shop id; a single token given for all shops is under ``ANY_SHOP``."""
    text = secret.get_secret_value().strip()
    if text.startswith("{"):
        found = _object(secret)
        if found:
            return found
    return {ANY_SHOP: text} if text else {}


def _object(secret: SecretStr | None) -> dict[str, Any]:
    if secret is None:
        return {}
    try:
        loaded = json.loads(secret.get_secret_value())
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
