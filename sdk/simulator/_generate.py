"""How a seller world is drawn from its seed; ``SellerWorld.generate`` is the public door.

Each part of the world draws from its own random stream (named by seed, part and shop), so a
world is identical record for record for the same arguments, and one shop's orders do not
shift when another shop's volume changes.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from sdk.records import (
    AdPerformance,
    InventorySnapshot,
    Order,
    OrderItem,
    Refund,
    SkuCost,
    SkuDim,
    StandardRecord,
)

from .sites import SITES, Listing, ShopSpec, Site, Warehouse, money, new_id, site_of

R = TypeVar("R", bound=StandardRecord)
ShopKey = tuple[str, str]
OrderKey = tuple[str, str, str]

RAMP_DAYS = 60
"""A new shop reaches its full daily volume this many days after launch."""

WEEKDAY = (1.0, 0.95, 0.95, 1.0, 1.05, 1.2, 1.15)
_AD_TYPES = {
    "amazon": ("SPONSORED_PRODUCTS", "SPONSORED_PRODUCTS", "SPONSORED_BRANDS", "SPONSORED_DISPLAY"),
    "shopee": ("SEARCH", "DISCOVERY"),
    "tiktok": ("PRODUCT_GMV_MAX", "VIDEO_SHOPPING"),
    "lazada": ("SPONSORED_SEARCH", "SPONSORED_DISCOVERY"),
}
_CATEGORIES = {
    "HOM": ("Home & Kitchen", ("Silicone Spatula Set", "Bamboo Cutting Board", "Storage Jars", "Spice Rack")),
    "ELE": ("Electronics", ("USB-C Cable", "Wireless Earbuds", "Phone Stand", "Power Bank", "Desk Lamp")),
    "BEA": ("Beauty", ("Jade Face Roller", "Makeup Brush Set", "Hair Clips", "Nail Kit")),
    "SPO": ("Sports & Outdoors", ("Resistance Bands", "Yoga Mat", "Water Bottle", "Jump Rope")),
    "TOY": ("Toys & Games", ("Magnetic Tiles", "Puzzle Cube", "Plush Bear", "Building Blocks")),
    "PET": ("Pet Supplies", ("Cat Toy Wand", "Dog Leash", "Pet Brush", "Slow Feeder Bowl")),
}
_COLOURS = ("Black", "White", "Blue", "Green", "Pink", "Grey")


def stream(seed: int, *parts: object) -> random.Random:
    """The random stream for one part of a world; string seeds hash the same in every process."""
    return random.Random(":".join(map(str, (seed, *parts))))


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 60:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class Builder:
    """Makes records: validated, or trusted from values that already have the model's types.

    Validating every record would take most of the time a large world needs, so worlds are
    drawn trusted by default; tests draw them both ways and compare. A trusted record must
    be given every field, defaults included.
    """

    def __init__(self, *, validate: bool) -> None:
        self.validate = validate
        self._makers: dict[type[StandardRecord], Callable[[dict[str, Any]], Any]] = {}

    def __call__(self, cls: type[R], values: dict[str, Any]) -> R:
        return self.maker(cls)(values)

    def maker(self, cls: type[R]) -> Callable[[dict[str, Any]], R]:
        """A function making ``cls`` records from dicts of field values, for hot loops."""
        found = self._makers.get(cls)
        if found is None:
            found = self._makers[cls] = _validating(cls) if self.validate else _trusting(cls)
        return found


def _validating(cls: type[R]) -> Callable[[dict[str, Any]], R]:
    def make(values: dict[str, Any]) -> R:
        return cls(**values)

    return make


def _trusting(cls: type[R]) -> Callable[[dict[str, Any]], R]:
    fields = frozenset(cls.model_fields)
    checked = False
    new, put = object.__new__, object.__setattr__

    def make(values: dict[str, Any]) -> R:
        nonlocal checked
        if not checked:
            odd = fields ^ values.keys()
            if odd:
                raise TypeError(f"a trusted {cls.__name__} needs exactly its fields; check {sorted(odd)}")
            checked = True
        # What BaseModel.model_construct ends with, without its per-field Python loop.
        record = new(cls)
        put(record, "__dict__", values)
        put(record, "__pydantic_fields_set__", set(values))
        put(record, "__pydantic_extra__", None)
        put(record, "__pydantic_private__", None)
        return record

    return make


@dataclass(frozen=True)
class SkuSpec:
    sku: SkuDim
    base_price_usd: float
    unit_cost_usd: Decimal


@dataclass
class Drawn:
    """Everything a world holds, as drawn; ``SellerWorld`` indexes and serves it."""

    shops: list[ShopSpec]
    skus: list[SkuSpec]
    sku_costs: list[SkuCost]
    listings: dict[ShopKey, list[Listing]]
    orders: dict[ShopKey, dict[str, Order]] = field(default_factory=dict)
    items: dict[OrderKey, list[OrderItem]] = field(default_factory=dict)
    refunds: dict[ShopKey, list[Refund]] = field(default_factory=dict)
    ads: dict[int, list[AdPerformance]] = field(default_factory=lambda: {7: [], 14: []})
    warehouses: list[Warehouse] = field(default_factory=list)
    inventory: list[InventorySnapshot] = field(default_factory=list)


def draw_shops(
    seed: int, count: int, *, start: dt.date, days: int, orders_per_day: float, platforms: Sequence[str]
) -> list[ShopSpec]:
    rng = stream(seed, "shops")
    taken: set[str] = set()
    shops = []
    for i in range(count):
        platform = platforms[i % len(platforms)]
        sites = SITES.get(platform) or SITES["shopify"]
        site = sites[(i // len(platforms)) % len(sites)]
        if rng.random() < 0.7:
            launched = start - dt.timedelta(days=rng.randrange(180, 1000))
        else:
            launched = start + dt.timedelta(days=rng.randrange(-60, max(1, days // 2)))
        shop_id = new_id("shop", platform, rng)
        while shop_id in taken:
            shop_id = new_id("shop", platform, rng)
        taken.add(shop_id)
        volume = round(orders_per_day * rng.uniform(0.6, 1.4), 1)
        name = f"{platform.title()} {site.code} {i + 1}"
        shops.append(
            ShopSpec.on_site(
                platform, site.code, shop_id=shop_id, launched_on=launched, orders_per_day=volume, name=name
            )
        )
    return shops


def draw_skus(seed: int, count: int, *, start: dt.date, days: int) -> tuple[list[SkuSpec], list[SkuCost]]:
    rng = stream(seed, "skus")
    prefixes = sorted(_CATEGORIES)
    skus, costs = [], []
    for i in range(count):
        prefix = prefixes[i % len(prefixes)]
        category, nouns = _CATEGORIES[prefix]
        if i == 0 or rng.random() < 0.8:
            launched = start - dt.timedelta(days=rng.randrange(30, 720))
        else:
            launched = start + dt.timedelta(days=rng.randrange(0, max(1, days)))
        price = round(rng.uniform(6, 60), 2)
        cost = money(price * rng.uniform(0.2, 0.4))
        code = f"{prefix}-{i + 1:04d}"
        name = f"{rng.choice(_COLOURS)} {rng.choice(nouns)}"
        dim = SkuDim(sku=code, name=name, category=category, launched_on=launched, active=rng.random() < 0.95)
        skus.append(SkuSpec(dim, price, cost))
        first_leg = money(rng.uniform(0.3, 2.0))
        costs.append(
            SkuCost(
                sku=code, valid_from=launched, purchase_cost=cost, first_leg_cost=first_leg, currency="USD"
            )
        )
        if rng.random() < 0.2 and days > 1:
            changed = max(launched, start) + dt.timedelta(days=rng.randrange(1, days))
            new_cost = money(cost * Decimal(str(round(rng.uniform(0.9, 1.1), 3))))
            costs.append(
                SkuCost(
                    sku=code,
                    valid_from=changed,
                    purchase_cost=new_cost,
                    first_leg_cost=first_leg,
                    currency="USD",
                )
            )
    return skus, costs


def draw_listings(seed: int, shop: ShopSpec, skus: list[SkuSpec]) -> list[Listing]:
    rng = stream(seed, "listings", shop.platform, shop.shop_id)
    site = site_for(shop)
    size = max(1, round(len(skus) * rng.uniform(0.4, 0.8)))
    chosen = [0, *sorted(rng.sample(range(1, len(skus)), min(size, len(skus)) - 1))]
    taken: set[str] = set()
    listings = []
    for index in chosen:
        item_id = new_id("item", shop.platform, rng)
        while item_id in taken:
            item_id = new_id("item", shop.platform, rng)
        taken.add(item_id)
        price = site.price(skus[index].base_price_usd * rng.uniform(0.95, 1.15))
        listings.append(
            Listing(shop.platform, shop.shop_id, skus[index].sku.sku, item_id, price, shop.currency)
        )
    return listings


def site_for(shop: ShopSpec) -> Site:
    try:
        site = site_of(shop.platform, shop.site)
    except KeyError:
        site = Site(
            shop.site, shop.site, shop.currency, shop.timezone, Decimal(0), Decimal(1), money(5), money(35)
        )
    if site.currency != shop.currency:
        site = Site(
            shop.site,
            site.country,
            shop.currency,
            shop.timezone,
            site.tax_rate,
            Decimal(1),
            money(5),
            money(35),
        )
    return site


def draw_ads(seed: int, shop: ShopSpec, drawn: Drawn, build: Builder, *, start: dt.date, days: int) -> None:
    """Daily performance of 2 to 5 campaigns of ``shop``, attributed over 7 and 14 days.

    The 14-day figures include the 7-day ones: orders, units and sales only grow with the window.
    """
    rng = stream(seed, "ads", shop.platform, shop.shop_id)
    site = site_for(shop)
    listings = drawn.listings[(shop.platform, shop.shop_id)]
    price = sum((listing.unit_price for listing in listings), Decimal(0)) / len(listings)
    ad_types = _AD_TYPES.get(shop.platform, ("SEARCH",))
    scale = shop.orders_per_day / 20
    taken: set[str] = set()
    for n in range(rng.randint(2, 5)):
        campaign_id = new_id("campaign", shop.platform, rng)
        while campaign_id in taken:
            campaign_id = new_id("campaign", shop.platform, rng)
        taken.add(campaign_id)
        ad_type = ad_types[n % len(ad_types)]
        targeting = rng.choice(("Auto", "Manual"))
        name = f"{ad_type.replace('_', ' ').title()} - {listings[n % len(listings)].sku} - {targeting}"
        reach = rng.uniform(1000, 15000) * scale
        ctr, cpc, cvr = rng.uniform(0.003, 0.015), rng.uniform(0.25, 1.5), rng.uniform(0.05, 0.15)
        late, per_order = rng.uniform(0.02, 0.15), rng.uniform(1.0, 1.4)
        first = shop.launched_on + dt.timedelta(days=rng.randrange(0, 30))
        for day in range(days):
            date = start + dt.timedelta(days=day)
            if date < first:
                continue
            ramp = min(1.0, ((date - shop.launched_on).days + 1) / RAMP_DAYS)
            noise = rng.random
            impressions = int(reach * WEEKDAY[date.weekday()] * ramp * (0.7 + 0.6 * noise()))
            clicks = min(impressions, round(impressions * ctr * (0.8 + 0.4 * noise())))
            spend = money(Decimal(round(clicks * cpc * (0.85 + 0.3 * noise()), 4)) * site.usd_rate)
            orders_7 = min(clicks, round(clicks * cvr * (0.6 + 0.8 * noise())))
            orders_14 = min(clicks, orders_7 + round(orders_7 * late * (0.5 + noise())))
            units_7 = orders_7 + round(orders_7 * (per_order - 1) * (0.5 + noise()))
            units_14 = units_7 + (orders_14 - orders_7)
            sales_7 = money(units_7 * price * Decimal(round(0.9 + 0.2 * noise(), 3)))
            sales_14 = sales_7 + money((units_14 - units_7) * price)
            for window, orders, units, sales in (
                (7, orders_7, units_7, sales_7),
                (14, orders_14, units_14, sales_14),
            ):
                drawn.ads[window].append(
                    build(
                        AdPerformance,
                        {
                            "platform": shop.platform,
                            "shop_id": shop.shop_id,
                            "date": date,
                            "campaign_id": campaign_id,
                            "campaign_name": name,
                            "ad_type": ad_type,
                            "spend": spend,
                            "attributed_sales": sales,
                            "attributed_orders": orders,
                            "attributed_units": units,
                            "clicks": clicks,
                            "impressions": impressions,
                            "currency": shop.currency,
                            "attribution_window_days": window,
                        },
                    )
                )


def draw_inventory(seed: int, drawn: Drawn, build: Builder, *, start: dt.date, days: int) -> None:
    """Warehouses and a daily snapshot of every SKU each one stocks.

    The seller's own warehouse stocks every SKU; each Amazon shop has an FBA warehouse with its
    listed SKUs; a US 3PL stocks every other SKU when the seller sells in the US. Stock is sold
    down daily and replenished by inbound shipments that arrive after a lead time.
    """
    rng = stream(seed, "inventory")
    every = [spec.sku.sku for spec in drawn.skus]
    stocked: list[tuple[Warehouse, list[str]]] = [(Warehouse("CN-SZ-01", "own"), every)]
    if any(shop.site == "US" for shop in drawn.shops):
        stocked.append((Warehouse("3PL-US-01", "3pl"), every[::2]))
    for shop in drawn.shops:
        if shop.platform == "amazon":
            listed = [listing.sku for listing in drawn.listings[(shop.platform, shop.shop_id)]]
            stocked.append((Warehouse(f"FBA-{shop.shop_id}", "fba", shop.platform, shop.shop_id), listed))
    launched = {spec.sku.sku: spec.sku.launched_on for spec in drawn.skus}
    costs: dict[str, list[SkuCost]] = {}
    for cost in sorted(drawn.sku_costs, key=lambda cost: cost.valid_from):
        costs.setdefault(cost.sku, []).append(cost)
    for warehouse, skus in stocked:
        drawn.warehouses.append(warehouse)
        for sku in skus:
            changes = costs[sku]
            unit_cost = changes[0].purchase_cost
            demand = rng.uniform(0.5, 8)
            on_hand, inbound, arrives = rng.randrange(50, 500), 0, -1
            for day in range(days):
                date = start + dt.timedelta(days=day)
                if date < (launched[sku] or dt.date.min):
                    continue
                while len(changes) > 1 and changes[1].valid_from <= date:
                    changes = changes[1:]
                    unit_cost = changes[0].purchase_cost
                if day == arrives:
                    on_hand, inbound = on_hand + inbound, 0
                on_hand -= min(on_hand, int(demand * (0.5 + rng.random()) + 0.5))
                if inbound == 0 and on_hand < demand * 14:
                    inbound, arrives = round(demand * 30) + 1, day + rng.randrange(7, 22)
                drawn.inventory.append(
                    build(
                        InventorySnapshot,
                        {
                            "date": date,
                            "sku": sku,
                            "warehouse": warehouse.warehouse,
                            "warehouse_type": warehouse.warehouse_type,
                            "platform": warehouse.platform,
                            "shop_id": warehouse.shop_id,
                            "on_hand": on_hand,
                            "inbound": inbound,
                            "reserved": min(on_hand, int(demand * rng.random())),
                            "unit_cost": unit_cost,
                            "currency": "USD",
                        },
                    )
                )
