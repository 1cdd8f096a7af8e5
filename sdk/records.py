"""The standard model: the records every source maps into, whatever the platform.

Each record class names its table (``table``), the columns that identify one row
(``natural_key``, within a tenant) and the column that says how recent a row is
(``time_field``, used for freshness). Times are timezone-aware and normalised to UTC; money
is ``Decimal`` in the record's ``currency``, never a float. Names follow the architecture
brief and are a public contract: columns may be added, never renamed within a major version.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "STANDARD_RECORDS",
    "AdPerformance",
    "Assignment",
    "FxRate",
    "InventorySnapshot",
    "Order",
    "OrderItem",
    "OrderStatus",
    "Refund",
    "RefundStatus",
    "Review",
    "ServiceTicket",
    "Shipment",
    "ShopDim",
    "ShopRecord",
    "SkuCost",
    "SkuDim",
    "Staff",
    "StandardRecord",
    "Team",
    "UtcDatetime",
    "standard_record",
]


def _to_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp has no timezone; parse it with a timezone so it can be put in UTC")
    return value.astimezone(dt.UTC)


UtcDatetime = Annotated[dt.datetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, normalised to UTC. Naive datetimes are rejected."""

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")]
Money = Annotated[Decimal, Field(max_digits=18, decimal_places=4)]
Count = Annotated[int, Field(ge=0)]
Id = Annotated[str, Field(min_length=1, max_length=128)]


class OrderStatus(StrEnum):
    """The normalised order status every platform's statuses map to."""

    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class RefundStatus(StrEnum):
    """The normalised refund / return status."""

    REQUESTED = "requested"
    PROCESSING = "processing"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class StandardRecord(BaseModel):
    """Base of every standard record. Unknown fields are refused so mapping typos surface."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: ClassVar[str]
    natural_key: ClassVar[tuple[str, ...]]
    time_field: ClassVar[str | None] = None


class ShopRecord(StandardRecord):
    """A record that belongs to one shop of one platform.

    ``platform`` and ``shop_id`` default to the connection's when a mapping leaves them out;
    an ERP that covers many shops maps them from the record instead.
    """

    platform: Id
    shop_id: Id


class Order(ShopRecord):
    table: ClassVar[str] = "orders"
    natural_key: ClassVar[tuple[str, ...]] = ("platform", "shop_id", "order_id")
    time_field: ClassVar[str | None] = "updated_at"

    order_id: Id
    site: str | None = None
    status: OrderStatus
    currency: Currency
    created_at: UtcDatetime
    updated_at: UtcDatetime
    paid_at: UtcDatetime | None = None
    shipped_at: UtcDatetime | None = None
    delivered_at: UtcDatetime | None = None
    ship_by: UtcDatetime | None = None
    deliver_by: UtcDatetime | None = None
    gross_amount: Money
    tax: Money = Decimal(0)
    shipping_fee: Money = Decimal(0)
    discount: Money = Decimal(0)
    platform_fees: Money | None = None
    buyer_country: str | None = Field(default=None, max_length=2)
    fulfilment_channel: str | None = None
    shipping_cost: Money | None = Field(
        default=None,
        description="what the seller paid to ship the order (carrier, forwarder), in "
        "`shipping_cost_currency`; not the buyer's `shipping_fee`. Unknown when null",
    )
    shipping_cost_currency: Currency | None = Field(
        default=None, description="of `shipping_cost`; the order's `currency` when left out"
    )

    @model_validator(mode="before")
    @classmethod
    def _cost_in_order_currency(cls, data: Any) -> Any:
        """A shipping cost given without its currency is in the order's currency."""
        if (
            isinstance(data, dict)
            and data.get("shipping_cost") is not None
            and data.get("shipping_cost_currency") is None
        ):
            return {**data, "shipping_cost_currency": data.get("currency")}
        return data


class OrderItem(ShopRecord):
    table: ClassVar[str] = "order_items"
    natural_key: ClassVar[tuple[str, ...]] = ("platform", "shop_id", "order_id", "line_id")

    order_id: Id
    line_id: Id
    sku: Id
    platform_item_id: str | None = None
    quantity: Count
    unit_price: Money
    amount: Money
    currency: Currency


class Refund(ShopRecord):
    table: ClassVar[str] = "refunds"
    natural_key: ClassVar[tuple[str, ...]] = ("platform", "shop_id", "refund_id")
    time_field: ClassVar[str | None] = "created_at"

    refund_id: Id
    order_id: Id
    amount: Money
    currency: Currency
    reason: str | None = None
    created_at: UtcDatetime
    status: RefundStatus


class AdPerformance(ShopRecord):
    table: ClassVar[str] = "ad_performance"
    natural_key: ClassVar[tuple[str, ...]] = (
        "platform",
        "shop_id",
        "date",
        "campaign_id",
        "ad_type",
    )
    time_field: ClassVar[str | None] = "date"

    date: dt.date
    campaign_id: Id
    campaign_name: str | None = None
    ad_type: Id
    spend: Money
    attributed_sales: Money = Decimal(0)
    attributed_orders: Count = 0
    attributed_units: Count = 0
    clicks: Count = 0
    impressions: Count = 0
    currency: Currency
    attribution_window_days: int | None = Field(default=None, ge=1, le=90)


