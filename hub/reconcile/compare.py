"""``reconcile``: a seller's report against ``kpi_fact``, value by value, and what explains each
difference.

Values are compared as exact decimals: the report's as its cells show them, kpihub's as
``kpi_fact`` holds them (an additive metric with no fact row for a scope and period is 0 there:
nothing was sold). A difference within the map's tolerance is *matched* and nothing more is said
about it. Nothing is written: a reconciliation only reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from sdk import ConfigError, MetricDefinition

from ..kpi.basis import CountingBasis
from ..kpi.catalogue import ADDITIVE, Catalogue
from ..kpi.engine import resolve_tenant
from ..kpi.periods import period_end
from ..store import Store
from ..store.kpi_tables import counting_bases, kpi_fact
from .colmap import ColumnMap
from .detail import Detail, read_details, report_only
from .explain import RULE_METRICS, Explainer
from .ledger import load_ledger
from .report import Problems, Report, ReportRow
from .results import Reconciliation, RowResult
from .scopes import Hidden, ScopeResolver, Visible

__all__ = ["reconcile"]


@dataclass(frozen=True)
class _Fact:
    value: Decimal | None
    basis_version: int
    unknown_reason: str | None


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _additive(d: MetricDefinition) -> bool:
    """Whether no fact row means 0 (nothing happened) rather than no value."""
    if d.kind == "simple":
        return d.aggregate in ADDITIVE
    return d.kind == "derived" and d.unit != "ratio"


def _definitions(catalogue: Catalogue, colmap: ColumnMap, map_name: str) -> dict[str, MetricDefinition]:
    found = {}
    published = sorted(m for m, d in catalogue.metrics.items() if d.published)
    for metric in colmap.columns.metrics:
        definition = catalogue.metrics.get(metric)
        if definition is None or not definition.published:
            raise ConfigError(
                f"the column map {map_name}: columns.metrics.{metric}: unknown metric {metric!r}; "
                f"the metrics are: {', '.join(published)}"
            )
        found[metric] = definition
    return found


def _check_currency(
    definitions: Iterable[MetricDefinition], colmap: ColumnMap, map_name: str, tenant: str, base: str
) -> None:
    if not any(d.unit == "currency" for d in definitions):
        return
    if colmap.currency is None:
        raise ConfigError(
            f"the column map {map_name} maps amounts: say the report's currency (currency: {base})"
        )
    if colmap.currency != base:
        raise ConfigError(
            f"the column map {map_name}: the report is in {colmap.currency}, but tenant {tenant!r} counts "
            f"amounts in {base} (its base currency), and kpihub compares amounts only in that currency: "
            f"give a report in {base}"
        )


def _resolve(
    report: Report, colmap: ColumnMap, resolver: ScopeResolver, notes: list[str]
) -> list[tuple[str, ReportRow]]:
    problems = Problems(report.name, None if report.csv else report.sheet)
    header = colmap.scope_column
    column = report.columns.get("scope")
    found: list[tuple[str, ReportRow]] = []
    seen: dict[tuple[str, dt.date], int] = {}
    hidden = 0
    for row in report.rows:
        try:
            scope_id = resolver.resolve(row.scope_label)
        except Hidden:
            hidden += 1
            continue
        except ValueError as exc:
            problems.add(row.line, column, header, str(exc))
            continue
        key = (scope_id, row.period)
        if key in seen:
            where = report.columns["date"]
            problems.add(
                row.line,
                where,
                colmap.columns.date,
                f"the same {colmap.scope} and {colmap.grain} as row {seen[key]}",
            )
            continue
        seen[key] = row.line
        found.append((scope_id, row))
    problems.raise_any()
    if hidden:
        notes.append(f"{hidden} row(s) about shops this key may not see were left out")
    return found


def _facts(
    conn: Connection, tenant_id: int, colmap: ColumnMap, scope_ids: set[str], first: dt.date, last: dt.date
) -> dict[tuple[str, str, dt.date], _Fact]:
    f = kpi_fact
    reason = f.c.unknown_reason if "unknown_reason" in f.c else sa.null()
    rows = conn.execute(
        sa.select(
            f.c.metric_id, f.c.scope_id, f.c.period_start, f.c.value, f.c.basis_version, reason.label("why")
        ).where(
            f.c.tenant_id == tenant_id,
            f.c.metric_id.in_(list(colmap.columns.metrics)),
            f.c.grain == colmap.grain,
            f.c.scope_type == colmap.scope,
            f.c.scope_id.in_(sorted(scope_ids)),
            f.c.period_start >= first,
            f.c.period_start <= last,
        )
    )
    return {
        (r.metric_id, r.scope_id, r.period_start): _Fact(_decimal(r.value), r.basis_version, r.why)
        for r in rows
    }


def _basis(conn: Connection, tenant_id: int, version: int | None) -> CountingBasis:
    """The counting basis the compared values were computed under (read, never created)."""
    b = counting_bases.c
    query = sa.select(b.settings).where(b.tenant_id == tenant_id)
    query = query.where(b.version == version) if version is not None else query.order_by(b.version.desc())
    settings = conn.execute(query.limit(1)).scalar_one_or_none()
    return CountingBasis() if settings is None else CountingBasis.model_validate(settings)


def reconcile(
    store: Store,
    tenant: str,
    report: Report,
    colmap: ColumnMap,
    *,
    map_name: str = "the column map",
    catalogue: Catalogue | None = None,
    visible: Visible | None = None,
) -> Reconciliation:
    """Compare ``report`` (read with ``colmap``) with the tenant's KPI values.

    ``visible`` limits the reconciliation to the shops a caller may see (scope ``shop`` only):
    rows about other shops are left out with a note. Bad input raises a ``ConfigError``.
    """
    if visible is not None and colmap.scope != "shop":
        raise ConfigError("a caller limited to some shops can reconcile shop rows only (scope: shop)")
    definitions = _definitions(catalogue or Catalogue.default(), colmap, map_name)
    with store.begin() as conn:
        tenant_id, base = resolve_tenant(conn, tenant)
        _check_currency(definitions.values(), colmap, map_name, tenant, base)
        resolver = ScopeResolver(conn, tenant_id, tenant, colmap.scope, visible)
        notes: list[str] = []
        rows = _resolve(report, colmap, resolver, notes)
        details = read_details(report, resolver)
        if not rows:
            raise ConfigError(
                f"{report.name} has no rows of figures to compare" + (f" ({notes[0]})" if notes else "")
            )
        first = min(r.period for _, r in rows)
        last = max(r.period for _, r in rows)
        facts = _facts(conn, tenant_id, colmap, {s for s, _ in rows}, first, last)
        versions = {f.basis_version for f in facts.values()}
        if len(versions) > 1:
            notes.append(
                f"kpihub's values were computed under counting bases {sorted(versions)}: run kpihub compute"
            )
        version = max(versions) if versions else None
        basis = _basis(conn, tenant_id, version)
        results = _compare(rows, facts, colmap, definitions, resolver)
        _explain(conn, tenant_id, base, basis, colmap, resolver, details, results, first, last)
        for row in results:
            if row.status == "pending":
                row.status = "unexplained"
                row.note = row.note or f"kpihub has no rules that take {row.metric_id} apart into orders"
    zone = colmap.timezone or (basis.tenant_timezone if basis.day_boundary == "shop" else None)
    return Reconciliation(
        report.name, tenant, colmap.scope, colmap.grain, base, version, zone, results, notes
    )


def _explain(
    conn: Connection,
    tenant_id: int,
    base: str,
    basis: CountingBasis,
    colmap: ColumnMap,
    resolver: ScopeResolver,
    details: dict[str, Detail],
    results: list[RowResult],
    first: dt.date,
    last: dt.date,
) -> None:
    """Explain every difference in a metric the rules know, from the orders of its shops."""
    differing = [
        r for r in results if r.status != "matched" and r.metric_id in RULE_METRICS and r.kpihub is not None
    ]
    if not differing:
        return
    shops: set[str] | None = set()
    for row in differing:
        covered = resolver.shops_of(row.scope_id)
        shops = None if covered is None or shops is None else shops | covered
    end = period_end(colmap.grain, last)
    ledger = load_ledger(
        conn, tenant_id, base, basis, shops=shops, first=first, last=end, report_zone=colmap.timezone
    )
    details = {shop: d for shop, d in details.items() if shops is None or shop in shops}
    explainer = Explainer(ledger, colmap.grain, details, report_only(conn, tenant_id, details, ledger))
    agree = {(r.scope_id, r.period) for r in results if r.metric_id == "orders" and r.status == "matched"}
    amounts: dict[tuple[str, dt.date], list[RowResult]] = {}
    for r in results:
        if r.metric_id in ("gmv", "net_sales") and r.report is not None and r.difference is not None:
            amounts.setdefault((r.scope_id, r.period), []).append(r)
    for row in differing:
        key = (row.scope_id, row.period)
        siblings = [r for r in amounts.get(key, []) if r is not row]
        explainer.explain(row, resolver.shops_of(row.scope_id), orders_agree=key in agree, siblings=siblings)


def _compare(
    rows: list[tuple[str, ReportRow]],
    facts: dict[tuple[str, str, dt.date], _Fact],
    colmap: ColumnMap,
    definitions: dict[str, MetricDefinition],
    resolver: ScopeResolver,
) -> list[RowResult]:
    order = {metric: i for i, metric in enumerate(colmap.columns.metrics)}
    results = []
    reported = {(scope_id, row.period) for scope_id, row in rows}
    for scope_id, row in rows:
        for metric, value in row.values.items():
            fact = facts.get((metric, scope_id, row.period))
            kpihub = fact.value if fact else (Decimal(0) if _additive(definitions[metric]) else None)
            result = RowResult(
                metric, colmap.scope, scope_id, row.scope_label, row.period, kpihub, value,
                colmap.tolerance_for(value), definitions[metric].unit, cell=row.cells[metric],
            )  # fmt: skip
            if fact is not None and fact.value is None:
                result.status = "unknown_in_kpihub"
                result.note = fact.unknown_reason or "kpihub publishes no value here: an input is missing"
            elif kpihub is None:
                result.status, result.note = "unexplained", "kpihub has no value here (no input rows)"
            elif abs(kpihub - value) > result.tolerance:
                result.status = "pending"
            results.append(result)
    labels = {scope_id: row.scope_label for scope_id, row in rows}
    for (metric, scope_id, period), fact in facts.items():
        tolerance = colmap.tolerance_for(Decimal(0))
        if (scope_id, period) in reported or fact.value is None or abs(fact.value) <= tolerance:
            continue
        label = labels.get(scope_id)
        unit = definitions[metric].unit
        missing = RowResult(metric, colmap.scope, scope_id, label, period, fact.value, None, tolerance, unit)
        missing.status, missing.note = "not_in_report", "the report has no row for this day or month"
        results.append(missing)
    return sorted(results, key=lambda r: (r.scope_id, r.period, order[r.metric_id]))
