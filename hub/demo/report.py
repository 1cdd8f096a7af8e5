"""The demo's closing report: syncs, the scorecard per person, the alerts, where things are."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .run import DemoResult

__all__ = ["print_report"]


def _pct(value: Any) -> str:
    return "not configured" if value is None else f"{float(value):.0%}"


def _quarter(result: DemoResult) -> str:
    """The scored quarter as the CLI writes periods (2026-Q4)."""
    quarter = result.quarter
    return f"{quarter:%Y}-Q{(quarter.month - 1) // 3 + 1}" if quarter else "YYYY-Qn"


def _num(value: Any) -> str:
    if value is None:
        return "-"
    number = float(value)
    return f"{number:,.0f}" if abs(number) >= 1000 else f"{number:.3g}"


def _syncs(console: Console, result: DemoResult) -> None:
    table = Table(
        "connection", "status", "records read", "rows written", "requests", "retries", title="Syncs"
    )
    for name, run in result.syncs.items():
        table.add_row(
            name,
            run.status,
            f"{run.rows_read:,}",
            f"{run.rows_written:,}",
            str(run.stats.get("requests", "-")),
            str(run.stats.get("retries", 0)),
        )
        for error in run.errors:
            console.print(
                f"[red]error:[/] {escape(name)}: {escape(str(error.get('error')))}", highlight=False
            )
    console.print(table)


def _scorecard(console: Console, result: DemoResult) -> None:
    by_person: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in result.scorecard:
        by_person[row["subject_id"]][row["metric_id"]] = row
    metrics = sorted({row["metric_id"] for row in result.scorecard})
    label = _quarter(result)
    table = Table(
        "person", *[f"{m}\nactual / attainment" for m in metrics], "total score", title=f"Scorecard {label}"
    )
    for person, cells in sorted(by_person.items()):
        total = next((c["total_score"] for c in cells.values() if c.get("total_score") is not None), None)
        table.add_row(
            person,
            *[
                f"{_num(cells[m].get('actual_value'))} / {_pct(cells[m].get('attainment'))}"
                if m in cells
                else "-"
                for m in metrics
            ],
            _num(total),
        )
    console.print(table)


def _alerts(console: Console, result: DemoResult) -> None:
    table = Table(
        "alert",
        "rule",
        "scope",
        "period",
        "value",
        "threshold",
        "status",
        "delivery",
        "work order",
        title="Alerts",
    )
    for alert in result.alerts:
        order = alert.get("work_order_id")
        table.add_row(
            str(alert.get("alert_id")),
            str(alert.get("rule")),
            f"{alert.get('scope_type')}:{alert.get('scope_id')}",
            f"{alert.get('grain')} of {alert.get('period_start')}",
            _num(alert.get("value")),
            f"{alert.get('threshold')}",
            str(alert.get("status")),
            str(alert.get("delivery")),
            f"#{order} {alert.get('work_order_status')}, {alert.get('assignee')}" if order else "-",
        )
    console.print(table)
    console.print(f"webhook receiver ({result.receiver}) got {result.delivered} delivery(ies) this run")


def _pushes(console: Console, result: DemoResult) -> None:
    table = Table("sink", "table", "action", "rows", title="Pushes")
    for name, push in result.pushes.items():
        for t in push.tables:
            table.add_row(name, t.table, t.action, f"{t.rows:,}" if t.rows else "-")
            if t.error:
                console.print(
                    f"[red]error:[/] {escape(name)}/{escape(t.table)}: {escape(t.error)}", highlight=False
                )
    console.print(table)


def print_report(console: Console, result: DemoResult) -> None:
    _syncs(console, result)
    _pushes(console, result)
    _scorecard(console, result)
    _alerts(console, result)
    where = Table("output", "where", title="Outputs")
    for name, path in result.outputs.items():
        where.add_row(name, path)
    console.print(where)
    read = sum(run.rows_read for run in result.syncs.values())
    how = "full" if result.compute.get("full") else "incremental"
    why = f" ({result.compute['reason']})" if result.compute.get("reason") else ""
    if result.incremental:
        kind = (
            f"incremental run: every connection resumed from its saved state ({read:,} records read); "
            f"KPI compute {how}{why}"
        )
    else:
        kind = f"first run: {read:,} records read; KPI compute {how}{why}"
    console.print(f"[bold]demo finished[/] in {result.seconds:.1f} s, {escape(kind)}", highlight=False)
    steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in result.timings.items())
    console.print(f"  steps: {steps}", highlight=False)
    # The demo hub's operator settings: its store and key, its tenant areas, its simulators.
    env = (
        f"export KPIHUB_DATABASE_URL=sqlite:///{result.workdir / 'kpihub.db'} "
        f"KPIHUB_MASTER_KEY_FILE={result.workdir / 'master.key'} "
        f"KPIHUB_DATA_DIR={result.workdir} KPIHUB_EGRESS_ALLOW=loopback"
    )
    label = _quarter(result)
    console.print("next, try:", highlight=False)
    for command in (
        env,
        "kpihub connection list",
        f"kpihub targets show --metric net_sales --grain quarter --period {label}",
        f"kpihub scorecard show --grain quarter --period {label}",
        "kpihub alerts show",
        "kpihub kpi show gmv --grain month --scope shop",
        "kpihub serve",
        f"kpihub demo --workdir {result.workdir}   # again: incremental",
    ):
        console.print(f"  {escape(command)}", highlight=False)
