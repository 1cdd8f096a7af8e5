"""Amazon Ads reporting v3 for the simulator: report requests checked, ``spCampaigns`` rows drawn.

Used only by ``plugins.amazon.simulator``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sdk.records import AdPerformance

from ._sim_wire import CENT, ZERO, iso_ms

__all__ = ["MAX_REPORT_DAYS", "REPORT_COLUMNS", "Report", "ReportRequest", "check_request", "report_rows"]

MAX_REPORT_DAYS = 31

Pair = tuple[AdPerformance, AdPerformance]
"""One campaign-day attributed over 7 and over 14 days."""


def _ratio(top: Decimal | int, bottom: Decimal | int) -> float | None:
    return round(float(Decimal(top) / Decimal(bottom)), 4) if bottom else None


def _cpc(pair: Pair) -> Decimal:
    row = pair[1]
    return (row.spend / row.clicks).quantize(CENT) if row.clicks else ZERO


REPORT_COLUMNS: dict[str, Callable[[Pair], Any]] = {
    "date": lambda p: p[1].date.isoformat(),
    "campaignId": lambda p: int(p[1].campaign_id) if p[1].campaign_id.isdigit() else p[1].campaign_id,
    "campaignName": lambda p: p[1].campaign_name,
    "campaignStatus": lambda p: "ENABLED",
    "campaignBudgetCurrencyCode": lambda p: p[1].currency,
    "adGroupId": lambda p: int(p[1].campaign_id) + 1 if p[1].campaign_id.isdigit() else p[1].campaign_id,
    "adGroupName": lambda p: "Ad group 1",
    "impressions": lambda p: p[1].impressions,
    "clicks": lambda p: p[1].clicks,
    "cost": lambda p: p[1].spend,
    "spend": lambda p: p[1].spend,
    "costPerClick": _cpc,
    "clickThroughRate": lambda p: _ratio(p[1].clicks, p[1].impressions),
    "sales7d": lambda p: p[0].attributed_sales,
    "sales14d": lambda p: p[1].attributed_sales,
    "purchases7d": lambda p: p[0].attributed_orders,
    "purchases14d": lambda p: p[1].attributed_orders,
    "unitsSoldClicks7d": lambda p: p[0].attributed_units,
    "unitsSoldClicks14d": lambda p: p[1].attributed_units,
    "acosClicks14d": lambda p: _ratio(p[1].spend, p[1].attributed_sales),
    "roasClicks14d": lambda p: _ratio(p[1].attributed_sales, p[1].spend),
}
"""The ``spCampaigns`` columns the simulator serves; money columns are numbers with 2 decimals."""

_GROUPS = {"campaign", "adGroup"}
_FIXED = {
    "adProduct": "SPONSORED_PRODUCTS",
    "reportTypeId": "spCampaigns",
    "timeUnit": "DAILY",
    "format": "GZIP_JSON",
}


@dataclass(frozen=True)
class ReportRequest:
    name: str | None
    start: dt.date
    end: dt.date
    configuration: dict[str, Any]
    columns: tuple[str, ...]


@dataclass
class Report:
    """One report: who asked, what for, how often it was polled, and its file once generated."""

    report_id: str
    profile_id: int
    shop_id: str
    key: str
    request: ReportRequest
    created_at: dt.datetime
    polls: int = 0
    generated_at: dt.datetime | None = None
    content: bytes | None = None
    url_expires_at: dt.datetime | None = None
    expires_sim: float = 0.0
    downloaded: bool = False

    def as_json(self, url: str | None) -> dict[str, Any]:
        done = self.content is not None
        return {
            "configuration": self.request.configuration,
            "createdAt": iso_ms(self.created_at),
            "endDate": self.request.end.isoformat(),
            "failureReason": None,
            "fileSize": len(self.content) if self.content is not None else None,
            "generatedAt": iso_ms(self.generated_at) if self.generated_at else None,
            "name": self.request.name,
            "reportId": self.report_id,
            "startDate": self.request.start.isoformat(),
            "status": "COMPLETED" if done else "PENDING",
            "updatedAt": iso_ms(self.generated_at or self.created_at),
            "url": url if done else None,
            "urlExpiresAt": iso_ms(self.url_expires_at) if done and self.url_expires_at else None,
        }


def _date(body: dict[str, Any], name: str) -> dt.date:
    value = body.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} is required (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def check_request(body: object) -> ReportRequest:
    """The report a create-report body asks for, or ``ValueError`` with Amazon-like wording."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    start, end = _date(body, "startDate"), _date(body, "endDate")
    if end < start:
        raise ValueError("endDate must not be before startDate")
    if (end - start).days + 1 > MAX_REPORT_DAYS:
        raise ValueError(f"the report date range cannot exceed {MAX_REPORT_DAYS} days")
    config = body.get("configuration")
    if not isinstance(config, dict):
        raise ValueError("configuration is required")
    for key, wanted in _FIXED.items():
        if config.get(key) != wanted:
            raise ValueError(f"configuration.{key} must be {wanted} (the simulator serves spCampaigns only)")
    groups = config.get("groupBy")
    if not isinstance(groups, list) or "campaign" not in groups or not set(groups) <= _GROUPS:
        raise ValueError(f"configuration.groupBy must include campaign, from {sorted(_GROUPS)}")
    columns = config.get("columns")
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
        raise ValueError("configuration.columns must be a non-empty list of column names")
    unknown = [c for c in columns if c not in REPORT_COLUMNS]
    if unknown:
        raise ValueError(f"configuration columns {unknown} are not supported for spCampaigns")
    name = body.get("name")
    configuration = {**config, "filters": config.get("filters")}
    return ReportRequest(name if isinstance(name, str) else None, start, end, configuration, tuple(columns))


def report_rows(
    rows_7: list[AdPerformance], rows_14: list[AdPerformance], request: ReportRequest
) -> list[dict[str, Any]]:
    """One row per campaign and day in the request's range, with the requested columns."""
    seven = {(row.date, row.campaign_id): row for row in rows_7}
    out = []
    for row in sorted(rows_14, key=lambda r: (r.date, r.campaign_id)):
        if request.start <= row.date <= request.end:
            pair = (seven[(row.date, row.campaign_id)], row)
            out.append({column: REPORT_COLUMNS[column](pair) for column in request.columns})
    return out