class InventorySnapshot(StandardRecord):
    table: ClassVar[str] = "inventory_snapshots"
    natural_key: ClassVar[tuple[str, ...]] = ("date", "sku", "warehouse")
    time_field: ClassVar[str | None] = "date"

    date: dt.date
    sku: Id
    warehouse: Id
    warehouse_type: str = Field(pattern=r"^(fba|3pl|own|platform)$")
    platform: str | None = None
    shop_id: str | None = None
    on_hand: Count = 0
    inbound: Count = 0
    reserved: Count = 0
    unit_cost: Money | None = None
    currency: Currency | None = None


class Shipment(ShopRecord):
    table: ClassVar[str] = "shipments"
    natural_key: ClassVar[tuple[str, ...]] = ("platform", "shop_id", "order_id", "shipment_id")
    time_field: ClassVar[str | None] = "shipped_at"

    order_id: Id
    shipment_id: Id
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: UtcDatetime | None = None
    delivered_at: UtcDatetime | None = None
    ship_by: UtcDatetime | None = None
    promised_delivery_at: UtcDatetime | None = None


class Review(ShopRecord):
    table: ClassVar[str] = "reviews"
    natural_key: ClassVar[tuple[str, ...]] = ("platform", "shop_id", "review_id")
    time_field: ClassVar[str | None] = "created_at"

    review_id: Id
    order_id: str | None = None
    sku: str | None = None
    rating: int = Field(ge=1, le=5)
    created_at: UtcDatetime


class ServiceTicket(ShopRecord):
    table: ClassVar[str] = "service_tickets"
    natural_key: ClassVar[tuple[str, ...]] = ("platform", "shop_id", "ticket_id")
    time_field: ClassVar[str | None] = "opened_at"

    ticket_id: Id
    kind: str = Field(pattern=r"^(message|dispute|return_request|claim)$")
    order_id: str | None = None
    opened_at: UtcDatetime
    first_response_at: UtcDatetime | None = None
    resolved_at: UtcDatetime | None = None
    status: str | None = None


class SkuCost(StandardRecord):
    table: ClassVar[str] = "sku_costs"
    natural_key: ClassVar[tuple[str, ...]] = ("sku", "valid_from")
    time_field: ClassVar[str | None] = "valid_from"

    sku: Id
    valid_from: dt.date
    purchase_cost: Money
    first_leg_cost: Money = Decimal(0)
    currency: Currency


class FxRate(StandardRecord):
    table: ClassVar[str] = "fx_rates"
    natural_key: ClassVar[tuple[str, ...]] = ("date", "currency", "base_currency")
    time_field: ClassVar[str | None] = "date"

    date: dt.date
    currency: Currency
    base_currency: Currency
    rate: Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=10)]


class ShopDim(ShopRecord):
    """The shop dimension; the sync engine adds a row for each connection's shop."""

    table: ClassVar[str] = "shops"
    natural_key: ClassVar[tuple[str, ...]] = ("platform", "shop_id")

    site: str | None = None
    shop_name: str | None = None
    timezone: str = "UTC"
    currency: Currency | None = None
    launched_on: dt.date | None = None


class SkuDim(StandardRecord):
    table: ClassVar[str] = "skus"
    natural_key: ClassVar[tuple[str, ...]] = ("sku",)

    sku: Id
    name: str | None = None
    category: str | None = None
    launched_on: dt.date | None = None
    active: bool = True


class Team(StandardRecord):
    table: ClassVar[str] = "teams"
    natural_key: ClassVar[tuple[str, ...]] = ("team_id",)

    team_id: Id
    name: str
    parent_team_id: str | None = None


class Staff(StandardRecord):
    table: ClassVar[str] = "staff"
    natural_key: ClassVar[tuple[str, ...]] = ("staff_id",)

    staff_id: Id
    name: str
    team_id: str | None = None
    role: str | None = None


class Assignment(StandardRecord):
    """A person responsible for a shop, category or platform from one date to another."""

    table: ClassVar[str] = "assignments"
    natural_key: ClassVar[tuple[str, ...]] = ("staff_id", "scope_type", "scope_id", "valid_from")

    staff_id: Id
    scope_type: str = Field(pattern=r"^(shop|category|platform|site)$")
    scope_id: Id
    valid_from: dt.date
    valid_to: dt.date | None = None


STANDARD_RECORDS: dict[str, type[StandardRecord]] = {
    cls.table: cls
    for cls in (
        Order,
        OrderItem,
        Refund,
        AdPerformance,
        InventorySnapshot,
        Shipment,
        Review,
        ServiceTicket,
        SkuCost,
        FxRate,
        ShopDim,
        SkuDim,
        Team,
        Staff,
        Assignment,
    )
}
"""Every standard record class by table name."""


def standard_record(table: str) -> type[StandardRecord]:
    """The record class for ``table``, or ``KeyError`` naming the known tables."""
    try:
        return STANDARD_RECORDS[table]
    except KeyError:
        known = ", ".join(sorted(STANDARD_RECORDS))
        raise KeyError(f"unknown standard table {table!r}; known tables: {known}") from None
