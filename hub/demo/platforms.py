"""The four simulators on loopback, and the connections that read them.

Each simulator serves the one demo world in its platform's own protocol (signatures, tokens,
pagination, rate limits). Their rate limits are the documented ones multiplied by ``SPEED``,
on both sides alike, so the connectors pace themselves exactly as they would in production,
only faster: 90 days of a dozen shops then sync in seconds, not hours.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sdk.http import RateLimit
from sdk.simulator import SellerWorld, Simulator, running

from ..plugins import Registry

__all__ = ["SPEED", "ConnectionSpec", "Platforms", "serve_platforms", "serve_powerbi"]

SPEED = 200.0
"""How many times faster than documented every simulated platform (and its connector) runs."""
POWERBI_WORKSPACE = "6f1c1d2e-0000-4000-8000-00000000d3e0"


@dataclass
class ConnectionSpec:
    """A connection the demo creates: plugin, options (with the simulator's URLs) and credentials."""

    name: str
    plugin: str
    options: dict[str, Any]
    credentials: dict[str, Any] | None
    describes: str


@dataclass
class Platforms:
    """The running simulators by name, their origins, and the connections to them."""

    registry: Registry
    simulators: dict[str, Simulator] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    connections: list[ConnectionSpec] = field(default_factory=list)

    def simulator_module(self, plugin: str, *, sink: bool = False) -> Any:
        """The ``simulator`` module next to the plugin the registry loaded under ``plugin``.

        The hub imports no plugin by name; a plugin's ``simulator(seed)`` hook builds its own
        small world, so the demo takes the simulator class from the same package instead, to
        serve one shared world (with the constructor options the class documents).
        """
        cls = self.registry.sink(plugin) if sink else self.registry.source(plugin)
        package = cls.__module__.rpartition(".")[0]
        return importlib.import_module(f"{package}.simulator")


def _amazon(world: SellerWorld, stack: ExitStack, out: Platforms, first_day: str) -> None:
    module = out.simulator_module("amazon")
    DEFAULT_LIMITS, AmazonSimulator = module.DEFAULT_LIMITS, module.AmazonSimulator

    limits = {name: RateLimit(lim.rate * SPEED, lim.burst) for name, lim in DEFAULT_LIMITS.items()}
    sim = AmazonSimulator(world, limits=limits)
    urls = sim.base_urls(_serve("amazon", sim, stack, out))
    creds = sim.credentials()
    for seller in creds["sellers"]:
        region = seller["region"].lower()
        shops = seller["marketplaces"].values()
        out.connections.append(
            ConnectionSpec(
                name="amazon-" + "-".join(sorted(world.shop("amazon", s).site.lower() for s in shops)),
                plugin="amazon",
                options={
                    "seller_id": seller["seller_id"],
                    "region": region,
                    "marketplaces": seller["marketplaces"],
                    "start_date": first_day,
                    "sp_api_url": urls["sp_api"],
                    "ads_url": urls["ads"],
                    "lwa_url": urls["lwa"] + "/auth/o2/token",
                    "report_poll_seconds": 0.05,
                    "rate_limit_scale": SPEED,
                    # The tenant's counting basis attributes ad sales over 7 days (its default).
                    "attribution_window": 7,
                },
                credentials={
                    "lwa_client_id": creds["lwa_client_id"],
                    "lwa_client_secret": creds["lwa_client_secret"],
                    "refresh_token": seller["refresh_token"],
                },
                describes=f"Amazon SP-API + Ads, {region.upper()} region: " + ", ".join(sorted(shops)),
            )
        )


def _shopee(world: SellerWorld, stack: ExitStack, out: Platforms, first_day: str) -> None:
    module = out.simulator_module("shopee")
    DEFAULT_RATE_LIMIT, ShopeeSimulator = module.DEFAULT_RATE_LIMIT, module.ShopeeSimulator

    limit = RateLimit(DEFAULT_RATE_LIMIT.rate * SPEED, DEFAULT_RATE_LIMIT.burst * SPEED)
    sim = ShopeeSimulator(world, rate_limit=limit)
    urls = sim.base_urls(_serve("shopee", sim, stack, out))
    creds = sim.credentials()
    out.connections.append(
        ConnectionSpec(
            name="shopee",
            plugin="shopee",
            options={
                "partner_id": creds["partner_id"],
                "shops": creds["shops"],
                "base_url": urls["api"],
                "start_date": first_day,
                "rate_limit": limit.rate,
            },
            credentials={"partner_key": creds["partner_key"], "refresh_tokens": creds["refresh_tokens"]},
            describes="Shopee Open Platform v2: " + ", ".join(sorted(creds["shops"])),
        )
    )


def _tiktok(world: SellerWorld, stack: ExitStack, out: Platforms, first_day: str) -> None:
    module = out.simulator_module("tiktok")
    DEFAULT_RATE_LIMIT, TikTokSimulator = module.DEFAULT_RATE_LIMIT, module.TikTokSimulator

    limit = RateLimit(DEFAULT_RATE_LIMIT.rate * SPEED, DEFAULT_RATE_LIMIT.burst * 5)
    sim = TikTokSimulator(world, rate_limit=limit)
    urls = sim.base_urls(_serve("tiktok", sim, stack, out))
    creds = sim.credentials()
    for n, seller in enumerate(creds["sellers"]):
        out.connections.append(
            ConnectionSpec(
                name=f"tiktok-{n + 1}" if len(creds["sellers"]) > 1 else "tiktok",
                plugin="tiktok",
                options={
                    "shops": seller["shops"],
                    "start_date": first_day,
                    "api_url": urls["api"],
                    "auth_url": urls["auth"],
                    "requests_per_second": limit.rate,
                    "burst": int(limit.burst),
                },
                credentials={
                    "app_key": creds["app_key"],
                    "app_secret": creds["app_secret"],
                    "refresh_token": seller["refresh_token"],
                },
                describes="TikTok Shop Partner API 202309: "
                + ", ".join(shop["shop_id"] for shop in seller["shops"]),
            )
        )


def _mabang(world: SellerWorld, stack: ExitStack, out: Platforms, first_day: str) -> None:
    module = out.simulator_module("erp_mabang")
    LIMIT, MabangSimulator = module.LIMIT, module.MabangSimulator

    sim = MabangSimulator(world)
    urls = sim.base_urls(_serve("mabang", sim, stack, out))
    creds = sim.credentials()
    # The ERP mirrors every shop; the Amazon ones are mapped, so their orders land once with
    # Amazon's amounts and the ERP's ship and delivery times (the merge declaration at work).
    shops = {
        mabang_id: {"platform": platform, "shop_id": shop_id, "site": site}
        for mabang_id, (platform, shop_id, site) in creds["shops"].items()
        if platform == "amazon"
    }
    out.connections.append(
        ConnectionSpec(
            name="mabang",
            plugin="erp_mabang",
            options={
                "base_url": urls["v2"],
                "shops": shops,
                "start_date": first_day,
                "window_days": 31,
                "max_rows": 1000,
                "requests_per_second": LIMIT.rate,
            },
            credentials={"app_key": creds["app_key"], "app_secret": creds["app_secret"]},
            describes="Mabang ERP: SKUs and costs, stock, exchange rates, Amazon shipments",
        )
    )


@contextmanager
def serve_powerbi(platforms: Platforms) -> Iterator[dict[str, Any]]:
    """The Power BI simulator (a tenant, one workspace) and a sink's options and credentials for it."""
    module = platforms.simulator_module("powerbi", sink=True)
    sim = module.PowerBISimulator(workspaces=[POWERBI_WORKSPACE], time_scale=SPEED, keep_bodies=False)
    with running(sim) as origin:
        platforms.simulators["powerbi"] = sim
        platforms.origins["powerbi"] = origin
        creds = sim.credentials()
        yield {
            "options": {
                "tenant": creds["tenant"],
                "workspace_id": creds["workspace_id"],
                "api_url": origin,
                "identity_url": origin,
                "time_scale": SPEED,
                # Smaller bodies keep each POST well inside the client's timeout on a busy machine.
                "rows_per_post": 2_500,
            },
            "credentials": {"client_id": creds["client_id"], "client_secret": creds["client_secret"]},
        }


def _serve(name: str, sim: Simulator, stack: ExitStack, out: Platforms) -> str:
    origin = stack.enter_context(running(sim))
    out.simulators[name] = sim
    out.origins[name] = origin
    return origin


@contextmanager
def serve_platforms(world: SellerWorld, registry: Registry) -> Iterator[Platforms]:
    """Start every simulator on a free loopback port; stop them all on leaving."""
    # A day's first local hour east of UTC is the evening before in UTC: read from a day earlier.
    first_day = (world.start - dt.timedelta(days=1)).isoformat()
    out = Platforms(registry)
    with ExitStack() as stack:
        for start in (_amazon, _shopee, _tiktok, _mabang):
            start(world, stack, out, first_day)
        yield out
