"""``compute``: bring a tenant's kpi_fact up to date, fully or only where data changed.

Incremental by default. Every standard row carries ``ingested_at``; rows ingested after the
tenant's watermark name the (shop, local day) partitions a sync touched. Those partitions'
daily measures are recomputed from the standard tables, the weeks, months, quarters and years
above them are re-summed, and the facts of those periods are rewritten for every scope. A
deleted order line is covered too, because the sync re-ingests its parent order.

A full recompute happens on request, on the first run, when the counting basis has a new
version, and when the *content* of a dimension or lookup table changed (shops, SKUs, staff,
teams, assignments, SKU costs), since those can move any day; a changed FX rate recomputes the
days it applies to. Lookups are compared by digest, not ``ingested_at``, because whole-listing
streams rewrite unchanged rows on every sync (see ``changes``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from sdk import ConfigError, MetricDefinition

from ..store import Store
from ..store.kpi_tables import dim_shop, kpi_compute_state, kpi_fact, kpi_measures
from ..store.tables import standard_tables, tenants
from .atoms import NO_SHOP, ROLLUP_FROM, MeasureContext, Restriction, build_days, roll_up, touched_partitions
from .basis import current_basis
from .catalogue import Catalogue
from .changes import LOOKUPS, changed_fx_dates, fingerprint_window, fx_digests, lookup_digests
from .dims import refresh_dimensions
from .facts import FactContext, delete_facts, insert_facts, insert_period_derived
from .moved import forget_moved, moved_partitions
from .periods import GRAINS, SCOPES, bucket, ensure_dim_date, successors

__all__ = ["ComputeReport", "compute", "resolve_tenant"]

# Rows committed by a sync while a compute runs may carry an ingested_at a little before the
# compute's start; the watermark stays this far behind so they are picked up next time.
_WATERMARK_LAG = dt.timedelta(minutes=2)

# PostgreSQL's default work_mem (4 MB) makes it sort a scan's (shop, day) groups on disk
# instead of hashing them in memory; a compute's transaction raises it for itself only. It also
# does not wait for its commit to reach the disk: everything it writes is derived, and a crash
# loses the compute as a whole (watermark included), so the next compute simply redoes it.
_PG_WORK_MEM = "64MB"


@dataclass
class ComputeReport:
    """What one compute did."""

    tenant: str
    basis_version: int
    full: bool
    reason: str
    partitions: int = 0
    shops: int = 0
    days: int = 0
    facts_written: int = 0
    seconds: float = 0.0
    grains: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_tenant(conn: Connection, name: str) -> tuple[int, str]:
    """(id, base currency) of tenant ``name``; a ``ConfigError`` lists the tenants there are."""
    row = conn.execute(sa.select(tenants.c.id, tenants.c.base_currency).where(tenants.c.name == name)).first()
    if row is None:
        known = (
            ", ".join(conn.execute(sa.select(tenants.c.name).order_by(tenants.c.name)).scalars())
            or "none yet"
        )
        raise ConfigError(
            f"no tenant named {name!r} (tenants: {known}); tenants appear when a connection is added"
        )
    return int(row.id), str(row.base_currency)


def compute(
    store: Store,
    tenant: str = "default",
    *,
    full: bool = False,
    catalogue: Catalogue | None = None,
    metrics: Sequence[str] | None = None,
    grains: Sequence[str] = GRAINS,
    scopes: Sequence[str] = SCOPES,
) -> ComputeReport:
    """Recompute ``tenant``'s KPIs: incrementally from what changed, or everything with ``full``.

    ``metrics``, ``grains`` and ``scopes`` narrow a *full* recompute to a slice (for previews
    and benchmarks); the next regular compute after a narrowed one is a full one.
    """
    cat = catalogue or Catalogue.default()
    partial = metrics is not None or tuple(grains) != GRAINS or tuple(scopes) != SCOPES
    for grain in grains:
        if grain not in GRAINS:
            raise ConfigError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    for scope in scopes:
        if scope not in SCOPES:
            raise ConfigError(f"unknown scope type {scope!r}; use one of {', '.join(SCOPES)}")
    wanted = list(metrics) if metrics is not None else cat.published()
    for metric_id in wanted:
        if not cat.get(metric_id).published:
            raise ConfigError(f"metric {metric_id!r} is a building block, not a published KPI")
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    with store.begin() as conn:
        # Most statements are built once per compute; caching their large compiled forms only
        # costs the time of computing cache keys. (The memoized fact statements run with a
        # compiled cache of their own, see facts.py.)
        conn = conn.execution_options(compiled_cache=None)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL work_mem = '{_PG_WORK_MEM}'")
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        tenant_id, base_currency = resolve_tenant(conn, tenant)
        basis = current_basis(conn, tenant_id)
        zones = refresh_dimensions(conn, tenant_id, cat, basis.settings, now.date())
        state = conn.execute(
            sa.select(kpi_compute_state).where(kpi_compute_state.c.tenant_id == tenant_id)
        ).first()
        # Fingerprints are taken before any data is read: whatever they saw, the compute sees.
        prints: dict[str, Any] = {
            "lookups": lookup_digests(conn, tenant_id),
            "fx": fx_digests(conn, tenant_id),
            "window": fingerprint_window(conn, tenant_id, now - _WATERMARK_LAG, now),
        }
        old_prints: dict[str, Any] = (state.fingerprints if state is not None else None) or {}
        reason = _full_reason(full or partial, state, basis.version, old_prints, prints)
        ctx = MeasureContext(tenant_id, base_currency, basis.settings, frozenset(zones | {"UTC"}))
        fc = FactContext(tenant_id, tenant, base_currency, basis.settings, basis.version, now, cat)
        measures = _measures_for(cat, wanted, scopes)
        report = ComputeReport(tenant, basis.version, reason is not None, reason or "", grains=list(grains))
        if reason is not None:
            _run_full(conn, fc, ctx, measures, wanted, grains, scopes, report)
        else:
            assert state is not None
            since = _since(conn, tenant_id, state, old_prints)
            fx_days = changed_fx_dates(old_prints.get("fx", {}), prints["fx"])
            _run_incremental(conn, fc, ctx, measures, wanted, since, fx_days, report)
        if not partial:
            _save_state(conn, tenant_id, now - _WATERMARK_LAG, basis.version, now, prints)
            forget_moved(conn, tenant_id, now - _WATERMARK_LAG)
        else:
            # A narrowed compute rebuilt only some measures: the next compute must be full.
            conn.execute(kpi_compute_state.delete().where(kpi_compute_state.c.tenant_id == tenant_id))
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _measures_for(
    cat: Catalogue, wanted: Sequence[str], scopes: Sequence[str]
) -> dict[str, MetricDefinition]:
    needed: set[str] = set()
    kinds = ["tenant"] + (["sku"] if {"sku", "category"} & set(scopes) else [])
    for metric_id in wanted:
        for scope in kinds:
            for base in cat.base_of(cat.variant(metric_id, scope)):
                needed |= {base} if cat.metrics[base].kind == "simple" else cat.refs(base)
    return {m: cat.metrics[m] for m in sorted(needed)}


def _full_reason(
    asked: bool, state: Any, version: int, old: dict[str, Any], new: dict[str, Any]
) -> str | None:
    if asked:
        return "full recompute requested"
    if state is None:
        return "first compute for this tenant"
    if state.basis_version != version:
        return f"counting basis changed (version {state.basis_version} -> {version})"
    if "lookups" not in old:
        return "no content digests of the lookup tables yet"
    changed = [name for name, digest in new["lookups"].items() if old["lookups"].get(name) != digest]
    if changed:
        return f"dimension or lookup tables changed: {', '.join(changed)}"
    return None


def _since(conn: Connection, tenant_id: int, state: Any, old: dict[str, Any]) -> dt.datetime:
    """Where new rows start: the previous compute's start when nothing arrived in its lag window since."""
    watermark: dt.datetime = state.watermark
    if state.started_at is None or "window" not in old:
        return watermark
    if fingerprint_window(conn, tenant_id, watermark, state.started_at) == old["window"]:
        started: dt.datetime = state.started_at
        return max(watermark, started)
    return watermark


