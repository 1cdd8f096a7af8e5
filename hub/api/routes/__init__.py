"""One router per resource, all mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    alert_rules,
    api_keys,
    audit,
    connections,
    data_quality,
    files,
    kpis,
    management,
    mappings,
    plugins,
    reconciliations,
    runs,
    schedules,
    scorecards,
    shops,
    sink_config,
    sinks,
    target_tools,
    target_workbooks,
    tenants,
    users,
    work_orders,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    tenants.router,
    users.router,
    api_keys.router,
    shops.router,
    connections.router,
    mappings.router,
    files.router,
    schedules.router,
    runs.router,
    kpis.router,
    data_quality.router,
    alert_rules.router,
    management.router,
    target_tools.router,
    target_workbooks.router,
    reconciliations.router,
    scorecards.router,
    work_orders.router,
    sinks.router,
    sink_config.router,
    plugins.router,
    audit.router,
)
