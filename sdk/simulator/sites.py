"""Where a simulated seller sells: platforms, sites, shops, listings, warehouses, identifiers.

The figures are plausible, not authoritative: a site's tax rate, a rough exchange rate to USD
for pricing, the flat shipping fee and the free-shipping threshold. Identifiers look like the
platform's own (an Amazon order id ``113-1234567-1234567``, a Shopee ``order_sn``, a TikTok
19-digit id) so simulators can serve them as they are.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

__all__ = [
    "NEW_SHOP_DAYS",
    "SITES",
    "Listing",
    "ShopSpec",
    "Site",
    "Warehouse",
    "money",
    "new_id",
    "site_of",
]

CENT = Decimal("0.01")


def money(value: Decimal | int | float | str) -> Decimal:
    """``value`` rounded half-up to two places, the way every amount in a world is kept."""
    if isinstance(value, Decimal):
        return value.quantize(CENT, ROUND_HALF_UP)
    return Decimal(str(value) if isinstance(value, float) else value).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Site:
    """One marketplace of a platform: its currency, time zone, tax and shipping conventions."""

    code: str
    country: str
    currency: str
    timezone: str
    tax_rate: Decimal
    usd_rate: Decimal
    """Units of ``currency`` per USD, used to price SKUs whose base prices are in USD."""
    shipping_fee: Decimal
    free_shipping_over: Decimal

    def price(self, usd: float | Decimal) -> Decimal:
        """A USD amount as a shelf price here: x.99 in small units, whole (or thousands) in large."""
        return _shelf_price(Decimal(str(usd)), self.usd_rate)


def _shelf_price(usd: Decimal, usd_rate: Decimal) -> Decimal:
    local = usd * usd_rate
    if usd_rate >= 1000:
        return money((local / 1000).quantize(Decimal(1), ROUND_HALF_UP) * 1000)
    if usd_rate >= 20:
        return money(local.quantize(Decimal(1), ROUND_HALF_UP))
    return money(max(Decimal(1), local.quantize(Decimal(1), ROUND_HALF_UP)) - CENT)


def _site(code: str, currency: str, timezone: str, tax: str, rate: str, country: str = "") -> Site:
    usd_rate = Decimal(rate)
    return Site(
        code=code,
        country=country or code,
        currency=currency,
        timezone=timezone,
        tax_rate=Decimal(tax),
        usd_rate=usd_rate,
        shipping_fee=_shelf_price(Decimal(5), usd_rate),
        free_shipping_over=money(Decimal(35) * usd_rate),
    )


_US = _site("US", "USD", "America/Los_Angeles", "0.07", "1")
_UK = _site("UK", "GBP", "Europe/London", "0.20", "0.79", country="GB")
_DE = _site("DE", "EUR", "Europe/Berlin", "0.19", "0.92")
_JP = _site("JP", "JPY", "Asia/Tokyo", "0.10", "150")
_SG = _site("SG", "SGD", "Asia/Singapore", "0.09", "1.35")
_MY = _site("MY", "MYR", "Asia/Kuala_Lumpur", "0.00", "4.7")
_TH = _site("TH", "THB", "Asia/Bangkok", "0.07", "36")
_PH = _site("PH", "PHP", "Asia/Manila", "0.12", "56")
_VN = _site("VN", "VND", "Asia/Ho_Chi_Minh", "0.10", "25000")
_BR = _site("BR", "BRL", "America/Sao_Paulo", "0.00", "5.0")

SITES: dict[str, tuple[Site, ...]] = {
    "amazon": (_US, _UK, _DE, _JP),
    "shopee": (_SG, _MY, _TH, _PH, _VN, _BR),
    "tiktok": (_US, _UK, _MY, _TH),
    "lazada": (_SG, _MY, _TH, _PH),
    "ebay": (_US, _UK, _DE),
    "shopify": (_US,),
    "walmart": (_US,),
}
"""The sites each known platform sells on; a world's shops are spread over them."""

_ALNUM = string.ascii_uppercase + string.digits


def _digits(rng: random.Random, n: int) -> str:
    low = 10 ** (n - 1)
    return str(low + rng.getrandbits(64) % (9 * low))


@lru_cache(maxsize=4096)
def _stamp(on: dt.date | None) -> str:
    return (on or dt.date(2000, 1, 1)).strftime("%y%m%d")


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(_ALNUM, k=n))


