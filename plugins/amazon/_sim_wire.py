"""Amazon simulator helpers: marketplaces, identities and wire formatting (no HTTP here).

Used only by ``plugins.amazon.simulator``; nothing in the connector imports it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sdk.records import InventorySnapshot, Order, OrderItem, OrderStatus
from sdk.simulator import SellerWorld, ShopSpec

__all__ = [
    "CENT",
    "MARKETPLACES",
    "WIRE_STATUS",
    "ZERO",
    "AmazonShop",
    "InventoryToken",
    "Marketplace",
    "OrderView",
    "SellerAccount",
    "allocate",
    "decode_token",
    "dumps",
    "encode_token",
    "fba_snapshot",
    "inbound_split",
    "iso",
    "iso_ms",
    "line_shares",
    "marketplace_of",
    "money",
    "parse_time",
    "seconds",
    "stable_alnum",
    "stable_int",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Marketplace:
    """One Amazon marketplace: the hub's site code for it, its id, region and sales channel."""

    site: str
    marketplace_id: str
    region: str
    sales_channel: str


MARKETPLACES: dict[str, Marketplace] = {
    m.site: m
    for m in (
        Marketplace("US", "ATVPDKIKX0DER", "NA", "Amazon.com"),
        Marketplace("CA", "A2EUQ1WTGCTBG2", "NA", "Amazon.ca"),
        Marketplace("MX", "A1AM78C64UM0Y8", "NA", "Amazon.com.mx"),
        Marketplace("UK", "A1F83G8C2ARO7P", "EU", "Amazon.co.uk"),
        Marketplace("DE", "A1PA6795UKMFR9", "EU", "Amazon.de"),
        Marketplace("FR", "A13V1IB3VIYZZH", "EU", "Amazon.fr"),
        Marketplace("IT", "APJ6JRA9NG5V4", "EU", "Amazon.it"),
        Marketplace("ES", "A1RKKUPIHCS9HS", "EU", "Amazon.es"),
        Marketplace("JP", "A1VC38T7YXB528", "FE", "Amazon.co.jp"),
        Marketplace("SG", "A19VAU5U5O7RUS", "FE", "Amazon.sg"),
        Marketplace("AU", "A39IBJ37TRP1C6", "FE", "Amazon.com.au"),
    )
}
"""Marketplaces by the world's site code (``UK`` for the United Kingdom; ``GB`` is accepted too)."""

_SITE_ALIASES = {"GB": "UK"}

WIRE_STATUS: dict[OrderStatus, str] = {
    OrderStatus.PENDING: "Pending",
    OrderStatus.PAID: "Unshipped",
    OrderStatus.SHIPPED: "Shipped",
    OrderStatus.DELIVERED: "Shipped",
    OrderStatus.REFUNDED: "Shipped",
    OrderStatus.PARTIALLY_REFUNDED: "Shipped",
    OrderStatus.CANCELLED: "Canceled",
}
"""The world's order status as Amazon's ``OrderStatus``."""


def marketplace_of(site: str) -> Marketplace:
    found = MARKETPLACES.get(_SITE_ALIASES.get(site, site))
    if found is None:
        raise ValueError(f"no Amazon marketplace for site {site!r}; known sites: {', '.join(MARKETPLACES)}")
    return found


def stable_alnum(text: str, length: int) -> str:
    """``length`` upper-case letters and digits derived from ``text`` (same text, same answer)."""
    digest = hashlib.blake2b(text.encode(), digest_size=32).digest()
    return base64.b32encode(digest).decode().rstrip("=")[:length]


def stable_int(text: str, digits: int) -> int:
    """A ``digits``-digit number derived from ``text``."""
    value = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=16).digest(), "big")
    low: int = 10 ** (digits - 1)
    return low + value % (9 * low)


@dataclass(frozen=True)
class AmazonShop:
    """A world shop as Amazon sees it: one marketplace of one seller account, with an Ads profile."""

    spec: ShopSpec
    seller_id: str
    marketplace: Marketplace
    profile_id: int

    @property
    def shop_id(self) -> str:
        return self.spec.shop_id

    @property
    def warehouse(self) -> str:
        """The FBA warehouse name a connector stores this shop's FBA stock under."""
        return f"FBA-{self.spec.shop_id}"

    @classmethod
    def of(cls, spec: ShopSpec) -> AmazonShop:
        return cls(
            spec=spec,
            seller_id="A" + stable_alnum(f"amazon-seller:{spec.shop_id}", 13),
            marketplace=marketplace_of(spec.site),
            profile_id=stable_int(f"amazon-ads-profile:{spec.shop_id}", 15),
        )