def _data_range(
    conn: Connection, tenant_id: int, measures: dict[str, MetricDefinition]
) -> tuple[dt.date, dt.date] | None:
    """First and last date the measures' source rows carry (UTC dates, padded a day)."""
    firsts: list[dt.date] = []
    lasts: list[dt.date] = []
    seen: set[tuple[str, str]] = set()
    for d in measures.values():
        assert d.table and d.date
        for column in _date_columns(d):
            table_name, column_name = column
            if column in seen:
                continue
            seen.add(column)
            table = standard_tables[table_name]
            low, high = conn.execute(
                sa.select(sa.func.min(table.c[column_name]), sa.func.max(table.c[column_name])).where(
                    table.c.tenant_id == tenant_id
                )
            ).one()
            for value, into in ((low, firsts), (high, lasts)):
                if value is not None:
                    if isinstance(value, str):
                        value = dt.date.fromisoformat(value[:10])
                    into.append(value.date() if isinstance(value, dt.datetime) else value)
    if not firsts:
        return None
    return min(firsts) - dt.timedelta(days=1), max(lasts) + dt.timedelta(days=1)


def _date_columns(d: MetricDefinition) -> list[tuple[str, str]]:
    """(table, column) pairs a metric's date expression may read."""
    import ast

    from .expr import parse

    found: list[tuple[str, str]] = []
    for node in ast.walk(parse(d.date or "")):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "order":
            found.append(("orders", node.attr))
        elif isinstance(node, ast.Name) and node.id in standard_tables[d.table or ""].c:
            found.append((d.table or "", node.id))
    return found