def _amazon_order_id(rng: random.Random, _stamp: str) -> str:
    number = rng.getrandbits(64) % 10**14
    return f"{111 + rng.getrandbits(2)}-{number // 10**7:07d}-{number % 10**7:07d}"


# (kind, platform) -> make(rng, yymmdd of the day); platform "*" is every other platform.
_ID_FORMATS: dict[tuple[str, str], Callable[[random.Random, str], str]] = {
    ("shop", "amazon"): lambda rng, _: "A" + _alnum(rng, 13),
    ("shop", "tiktok"): lambda rng, _: "7" + _digits(rng, 18),
    ("shop", "*"): lambda rng, _: _digits(rng, 9),
    ("order", "amazon"): _amazon_order_id,
    ("order", "shopee"): lambda rng, stamp: stamp + _alnum(rng, 8),
    ("order", "lazada"): lambda rng, _: _digits(rng, 15),
    ("order", "tiktok"): lambda rng, _: "57" + _digits(rng, 16),
    ("order", "*"): lambda rng, _: _digits(rng, 12),
    ("refund", "shopee"): lambda rng, stamp: stamp + _digits(rng, 9),
    ("refund", "tiktok"): lambda rng, _: "46" + _digits(rng, 16),
    ("refund", "*"): lambda rng, _: _digits(rng, 12),
    ("item", "amazon"): lambda rng, _: "B0" + _alnum(rng, 8),
    ("item", "tiktok"): lambda rng, _: "17" + _digits(rng, 17),
    ("item", "*"): lambda rng, _: _digits(rng, 11),
    ("campaign", "amazon"): lambda rng, _: _digits(rng, 15),
    ("campaign", "*"): lambda rng, _: _digits(rng, 12),
}


def new_id(kind: str, platform: str, rng: random.Random, *, on: dt.date | None = None) -> str:
    """A fresh identifier of ``kind`` (shop, order, refund, item, campaign) in the platform's style.

    ``on`` is the day the thing was made, for platforms whose ids start with it. Uniqueness is
    the caller's job: worlds keep a set per scope and draw again on a clash.
    """
    make = _ID_FORMATS.get((kind, platform)) or _ID_FORMATS[(kind, "*")]
    return make(rng, _stamp(on))


NEW_SHOP_DAYS = 90
"""A shop launched fewer days ago than this is *new*; older shops are *mature*."""


@dataclass(frozen=True)
class ShopSpec:
    """One shop of the seller: where it sells, since when, and how many orders a day it takes.

    ``orders_per_day`` is the mean daily volume once the shop is established; a shop ramps up
    over its first weeks after ``launched_on``.
    """

    platform: str
    shop_id: str
    site: str
    currency: str
    timezone: str
    launched_on: dt.date
    orders_per_day: float = 20.0
    name: str | None = None

    @classmethod
    def on_site(
        cls,
        platform: str,
        site: str,
        *,
        shop_id: str,
        launched_on: dt.date,
        orders_per_day: float = 20.0,
        name: str | None = None,
    ) -> ShopSpec:
        """A shop on a known site of ``SITES``, taking currency and time zone from the site."""
        found = site_of(platform, site)
        return cls(platform, shop_id, site, found.currency, found.timezone, launched_on, orders_per_day, name)

    def is_new(self, on: dt.date) -> bool:
        return (on - self.launched_on).days < NEW_SHOP_DAYS


@dataclass(frozen=True)
class Listing:
    """A SKU as one shop lists it: the platform's item id and the shelf price in shop currency."""

    platform: str
    shop_id: str
    sku: str
    item_id: str
    unit_price: Decimal
    currency: str


@dataclass(frozen=True)
class Warehouse:
    """A place stock is held: the seller's own, a 3PL's, or a platform's (e.g. FBA for one shop)."""

    warehouse: str
    warehouse_type: str
    platform: str | None = None
    shop_id: str | None = None


def site_of(platform: str, code: str) -> Site:
    """The site ``code`` of ``platform``, else of any platform; ``KeyError`` if none has it."""
    for site in SITES.get(platform, ()):
        if site.code == code:
            return site
    for sites in SITES.values():
        for site in sites:
            if site.code == code:
                return site
    known = sorted({site.code for sites in SITES.values() for site in sites})
    raise KeyError(f"unknown site {code!r}; known sites: {', '.join(known)}")
