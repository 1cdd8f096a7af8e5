"""The hub's default metric provider: the whole KPI catalogue of the architecture brief.

Every KPI is data (``MetricDefinition``); the engine in ``hub.kpi`` compiles them to SQL. Helper
metrics (``published=False``) are the building blocks several KPIs share, such as refunds or
COGS; they are computed but not published. ``sales_attainment`` is not here: it needs targets
and is computed by the target module from ``kpi_fact``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sdk import MetricDefinition, MetricProvider, hookimpl

__all__ = ["CatalogueMetrics", "register_metric_providers"]

NOT_CANCELLED = "status != 'cancelled'"
ORDER_NOT_CANCELLED = "order.status != 'cancelled'"
IN_WINDOW = "attribution_window_days is None or attribution_window_days == basis.attribution_window_days"


def _m(metric_id: str, name_en: str, name_zh: str, family: str, kind: str, **fields: Any) -> MetricDefinition:
    fields.setdefault("unit", "count")
    fields.setdefault("direction", "higher_is_better")
    fields.setdefault("formula", name_en)
    return MetricDefinition(
        metric_id=metric_id, name_en=name_en, name_zh=name_zh, family=family, kind=kind, **fields
    )


def _helper(metric_id: str, family: str, kind: str = "simple", **fields: Any) -> MetricDefinition:
    return _m(metric_id, metric_id.replace("_", " "), metric_id, family, kind, published=False, **fields)


def _sales() -> list[MetricDefinition]:
    money: dict[str, Any] = {"unit": "currency", "amount": True}
    return [
        _m(
            "gmv",
            "GMV / sales amount",
            "销售额",
            "sales",
            "simple",
            table="orders",
            aggregate="sum",
            column="gross_amount - (0 if basis.tax_included else tax)"
            " - (0 if basis.shipping_included else shipping_fee)",
            where=NOT_CANCELLED,
            date="created_at",
            sku_variant="gmv_lines",
            **money,
            formula="Σ order amount of orders not cancelled (tax and shipping per basis)",
        ),
        _helper(
            "gmv_lines",
            "sales",
            table="order_items",
            aggregate="sum",
            column="amount",
            level="sku",
            where=ORDER_NOT_CANCELLED,
            date="order.created_at",
            **money,
        ),
        _helper(
            "refund_amount",
            "after_sales",
            table="refunds",
            aggregate="sum",
            column="amount",
            where="status == 'completed'",
            date="order.created_at if basis.refund_dated_by == 'order' else created_at",
            **money,
        ),
        _m(
            "net_sales",
            "Net sales",
            "净销售额",
            "sales",
            "derived",
            expression="gmv - refund_amount",
            unit="currency",
            formula="GMV - completed refunds (dated by refund or order per basis)",
        ),
        _m(
            "orders",
            "Orders",
            "订单数",
            "sales",
            "simple",
            table="orders",
            aggregate="count",
            where=NOT_CANCELLED,
            date="created_at",
            sku_variant="orders_lines",
            formula="count of orders not cancelled",
        ),
        _helper(
            "orders_lines",
            "sales",
            table="order_items",
            aggregate="count_distinct",
            column="order_id",
            level="sku",
            where=ORDER_NOT_CANCELLED,
            date="order.created_at",
        ),
        _m(
            "units",
            "Units",
            "销量",
            "sales",
            "simple",
            table="order_items",
            aggregate="sum",
            column="quantity",
            level="sku",
            where=ORDER_NOT_CANCELLED,
            date="order.created_at",
            formula="Σ quantity of order lines of orders not cancelled",
        ),
        _m(
            "aov",
            "Average order value",
            "客单价",
            "sales",
            "ratio",
            numerator="gmv",
            denominator="orders",
            unit="currency",
            sku_variant="aov_lines",
            formula="GMV ÷ orders",
        ),
        _helper(
            "aov_lines", "sales", "ratio", numerator="gmv_lines", denominator="orders_lines", unit="currency"
        ),
        _helper(
            "cogs",
            "sales",
            table="order_items",
            aggregate="sum",
            column="quantity * cost.unit_cost",
            currency="cost.currency",
            level="sku",
            where=ORDER_NOT_CANCELLED,
            date="order.created_at",
            **money,
        ),
        _helper(
            "platform_fees",
            "sales",
            table="orders",
            aggregate="sum",
            column="platform_fees",
            where=NOT_CANCELLED,
            date="created_at",
            **money,
        ),
        # What shipping cost the seller, where a source knows it (Mabang's freight); never the
        # buyer's shipping_fee, which is revenue and already in GMV. Orders of unknown cost are
        # not filtered out (that would hide them): they count as unknown rows of this input, so
        # a margin that includes shipping publishes its coverage instead of a cost of 0.
        _helper(
            "shipping_cost",
            "sales",
            table="orders",
            aggregate="sum",
            column="shipping_cost",
            currency="shipping_cost_currency",
            where=NOT_CANCELLED,
            date="created_at",
            **money,
        ),
        _helper(
            "margin_amount",
            "sales",
            "derived",
            unit="currency",
            expression="net_sales - cogs * basis.margin_includes_cogs"
            " - platform_fees * basis.margin_includes_platform_fees"
            " - shipping_cost * basis.margin_includes_shipping - ad_spend * basis.margin_includes_ad_spend",
        ),
        _m(
            "gross_margin",
            "Gross margin",
            "毛利率",
            "sales",
            "ratio",
            numerator="margin_amount",
            denominator="net_sales",
            unit="ratio",
            formula="(net sales - COGS - platform fees - shipping cost - [ad spend]) ÷ net sales; "
            "shipping cost is the seller's (orders.shipping_cost), not the buyer's shipping fee",
        ),
        _m(
            "growth_mom",
            "Growth, period over period",
            "环比增长",
            "sales",
            "derived",
            expression="(gmv - previous(gmv)) / previous(gmv)",
            unit="ratio",
            formula="(GMV - GMV of the previous period) ÷ GMV of the previous period",
        ),
        _m(
            "growth_yoy",
            "Growth, year over year",
            "同比增长",
            "sales",
            "derived",
            expression="(gmv - year_ago(gmv)) / year_ago(gmv)",
            unit="ratio",
            formula="(GMV - GMV a year earlier) ÷ GMV a year earlier",
        ),
    ]


def _ads() -> list[MetricDefinition]:
    ads: dict[str, Any] = {"table": "ad_performance", "aggregate": "sum", "date": "date"}
    return [
        _m(
            "ad_spend",
            "Ad spend",
            "广告花费",
            "ads",
            "simple",
            column="spend * (1 + basis.ad_management_fee_rate) if basis.ad_spend_with_fee else spend",
            unit="currency",
            amount=True,
            direction="neutral",
            formula="Σ spend (+ management fee per basis)",
            **ads,
        ),
        _m(
            "ad_sales",
            "Ad sales",
            "广告销售额",
            "ads",
            "simple",
            column="attributed_sales",
            where=IN_WINDOW,
            unit="currency",
            amount=True,
            formula="Σ attributed sales in the basis' attribution window",
            **ads,
        ),
        _helper("ad_orders", "ads", column="attributed_orders", where=IN_WINDOW, **ads),
        _helper("clicks", "ads", column="clicks", **ads),
        _helper("impressions", "ads", column="impressions", **ads),
        _m(
            "roas",
            "ROAS",
            "广告投入产出比",
            "ads",
            "ratio",
            numerator="ad_sales",
            denominator="ad_spend",
            unit="ratio",
            formula="ad sales ÷ ad spend",
        ),
        _m(
            "acos",
            "ACoS",
            "广告销售成本比",
            "ads",
            "ratio",
            numerator="ad_spend",
            denominator="ad_sales",
            unit="ratio",
            direction="lower_is_better",
            formula="ad spend ÷ ad sales",
        ),
        _m(
            "tacos",
            "TACoS",
            "总广告销售成本比",
            "ads",
            "ratio",
            numerator="ad_spend",
            denominator="gmv",
            unit="ratio",
            direction="lower_is_better",
            formula="ad spend ÷ GMV",
        ),
        _m(
            "cpc",
            "CPC",
            "单次点击成本",
            "ads",
            "ratio",
            numerator="ad_spend",
            denominator="clicks",
            unit="currency",
            direction="lower_is_better",
            formula="ad spend ÷ clicks",
        ),
        _m(
            "ctr",
            "CTR",
            "点击率",
            "ads",
            "ratio",
            numerator="clicks",
            denominator="impressions",
            unit="ratio",
            formula="clicks ÷ impressions",
        ),
        _m(
            "cvr",
            "CVR",
            "转化率",
            "ads",
            "ratio",
            numerator="ad_orders",
            denominator="clicks",
            unit="ratio",
            formula="ad orders ÷ clicks",
        ),
    ]


def _inventory() -> list[MetricDefinition]:
    snap: dict[str, Any] = {
        "table": "inventory_snapshots",
        "aggregate": "sum",
        "date": "date",
        "level": "sku",
    }
    return [
        # A snapshot without a unit cost (Amazon FBA reports none) is valued at the SKU's cost
        # valid that day, in that cost's currency; with neither, its value is unknown.
        _helper(
            "inv_value_days",
            "inventory",
            column="on_hand * (unit_cost if unit_cost is not None else cost.unit_cost)",
            currency="currency if unit_cost is not None else cost.currency",
            amount=True,
            unit="currency",
            **snap,
        ),
        _helper("inv_units_days", "inventory", column="on_hand", **snap),
        _m(
            "inventory_turnover",
            "Inventory turnover",
            "库存周转率",
            "inventory",
            "derived",
            unit="ratio",
            expression="(units if basis.turnover_by == 'units' else cogs) * period_days"
            " / (inv_units_days if basis.turnover_by == 'units' else inv_value_days)",
            formula="COGS (or units) in period ÷ average inventory value (or units)",
        ),
        _m(
            "days_of_inventory",
            "Days of inventory",
            "库存周转天数",
            "inventory",
            "ratio",
            numerator="inv_value_days",
            denominator="cogs",
            unit="days",
            direction="lower_is_better",
            formula="average inventory value ÷ daily COGS",
        ),
        _helper("stocked_skus", "inventory", "sku_count", expression="inv_units_days > 0"),
        _helper("sold_stocked_skus", "inventory", "sku_count", expression="units > 0 and inv_units_days > 0"),
        _m(
            "sell_through",
            "Sell-through",
            "动销率",
            "inventory",
            "ratio",
            numerator="sold_stocked_skus",
            denominator="stocked_skus",
            unit="ratio",
            formula="SKUs in stock with ≥1 sale ÷ SKUs in stock",
        ),
        _m(
            "stockout_risk_skus",
            "Stock-out risk SKUs",
            "断货风险SKU数",
            "inventory",
            "sku_count",
            expression="units > 0 and inv_units_days < (basis.stockout_lead_time_days"
            " + basis.stockout_safety_days) * units",
            direction="lower_is_better",
            formula="SKUs selling with days of cover (average stock ÷ daily units) < lead time + safety days",
        ),
    ]


def _operations() -> list[MetricDefinition]:
    ship: dict[str, Any] = {"table": "shipments", "aggregate": "count", "date": "shipped_at"}
    tickets: dict[str, Any] = {"table": "service_tickets", "aggregate": "median"}
    return [
        _helper(
            "shipped_with_deadline",
            "logistics",
            where="shipped_at is not None and ship_by is not None",
            **ship,
        ),
        _helper(
            "shipped_on_time",
            "logistics",
            where="shipped_at is not None and ship_by is not None and shipped_at <= ship_by",
            **ship,
        ),
        # A shipment without a promised delivery date cannot be judged on time or late (Shopee
        # reports neither the promise nor the delivery): unknown, not late.
        _helper(
            "shipped",
            "logistics",
            where="shipped_at is not None",
            known="promised_delivery_at is not None",
            **ship,
        ),
        _helper(
            "delivered_on_time",
            "logistics",
            where="shipped_at is not None and delivered_at is not None and promised_delivery_at is not None"
            " and delivered_at <= promised_delivery_at",
            **ship,
        ),
        _m(
            "on_time_ship_rate",
            "On-time ship rate",
            "发货准时率",
            "logistics",
            "ratio",
            numerator="shipped_on_time",
            denominator="shipped_with_deadline",
            unit="ratio",
            formula="shipped by the ship-by deadline ÷ shipped (with a deadline)",
        ),
        _m(
            "last_mile_delivery_rate",
            "Last-mile delivery rate",
            "尾程妥投率",
            "logistics",
            "ratio",
            numerator="delivered_on_time",
            denominator="shipped",
            unit="ratio",
            formula="delivered by the promised date ÷ shipped",
        ),
        # Orders with a completed refund, from the refunds themselves: platforms seldom move an
        # order's own status to "refunded", so counting statuses would read (almost) zero.
        _helper(
            "refunded_orders",
            "after_sales",
            table="refunds",
            aggregate="count_distinct",
            column="order_id",
            where="status == 'completed'",
            date="order.created_at if basis.refund_dated_by == 'order' else created_at",
        ),
        _m(
            "refund_rate",
            "Refund rate",
            "退款率",
            "after_sales",
            "ratio",
            numerator="refund_amount if basis.refund_rate_by == 'amount' else refunded_orders",
            denominator="gmv if basis.refund_rate_by == 'amount' else orders",
            unit="ratio",
            direction="lower_is_better",
            formula="refunded orders ÷ orders (or refunds ÷ GMV per basis)",
        ),
        _helper("reviews", "service", table="reviews", aggregate="count", date="created_at"),
        _helper(
            "negative_reviews",
            "service",
            table="reviews",
            aggregate="count",
            date="created_at",
            where="rating <= basis.negative_review_max_stars",
        ),
        _m(
            "negative_review_rate",
            "Negative review rate",
            "差评率",
            "service",
            "ratio",
            numerator="negative_reviews",
            denominator="reviews",
            unit="ratio",
            direction="lower_is_better",
            formula="reviews at or below the basis' star threshold ÷ reviews",
        ),
        _m(
            "dispute_hours",
            "Dispute handling time",
            "纠纷处理时效",
            "service",
            "simple",
            column="hours_between(opened_at, resolved_at)",
            where="kind == 'dispute' and resolved_at is not None",
            date="resolved_at",
            unit="hours",
            direction="lower_is_better",
            formula="median hours from opening to resolution of disputes resolved in the period",
            **tickets,
        ),
        _m(
            "response_minutes",
            "Response time",
            "客服响应时长",
            "service",
            "simple",
            column="minutes_between(opened_at, first_response_at)",
            where="first_response_at is not None",
            date="opened_at",
            unit="minutes",
            direction="lower_is_better",
            formula="median minutes to the first reply of tickets opened in the period",
            **tickets,
        ),
        _m(
            "new_listings",
            "New listings",
            "上新数量",
            "process",
            "simple",
            table="skus",
            aggregate="count",
            where="launched_on is not None",
            date="launched_on",
            level="sku",
            formula="SKUs launched in the period",
        ),
    ]


class CatalogueMetrics(MetricProvider):
    """Sales, ads, inventory, logistics, after-sales, service and process KPIs."""

    name = "kpihub"
    version = "1"

    def definitions(self) -> list[MetricDefinition]:
        return [*_sales(), *_ads(), *_inventory(), *_operations()]


@hookimpl
def register_metric_providers(register: Callable[[MetricProvider], None]) -> None:
    register(CatalogueMetrics())