def _run_full(
    conn: Connection,
    fc: FactContext,
    ctx: MeasureContext,
    measures: dict[str, MetricDefinition],
    wanted: list[str],
    grains: Sequence[str],
    scopes: Sequence[str],
    report: ComputeReport,
) -> None:
    span = _data_range(conn, fc.tenant_id, measures)
    conn.execute(kpi_measures.delete().where(kpi_measures.c.tenant_id == fc.tenant_id))
    delete_facts(conn, fc.tenant_id, [*wanted, *_period_derived(fc.catalogue, wanted)], None, None)
    if span is None:
        return
    ensure_dim_date(conn, *span)
    cut_by_sku = bool({"sku", "category", "team", "person"} & set(scopes)) or any(
        fc.catalogue.metrics[b].kind == "sku_count" for m in wanted for b in fc.catalogue.base_of(m)
    )
    build_days(conn, measures, ctx, Restriction(per_sku=cut_by_sku))
    additive = [m for m in measures if fc.catalogue.is_measure(m)]
    needed = _grains_needed(grains)
    for grain in ("week", "month", "quarter", "year"):
        if grain in needed:
            roll_up(conn, fc.tenant_id, grain, additive, None, None)
    # Weeks and longer are written for their named periods: the statements are then the ones
    # an incremental compute runs (facts.py memoizes them with the periods bound), so the next
    # compute in this process reuses them. Days are not named: hundreds of bound dates made
    # PostgreSQL plan the day statements five times slower than reading every day.
    with_data = _with_data(conn, fc, scopes)
    days = [span[0] + dt.timedelta(days=i) for i in range((span[1] - span[0]).days + 1)]
    for grain in grains:
        periods = None if grain == "day" else sorted({bucket(grain, d) for d in days})
        report.facts_written += _write_facts(conn, fc, wanted, grain, with_data, periods, periods, fresh=True)
    report.partitions = -1
    if conn.dialect.name == "postgresql":
        # The tables just went from (nearly) empty to millions of rows; until autovacuum
        # notices, the next incremental compute would be planned for empty tables (measured:
        # 13.3 s instead of 7.6 s at 1 M order lines). ANALYZE samples, so it costs little.
        conn.exec_driver_sql("ANALYZE kpi_measures")
        conn.exec_driver_sql("ANALYZE kpi_fact")


def _grains_needed(grains: Sequence[str]) -> set[str]:
    needed: set[str] = set()
    for grain in grains:
        while grain != "day":
            needed.add(grain)
            grain = ROLLUP_FROM[grain]
    return needed


def _period_derived(cat: Catalogue, wanted: Sequence[str]) -> list[str]:
    return [m for m in wanted if cat.is_period_derived(m)]


def _write_facts(
    conn: Connection,
    fc: FactContext,
    wanted: Sequence[str],
    grain: str,
    scopes: Sequence[str],
    periods: list[dt.date] | None,
    growth_periods: list[dt.date] | None,
    *,
    fresh: bool = False,
) -> int:
    """Write ``wanted`` at ``grain`` for ``periods`` (``None``: all), replacing what is there
    unless ``fresh`` (a full compute emptied the table first)."""
    cat = fc.catalogue
    growth = _period_derived(cat, wanted)
    plain = [m for m in wanted if m not in growth]
    # previous()/year_ago() read their base metric from kpi_fact, so it must be written too.
    for metric_id in growth:
        base = next(iter(cat.refs(metric_id)))
        if base not in plain:
            plain.append(base)
    if periods is not None and not fresh:
        delete_facts(conn, fc.tenant_id, plain, grain, periods)
    written = 0
    for scope in scopes:
        written += insert_facts(conn, fc, scope, grain, plain, periods)
    for metric_id in growth:
        if growth_periods is not None and not fresh:
            delete_facts(conn, fc.tenant_id, [metric_id], grain, growth_periods)
        written += insert_period_derived(conn, fc, metric_id, grain, growth_periods)
    return written


