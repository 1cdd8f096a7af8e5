"""What KPI management does after each compute, in one call for the scheduler and the CLI.

Attainment of every target is refreshed (and ``sales_attainment`` published), the running
month's and quarter's scorecards are re-scored, and every alert rule is evaluated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ..store import Store
from ..vault import Vault
from .alerts import RaisedAlert, evaluate_alerts
from .scorecards import score
from .target_periods import period_start
from .targets import last_full_day, refresh_attainment

__all__ = ["ManagementRun", "after_compute"]


@dataclass
class ManagementRun:
    targets: int = 0
    scorecard_rows: int = 0
    alerts: list[RaisedAlert] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Why rows were left out, e.g. a target stored for a period outside the supported range."""
    as_of: dt.date | None = None
    """The last day of data the running periods were paced and scored up to."""


def after_compute(
    store: Store,
    vault: Vault,
    *,
    tenant: str = "default",
    as_of: dt.date | None = None,
    now: dt.datetime | None = None,
    score_grains: tuple[str, ...] = ("month", "quarter"),
) -> ManagementRun:
    """Refresh attainment, re-score the running periods and evaluate alerts for ``tenant``.

    ``as_of`` is the last day the data covers (default: the day before ``now`` in the tenant's
    timezone); running periods are paced up to it and the periods that contain it are the
    ones re-scored.
    """
    now = now or dt.datetime.now(dt.UTC)
    as_of = as_of or last_full_day(store, tenant=tenant, at=now)
    run = ManagementRun(as_of=as_of)
    run.targets = refresh_attainment(store, tenant=tenant, as_of=as_of, skipped=run.skipped)
    for grain in score_grains:
        run.scorecard_rows += len(score(store, grain=grain, period=period_start(grain, as_of), tenant=tenant))
    run.alerts = evaluate_alerts(store, vault, tenant=tenant, now=now)
    return run
