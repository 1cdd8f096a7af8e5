"""A toolkit for platform simulators: a seeded seller world, tokens, faults, rate limits.

Platform simulators (Amazon SP-API, Shopee, TikTok Shop, Mabang, ...) are ASGI apps built on
``Simulator``. They serve a ``SellerWorld`` in their platform's wire format, issue and check
tokens through a ``TokenAuthority``, enforce the platform's documented rate limits per caller
and endpoint, and misbehave as a ``FaultPlan`` says. Connector tests run them in process
(``sim.transport()``) or on loopback (``running``, ``serve``) and compare what the hub stored
with ``world.truth()``.

This package imports only the standard library, pydantic, httpx and starlette (uvicorn only
when serving); nothing imports it unless it is asked for.
"""

from __future__ import annotations

from .app import Endpoint, EndpointStats, Reject, Simulator, route
from .faults import FaultKind, FaultPlan
from .serve import running, serve
from .signing import verify_query_signature
from .sites import NEW_SHOP_DAYS, SITES, Listing, ShopSpec, Site, Warehouse, money, new_id, site_of
from .tokens import Principal, TokenAuthority, TokenGrant, TokenRefused, TokenRejection
from .world import SellerWorld, Truth

__all__ = [
    "NEW_SHOP_DAYS",
    "SITES",
    "Endpoint",
    "EndpointStats",
    "FaultKind",
    "FaultPlan",
    "Listing",
    "Principal",
    "Reject",
    "SellerWorld",
    "ShopSpec",
    "Simulator",
    "Site",
    "TokenAuthority",
    "TokenGrant",
    "TokenRefused",
    "TokenRejection",
    "Truth",
    "Warehouse",
    "money",
    "new_id",
    "route",
    "running",
    "serve",
    "site_of",
    "verify_query_signature",
]
