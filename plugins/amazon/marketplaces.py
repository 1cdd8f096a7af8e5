"""Amazon marketplaces and regions: ids, sales channels, currencies and endpoints."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ADS_HOSTS",
    "ADS_OFFICIAL_HOSTS",
    "LWA_OFFICIAL_HOSTS",
    "LWA_TOKEN_URL",
    "MARKETPLACES",
    "SP_API_HOSTS",
    "SP_API_OFFICIAL_HOSTS",
    "Marketplace",
    "marketplace",
]

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105 - a URL, not a secret

SP_API_HOSTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
ADS_HOSTS = {
    "na": "https://advertising-api.amazon.com",
    "eu": "https://advertising-api-eu.amazon.com",
    "fe": "https://advertising-api-fe.amazon.com",
}
# The only hosts a connection's URL options may name: production and sandbox of each region.
SP_API_OFFICIAL_HOSTS = (
    *(f"sellingpartnerapi-{region}.amazon.com" for region in ("na", "eu", "fe")),
    *(f"sandbox.sellingpartnerapi-{region}.amazon.com" for region in ("na", "eu", "fe")),
)
ADS_OFFICIAL_HOSTS = tuple(url.removeprefix("https://") for url in ADS_HOSTS.values())
LWA_OFFICIAL_HOSTS = ("api.amazon.com", "api.amazon.co.uk", "api.amazon.co.jp")


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    country: str
    region: str
    currency: str
    sales_channel: str
    timezone: str

    @property
    def site(self) -> str:
        """The site code sellers use: the country, except "UK" for Great Britain."""
        return "UK" if self.country == "GB" else self.country


MARKETPLACES: dict[str, Marketplace] = {
    m.marketplace_id: m
    for m in (
        Marketplace("ATVPDKIKX0DER", "US", "na", "USD", "Amazon.com", "America/Los_Angeles"),
        Marketplace("A2EUQ1WTGCTBG2", "CA", "na", "CAD", "Amazon.ca", "America/Los_Angeles"),
        Marketplace("A1AM78C64UM0Y8", "MX", "na", "MXN", "Amazon.com.mx", "America/Mexico_City"),
        Marketplace("A2Q3Y263D00KWC", "BR", "na", "BRL", "Amazon.com.br", "America/Sao_Paulo"),
        Marketplace("A1F83G8C2ARO7P", "GB", "eu", "GBP", "Amazon.co.uk", "Europe/London"),
        Marketplace("A1PA6795UKMFR9", "DE", "eu", "EUR", "Amazon.de", "Europe/Berlin"),
        Marketplace("A13V1IB3VIYZZH", "FR", "eu", "EUR", "Amazon.fr", "Europe/Paris"),
        Marketplace("APJ6JRA9NG5V4", "IT", "eu", "EUR", "Amazon.it", "Europe/Rome"),
        Marketplace("A1RKKUPIHCS9HS", "ES", "eu", "EUR", "Amazon.es", "Europe/Madrid"),
        Marketplace("A1VC38T7YXB528", "JP", "fe", "JPY", "Amazon.co.jp", "Asia/Tokyo"),
        Marketplace("A19VAU5U5O7RUS", "SG", "fe", "SGD", "Amazon.sg", "Asia/Singapore"),
        Marketplace("A39IBJ37TRP1C6", "AU", "fe", "AUD", "Amazon.com.au", "Australia/Sydney"),
    )
}
"""Marketplaces by id (from Amazon's SP-API endpoint documentation)."""


def marketplace(marketplace_id: str) -> Marketplace:
    try:
        return MARKETPLACES[marketplace_id]
    except KeyError:
        known = ", ".join(f"{m.marketplace_id} ({m.country})" for m in MARKETPLACES.values())
        raise KeyError(f"unknown Amazon marketplace id {marketplace_id!r}; known: {known}") from None
