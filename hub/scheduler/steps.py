"""The steps after a sync: recompute the tenant's KPIs, refresh targets, scorecards and alerts,
and push the sinks that publish them.

Each is skipped when the sync brought nothing new, since all three work from what changed.
KPI computes of one tenant are serialised in this process: two connections of a tenant that
finish together would otherwise recompute the same facts at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from typing import Any

from sdk import KpihubError

from ..context import HubContext
from ..kpi.after_compute import after_compute
from ..kpi.engine import compute
from ..kpi.targets import last_full_day
from ..publish import list_sinks, push_sink
from ..redaction import scrub
from .pipeline import PipelineRun

__all__ = ["ComputeStep", "ManagementStep", "PushStep"]

_tenant_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


def _nothing_new(run: PipelineRun) -> bool:
    return run.sync is not None and run.sync.rows_written == 0


class ComputeStep:
    """Recompute the KPIs the new rows touch (the engine works incrementally from a watermark).

    The catalogue is every registered metric provider's, as ``kpihub compute`` builds it: a
    third party's metrics are computed on schedule too, not only from the command line.
    """

    name = "kpi"

    def __call__(self, hub: HubContext, run: PipelineRun) -> dict[str, Any]:
        if _nothing_new(run):
            return {"skipped": "the sync wrote no new rows"}
        catalogue = hub.catalogue
        with _tenant_locks[run.info.tenant]:
            report = compute(hub.ready_store, run.info.tenant, catalogue=catalogue)
        return {
            "facts_written": report.facts_written,
            "full": report.full,
            "basis_version": report.basis_version,
        }


class ManagementStep:
    """Refresh target attainment, re-score the running periods and evaluate the alert rules.

    Running periods are paced up to the day before the run's fire time in the tenant's
    timezone, so a run retried or taken over later still paces as of the day it was for.
    """

    name = "management"

    def __call__(self, hub: HubContext, run: PipelineRun) -> dict[str, Any]:
        if _nothing_new(run):
            return {"skipped": "the sync wrote no new rows"}
        tenant = run.info.tenant
        as_of = last_full_day(hub.ready_store, tenant=tenant, at=run.scheduled_for)
        with _tenant_locks[tenant]:
            done = after_compute(hub.ready_store, hub.vault, tenant=tenant, as_of=as_of)
        summary: dict[str, Any] = {
            "as_of": as_of.isoformat(),
            "targets": done.targets,
            "scorecard_rows": done.scorecard_rows,
            "alerts": [alert.alert_id for alert in done.alerts],
        }
        if done.skipped:
            summary["skipped_rows"] = done.skipped
        return summary


class PushStep:
    """Push every active sink of the tenant; a failed sink fails the run after the others are pushed,
    so the error's class decides whether it is retried."""

    name = "push"

    def __call__(self, hub: HubContext, run: PipelineRun) -> dict[str, Any]:
        if _nothing_new(run):
            return {"skipped": "the sync wrote no new rows"}
        pushed: dict[str, Any] = {}
        failure: KpihubError | None = None
        for sink in list_sinks(hub.ready_store, tenant=run.info.tenant):
            if sink.status != "active":
                continue
            try:
                result = asyncio.run(
                    push_sink(
                        hub.ready_store,
                        hub.vault,
                        hub.registry,
                        sink.name,
                        tenant=sink.tenant,
                        egress=hub.egress,
                    )
                )
            except KpihubError as exc:
                pushed[sink.name] = {"error": scrub(str(exc))}
                failure = failure or exc
                continue
            pushed[sink.name] = {t.table: t.error or f"{t.action} {t.rows}" for t in result.tables}
        if failure is not None:
            run.summaries[self.name] = pushed  # kept on the run record with the error
            raise failure
        return pushed