@dataclass
class SellerAccount:
    """A selling-partner account: its refresh token and its shops by marketplace id."""

    seller_id: str
    region: str
    refresh_token: str
    shops: dict[str, AmazonShop] = field(default_factory=dict)


# -- wire formatting ----------------------------------------------------------------------------


def seconds(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC without its fraction of a second: what an ISO time on the wire keeps."""
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 time (``Z`` or an offset; a bare date or naive time is UTC) in UTC."""
    parsed = dt.datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def money(amount: Decimal, currency: str) -> dict[str, str]:
    """Orders API ``Money``: the amount as a string with two decimals."""
    return {"CurrencyCode": currency, "Amount": f"{amount.quantize(CENT):f}"}


_NUMBER = re.compile(r'"\\u0000(-?[0-9]+(?:\.[0-9]+)?)\\u0000"')


def _decimal_marker(value: object) -> str:
    if isinstance(value, Decimal):
        return f"\x00{value.quantize(CENT):f}\x00"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(body: object) -> bytes:
    """JSON where every ``Decimal`` is a number with exactly two decimals (``-12.30``, not ``-12.3``)."""
    text = json.dumps(body, default=_decimal_marker, separators=(",", ":"))
    return _NUMBER.sub(r"\1", text).encode()


def encode_token(state: dict[str, Any]) -> str:
    """An opaque page token carrying the listing's state."""
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return state if isinstance(state, dict) else None


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` split over lines in proportion to ``weights``, in cents; the remainder on the last."""
    if not weights:
        return []
    whole = sum(weights, ZERO)
    shares = [weight / whole if whole else Decimal(1) / len(weights) for weight in weights]
    parts = [(total * share).quantize(CENT, ROUND_DOWN) for share in shares[:-1]]
    return [*parts, total - sum(parts, ZERO)]


def line_shares(order: Order, lines: list[OrderItem]) -> tuple[list[Decimal], list[Decimal], list[Decimal]]:
    """The order's (tax, shipping fee, discount), each split over its lines by line amount.

    Both Orders APIs carry these per item (v0 ``ItemTax``/``ShippingPrice``/``PromotionDiscount``,
    v2026-01-01 the item's ``TAX``/``SHIPPING``/``DISCOUNT`` proceeds); each sums to the order's.
    """
    amounts = [line.amount for line in lines]
    return (
        allocate(order.tax, amounts),
        allocate(order.shipping_fee, amounts),
        allocate(order.discount, amounts),
    )


def inbound_split(inbound: int) -> tuple[int, int, int]:
    """The world's one inbound figure as Amazon's (working, shipped, receiving) quantities."""
    working, receiving = inbound // 4, inbound // 5
    return working, inbound - working - receiving, receiving


def fba_snapshot(world: SellerWorld, shop: AmazonShop) -> list[InventorySnapshot]:
    """The world's latest snapshot of the shop's FBA warehouse, by SKU.

    The world keeps FBA stock in one warehouse per Amazon shop (``warehouse_type`` ``fba``,
    ``platform`` amazon, the shop's ``shop_id``); its latest day is what the API reports.
    """
    names = {
        w.warehouse
        for w in world.warehouses
        if w.warehouse_type == "fba" and w.platform == "amazon" and w.shop_id == shop.shop_id
    }
    rows = [row for name in sorted(names) for row in world.inventory(name)]
    if not rows:
        return []
    latest = max(row.date for row in rows)
    return sorted((row for row in rows if row.date == latest), key=lambda row: row.sku)


@dataclass
class OrderView:
    """One shop's orders sorted for one listing mode, valid while the world's orders are the same."""

    identity: list[int]
    keys: list[tuple[dt.datetime, str]]
    orders: list[Order]


@dataclass
class InventoryToken:
    """What an FBA inventory ``nextToken`` stands for, and when (simulated seconds) it was issued."""

    seller_id: str
    marketplace_id: str
    offset: int
    issued: float