def _run_incremental(
    conn: Connection,
    fc: FactContext,
    ctx: MeasureContext,
    measures: dict[str, MetricDefinition],
    wanted: list[str],
    since: dt.datetime,
    fx_days: set[dt.date],
    report: ComputeReport,
) -> None:
    # Lookup-sourced measures (e.g. new listings from SKUs) change only with their lookup's
    # content, which a full recompute handles; FX days are known from the FX digests.
    by_rows = {m: d for m, d in measures.items() if d.table not in (*LOOKUPS, "fx_rates")}
    touched = touched_partitions(conn, by_rows, ctx, since)
    touched |= moved_partitions(conn, ctx, since)
    touched |= _fx_partitions(conn, fc.tenant_id, ctx, fx_days)
    report.reason = "changes since the last compute" if touched else "nothing changed since the last compute"
    if not touched:
        return
    shops = frozenset(s for s, _ in touched)
    days = frozenset(d for _, d in touched)
    report.partitions, report.shops, report.days = len(touched), len(shops), len(days)
    ensure_dim_date(conn, min(days), max(days))
    build_days(conn, measures, ctx, Restriction(shops, days))
    additive = [m for m in measures if fc.catalogue.is_measure(m)]
    for grain in ("week", "month", "quarter", "year"):
        periods = sorted({bucket(grain, d) for d in days})
        roll_up(conn, fc.tenant_id, grain, additive, periods, shops)
    scopes = _with_data(conn, fc, SCOPES)
    for grain in GRAINS:
        periods = sorted({bucket(grain, d) for d in days})
        growth_periods = sorted(set(periods) | successors(grain, periods))
        report.facts_written += _write_facts(conn, fc, wanted, grain, scopes, periods, growth_periods)


def _with_data(conn: Connection, fc: FactContext, scopes: Sequence[str]) -> list[str]:
    """``scopes`` without team/person when nobody is assigned and category when no SKU has one.

    Those scopes would produce no rows anyway; skipping them saves their (large) statements.
    """
    assignments, skus = standard_tables["assignments"], standard_tables["skus"]

    def exists(table: Any, *where: Any) -> bool:
        return (
            conn.execute(
                sa.select(sa.literal(1)).where(table.c.tenant_id == fc.tenant_id, *where).limit(1)
            ).first()
            is not None
        )

    skip: set[str] = set()
    if not exists(assignments):
        skip |= {"team", "person"}
    if not exists(skus, skus.c.category.is_not(None)):
        skip.add("category")
    return [s for s in scopes if s not in skip]


def _fx_partitions(
    conn: Connection, tenant_id: int, ctx: MeasureContext, days: set[dt.date]
) -> set[tuple[str, dt.date]]:
    """New, changed or removed FX rates move every shop's amounts on their day (or whole month)."""
    if not days:
        return set()
    if ctx.basis.fx_rate == "month_average":
        months = {bucket("month", d) for d in days}
        days = {
            m + dt.timedelta(days=i)
            for m in months
            for i in range(31)
            if (m + dt.timedelta(days=i)).month == m.month
        }
    keys = set(
        conn.execute(sa.select(dim_shop.c.shop_key).where(dim_shop.c.tenant_id == tenant_id)).scalars()
    )
    return {(key, day) for key in keys | {NO_SHOP} for day in days}


def _save_state(
    conn: Connection,
    tenant_id: int,
    watermark: dt.datetime,
    version: int,
    now: dt.datetime,
    prints: dict[str, Any],
) -> None:
    s = kpi_compute_state
    values = {
        "watermark": watermark,
        "basis_version": version,
        "updated_at": now,
        "started_at": now,
        "fingerprints": prints,
    }
    updated = conn.execute(s.update().where(s.c.tenant_id == tenant_id).values(**values)).rowcount
    if not updated:
        conn.execute(s.insert().values(tenant_id=tenant_id, **values))


def fact_count(conn: Connection, tenant_id: int) -> int:
    return int(conn.execute(sa.select(sa.func.count()).where(kpi_fact.c.tenant_id == tenant_id)).scalar_one())
