"""``/shops``: the shop dimension, as far as the caller's scope reaches."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from ...store.tables import standard_tables
from ..deps import Caller, Hub, Page, Paging
from ..scoping import not_found

__all__ = ["router"]

router = APIRouter(prefix="/shops", tags=["shops"])


class ShopPublic(BaseModel):
    platform: str
    shop_id: str
    site: str | None
    shop_name: str | None
    timezone: str
    currency: str | None
    launched_on: dt.date | None
    connection_id: int | None


def _shops(hub: Hub, caller: Caller) -> list[ShopPublic]:
    table = standard_tables["shops"]
    with hub.ready_store.begin() as conn:
        rows = conn.execute(
            select(table)
            .where(table.c.tenant_id == caller.tenant_id)
            .order_by(table.c.platform, table.c.shop_id)
        )
        shops = [ShopPublic.model_validate(r._asdict()) for r in rows]
    return [s for s in shops if caller.scope.allows_shop(s.platform, s.shop_id)]


@router.get("", response_model=Page[ShopPublic], summary="List shops")
def list_shops(hub: Hub, caller: Caller, paging: Paging, platform: str | None = None) -> Page[ShopPublic]:
    shops = [s for s in _shops(hub, caller) if platform is None or s.platform == platform]
    return Page[ShopPublic].of(shops, paging)


@router.get("/{platform}/{shop_id}", response_model=ShopPublic, summary="Get a shop")
def get_shop(hub: Hub, caller: Caller, platform: str, shop_id: str) -> ShopPublic:
    for shop in _shops(hub, caller):
        if (shop.platform, shop.shop_id) == (platform, shop_id):
            return shop
    raise not_found("shop", f"{platform}/{shop_id}")
