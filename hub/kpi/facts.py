"""From measures to ``kpi_fact``: cut by scope, pivot, evaluate each KPI, all in one INSERT … SELECT.

For one grain and one scope type, the measures are summed per scope and period (team and person
through their assignments, day by day so from-to dates hold exactly), medians are taken over
their samples and SKU counts over per-SKU sums. One pivot row per scope and period then carries
every base value, and each KPI is an expression over that row: ratios divide sums (never
average ratios) and a zero denominator gives NULL.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.sql import Select, visitors
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.util import LRUCache

from sdk import ConfigError

from ..store.exact import ExactValue
from ..store.kpi_tables import CONTRACT_VERSION, dim_date, dim_shop, kpi_fact, kpi_measures
from ..store.tables import standard_tables
from .atoms import GRAIN_COLUMN
from .basis import CountingBasis
from .catalogue import Catalogue
from .exactsql import exact_div, measure_one, publish, published_measure
from .expr import compile_expr, parse, sql_value
from .periods import period_end

__all__ = ["FactContext", "delete_facts", "insert_facts", "insert_period_derived"]

_NULL_TEXT = sa.cast(sa.null(), sa.String(160))
_NO_ROWS = sa.cast(sa.null(), sa.Integer())
"""Input and known row counts of a value that has none (medians, SKU counts): no coverage."""

# What changes from one compute to the next is bound, not built in: the statements are then
# memoized per catalogue, basis, scope, grain and metrics, and an incremental compute neither
# rebuilds nor recompiles them (they run with their own compiled cache).
_TENANT = sa.bindparam("kpi_tenant", type_=kpi_fact.c.tenant_id.type)
_TENANT_NAME = sa.bindparam("kpi_tenant_name", type_=sa.String(160))
_BASIS_VERSION = sa.bindparam("kpi_basis_version", type_=sa.Integer())
_COMPUTED_AT = sa.bindparam("kpi_computed_at", type_=kpi_fact.c.computed_at.type)
_PERIODS = sa.bindparam("kpi_periods", expanding=True, type_=sa.Date())
_FIRST = sa.bindparam("kpi_first", type_=sa.Date())
_LAST = sa.bindparam("kpi_last", type_=sa.Date())
_STATEMENTS: dict[tuple[Any, ...], Any] = {}
_COMPILED: LRUCache[Any, Any] = LRUCache(400)


@dataclass(frozen=True)
class FactContext:
    tenant_id: int
    tenant_name: str
    base_currency: str
    basis: CountingBasis
    basis_version: int
    computed_at: dt.datetime
    catalogue: Catalogue


def _params(fc: FactContext, grain: str, periods: Sequence[dt.date] | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "kpi_tenant": fc.tenant_id,
        "kpi_tenant_name": fc.tenant_name,
        "kpi_basis_version": fc.basis_version,
        "kpi_computed_at": fc.computed_at,
    }
    if periods is not None:
        params["kpi_periods"] = sorted(periods)
        params["kpi_first"] = min(periods)
        params["kpi_last"] = max(period_end(grain, p) for p in periods)
    return params


def _memoized(key: tuple[Any, ...], fc: FactContext, build: Callable[[], Any]) -> Any:
    """The statement for ``key`` under ``fc``'s catalogue, basis and currency, built once."""
    full_key = (fc.catalogue.fingerprint, fc.basis.model_dump_json(), fc.base_currency, *key)
    if full_key not in _STATEMENTS:
        if len(_STATEMENTS) > 2000:  # a long-lived service with many bases: start over
            _STATEMENTS.clear()
        _STATEMENTS[full_key] = build()
    return _STATEMENTS[full_key]


def _run(conn: Connection, statement: Any, params: dict[str, Any]) -> int:
    cached = conn.execution_options(compiled_cache=_COMPILED)
    return cached.execute(statement, params).rowcount or 0


def _bridges(fc: FactContext, scope_type: str) -> tuple[Any, Any]:
    """(group, shop_key, from, to) and (group, sku, from, to) for team or person scopes."""
    a = standard_tables["assignments"].alias("asg")
    skus = standard_tables["skus"].alias("skb")
    staff = standard_tables["staff"].alias("stf")
    shops = dim_shop.alias("dsb")
    join_shop = sa.or_(
        sa.and_(
            a.c.scope_type == "shop",
            sa.or_(a.c.scope_id == shops.c.shop_key, a.c.scope_id == shops.c.shop_id),
        ),
        sa.and_(a.c.scope_type == "platform", a.c.scope_id == shops.c.platform),
        sa.and_(a.c.scope_type == "site", a.c.scope_id == shops.c.site),
    )
    from_shop: Any = a.join(shops, sa.and_(shops.c.tenant_id == a.c.tenant_id, join_shop))
    from_cat: Any = a.join(
        skus,
        sa.and_(
            skus.c.tenant_id == a.c.tenant_id, a.c.scope_type == "category", a.c.scope_id == skus.c.category
        ),
    )
    group: Any = a.c.staff_id
    where = [a.c.tenant_id == _TENANT]
    if scope_type == "team":
        from_shop = from_shop.join(
            staff, sa.and_(staff.c.tenant_id == a.c.tenant_id, staff.c.staff_id == a.c.staff_id)
        )
        from_cat = from_cat.join(
            staff, sa.and_(staff.c.tenant_id == a.c.tenant_id, staff.c.staff_id == a.c.staff_id)
        )
        group = staff.c.team_id
        where.append(staff.c.team_id.is_not(None))
    validity = [a.c.valid_from.label("valid_from"), a.c.valid_to.label("valid_to")]
    by_shop = (
        sa.select(group.label("gid"), shops.c.shop_key.label("key"), *validity)
        .select_from(from_shop)
        .where(*where)
    )
    by_sku = (
        sa.select(group.label("gid"), skus.c.sku.label("key"), *validity).select_from(from_cat).where(*where)
    )
    return by_shop.subquery("bshop"), by_sku.subquery("bsku")


def scope_rows(
    fc: FactContext,
    scope_type: str,
    grain: str,
    measures: Sequence[str],
    periods: Sequence[dt.date] | None,
    *,
    keep_sku: bool = False,
    samples: bool = False,
    sku_measures: Sequence[str] = (),
) -> Select[Any]:
    """(scope_id, platform, shop_id, period_start, name, [sku], value) for ``measures``.

    Sums per scope and period, or the individual samples when ``samples`` is set.
    """
    m = kpi_measures.alias("m")
    dd = dim_date.alias("dd")
    bridged = scope_type in ("team", "person")
    daily = samples or bridged
    where: list[Any] = [m.c.tenant_id == _TENANT, m.c.measure.in_(list(measures))]
    where.append(m.c.grain == ("day" if daily else grain))
    if daily:
        period: Any = dd.c[GRAIN_COLUMN[grain]]
        if periods is not None:
            where.append(m.c.period_start.between(_FIRST, _LAST))
    else:
        period = m.c.period_start
        if periods is not None:
            where.append(m.c.period_start.in_(_PERIODS))
    platform: Any = _NULL_TEXT
    shop_id: Any = _NULL_TEXT
    from_: Any = m
    if bridged:
        by_shop, by_sku = _bridges(fc, scope_type)

        def covered(bridge: Any, key: Any, extra: list[Any]) -> Select[Any]:
            valid = sa.and_(
                bridge.c.key == key,
                bridge.c.valid_from <= m.c.period_start,
                sa.or_(bridge.c.valid_to.is_(None), bridge.c.valid_to >= m.c.period_start),
            )
            return (
                sa.select(
                    bridge.c.gid,
                    m.c.measure,
                    m.c.period_start,
                    m.c.shop_key,
                    m.c.sku,
                    m.c.value,
                    m.c.input_rows,
                    m.c.known_rows,
                )
                .select_from(m.join(bridge, valid))
                .where(*where, *extra)
            )

        parts = [covered(by_shop, m.c.shop_key, [])]
        if sku_measures:
            parts.append(covered(by_sku, m.c.sku, [m.c.measure.in_(list(sku_measures))]))
        # UNION (not ALL): a shop covered by two of a person's assignments counts once.
        u = sa.union(*parts).subquery("cov") if len(parts) > 1 else parts[0].distinct().subquery("cov")
        from_ = u.join(dd, dd.c.date == u.c.period_start)
        period = dd.c[GRAIN_COLUMN[grain]]
        scope_id: Any = u.c.gid
        name, sku_col, value = u.c.measure, u.c.sku, u.c.value
        rows, known = u.c.input_rows, u.c.known_rows
        outer_where: list[Any] = [scope_id.is_not(None)]
        if periods is not None:
            outer_where.append(period.in_(_PERIODS))
    else:
        name, sku_col, value = m.c.measure, m.c.sku, m.c.value
        rows, known = m.c.input_rows, m.c.known_rows
        outer_where = list(where)
        if daily:
            from_ = from_.join(dd, dd.c.date == m.c.period_start)
            if periods is not None:
                outer_where.append(period.in_(_PERIODS))
        if scope_type == "tenant":
            scope_id = _TENANT_NAME
        elif scope_type in ("platform", "site", "shop"):
            ds = dim_shop.alias("ds")
            from_ = from_.join(ds, sa.and_(ds.c.tenant_id == _TENANT, ds.c.shop_key == m.c.shop_key))
            platform = ds.c.platform
            if scope_type == "platform":
                scope_id = ds.c.platform
            elif scope_type == "site":
                scope_id = ds.c.platform + ":" + ds.c.site
                outer_where.append(ds.c.site.is_not(None))
            else:
                scope_id, shop_id = m.c.shop_key, ds.c.shop_id
        elif scope_type == "sku":
            scope_id = m.c.sku
            outer_where.append(m.c.sku != "")
        elif scope_type == "category":
            sk = standard_tables["skus"].alias("sk")
            from_ = from_.join(sk, sa.and_(sk.c.tenant_id == _TENANT, sk.c.sku == m.c.sku))
            scope_id = sk.c.category
            outer_where.append(sk.c.category.is_not(None))
        else:
            raise ConfigError(f"unknown scope type {scope_type!r}")
    columns = [
        sa.cast(scope_id, sa.String(160)).label("scope_id"),
        sa.cast(platform, sa.String(160)).label("platform"),
        sa.cast(shop_id, sa.String(160)).label("shop_id"),
        period.label("period_start"),
        name.label("name"),
    ]
    if keep_sku:
        columns.append(sku_col.label("sku"))
    if samples:
        return sa.select(*columns, value.label("value")).select_from(from_).where(*outer_where)
    group = [scope_id, platform, shop_id, period, name] + ([sku_col] if keep_sku else [])
    # Constants (the tenant's name, NULL platform) are not grouped by: PostgreSQL refuses them.
    group = [g for g in group if g is not _NULL_TEXT and not isinstance(g, BindParameter)]
    return (
        sa.select(
            *columns,
            sa.func.sum(value).label("value"),
            sa.func.sum(rows).label("input_rows"),
            sa.func.sum(known).label("known_rows"),
        )
        .select_from(from_)
        .where(*outer_where)
        .group_by(*group)
    )


def _medians(rows: Select[Any]) -> Select[Any]:
    r = rows.subquery("samples")
    part = [r.c.scope_id, r.c.period_start, r.c.name]
    w = sa.select(
        r,
        sa.func.row_number().over(partition_by=part, order_by=r.c.value).label("rn"),
        sa.func.count().over(partition_by=part).label("cnt"),
    ).subquery("ranked")
    # The middle sample, or the mean of the two middle ones: 2·rn ∈ {cnt, cnt+1, cnt+2}.
    middle = (w.c.rn * 2).in_([w.c.cnt, w.c.cnt + 1, w.c.cnt + 2])
    return (
        sa.select(
            w.c.scope_id,
            w.c.platform,
            w.c.shop_id,
            w.c.period_start,
            w.c.name,
            sa.func.avg(w.c.value),
            _NO_ROWS,
            _NO_ROWS,
        )
        .where(middle)
        .group_by(w.c.scope_id, w.c.platform, w.c.shop_id, w.c.period_start, w.c.name)
    )


class _PivotEnv:
    """Names in ratio/derived/SKU-count expressions: pivot columns, other metrics, period_days."""

    def __init__(
        self, catalogue: Catalogue, basis: dict[str, Any], columns: dict[str, Any], days: Any
    ) -> None:
        self.catalogue = catalogue
        self.basis = basis
        self.columns = columns
        self.days = days

    def name(self, name: str) -> Any:
        if name == "period_days":
            return self.days
        d = self.catalogue.get(name)
        if name in self.columns:
            column = self.columns[name]
            return column if self.catalogue.is_sample(name) else sa.func.coalesce(column, 0)
        if d.kind == "ratio":
            return exact_div(*self.ratio_parts(name))
        if d.kind == "derived":
            return compile_expr(d.expression or "", self, self.basis)
        raise ConfigError(f"metric {name!r} is not available here")

    def ratio_parts(self, name: str) -> tuple[Any, Any]:
        d = self.catalogue.get(name)
        return (
            compile_expr(d.numerator or "", self, self.basis),
            compile_expr(d.denominator or "", self, self.basis),
        )

    def attr(self, base: str, attr: str) -> Any:
        raise ConfigError(f"{base}.{attr} is not available in metric expressions (only basis.*)")

    def call(self, func: str, args: Sequence[ast.expr], compile_arg: Callable[[ast.expr], Any]) -> Any:
        raise ConfigError(f"{func}() is only available in derived metrics over one published metric")


def _split(text: str) -> tuple[str, str] | None:
    """(numerator, denominator) texts when an expression is a division at the top."""
    node = parse(text)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return ast.unparse(node.left), ast.unparse(node.right)
    return None


def _evaluate(env: _PivotEnv, metric_id: str) -> tuple[Any, Any, Any]:
    """(value, numerator, denominator) of a metric over a pivot row, as published values:
    sums exactly, quotients exactly to ten places."""
    d = env.catalogue.get(metric_id)
    split: tuple[Any, Any] | None = None
    if d.kind == "ratio":
        split = env.ratio_parts(metric_id)
    elif d.kind == "derived" and (texts := _split(d.expression or "")):
        split = (compile_expr(texts[0], env, env.basis), compile_expr(texts[1], env, env.basis))
    if split is not None:
        num, den = (sql_value(part) for part in split)
        return exact_div(num, den), publish(num), publish(den)
    return publish(sql_value(env.name(metric_id))), None, None


def _unit_currency(fc: FactContext, metric_id: str) -> tuple[str, str | None]:
    unit = fc.catalogue.get(metric_id).unit
    return unit, fc.base_currency if unit == "currency" else None


def facts_select(
    fc: FactContext, scope_type: str, grain: str, metric_ids: Sequence[str], periods: Sequence[dt.date] | None
) -> Any:
    """The kpi_fact rows of ``metric_ids`` at one grain and scope type (None: nothing to compute)."""
    cat = fc.catalogue
    sku_scope = scope_type in ("sku", "category")

    def available(base: str) -> bool:
        # SKU and category scopes can only be cut from values kept per SKU.
        d = cat.metrics[base]
        return not sku_scope or d.kind == "sku_count" or d.level == "sku"

    chosen = {
        m: cat.variant(m, scope_type)
        for m in metric_ids
        if all(available(b) for b in cat.base_of(cat.variant(m, scope_type)))
    }
    bases: set[str] = set()
    for variant in chosen.values():
        bases |= cat.base_of(variant)
    additive = sorted(b for b in bases if cat.is_measure(b))
    samples = sorted(b for b in bases if cat.is_sample(b))
    counts = sorted(b for b in bases if cat.metrics[b].kind == "sku_count")
    sku_measures = sorted(m for m, d in cat.metrics.items() if cat.is_measure(m) and d.level == "sku")
    sources: list[Select[Any]] = []
    if additive:
        sources.append(scope_rows(fc, scope_type, grain, additive, periods, sku_measures=sku_measures))
    if samples and not sku_scope:
        sources.append(_medians(scope_rows(fc, scope_type, grain, samples, periods, samples=True)))
    basis = fc.basis.model_dump()
    for count_id in counts:
        sources.append(_sku_count(fc, scope_type, grain, count_id, periods, sku_measures, basis))
    if not sources or not chosen:
        return None
    u = (sa.union_all(*sources) if len(sources) > 1 else sources[0]).subquery("u")
    labels = {b: f"c{i}" for i, b in enumerate(sorted(bases))}
    counted = [b for b in sorted(bases) if cat.is_measure(b)]
    grouped = (
        sa.select(
            u.c.scope_id,
            u.c.platform,
            u.c.shop_id,
            u.c.period_start,
            *[sa.func.sum(sa.case((u.c.name == b, u.c.value))).label(lbl) for b, lbl in labels.items()],
            *[sa.func.sum(sa.case((u.c.name == b, u.c.input_rows))).label(f"r{labels[b]}") for b in counted],
            *[sa.func.sum(sa.case((u.c.name == b, u.c.known_rows))).label(f"k{labels[b]}") for b in counted],
        )
        .group_by(u.c.scope_id, u.c.platform, u.c.shop_id, u.c.period_start)
        .subquery("grouped")
    )
    dd = dim_date.alias("pd_dates")
    bucket = dd.c[GRAIN_COLUMN[grain]]
    pd = sa.select(bucket.label("p"), sa.func.count().label("n")).group_by(bucket).subquery("pd")
    # Materialized once, then each KPI is one cheap SELECT over it (UNION ALL): evaluating every
    # KPI's formula for every row through one big CASE costs metrics² per row instead.
    pivot = (
        sa.select(grouped, pd.c.n.label("period_days"))
        .select_from(grouped.outerjoin(pd, pd.c.p == grouped.c.period_start))
        .cte("pivot")
        .prefix_with("MATERIALIZED", dialect="sqlite")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    env = _PivotEnv(cat, basis, {b: pivot.c[lbl] for b, lbl in labels.items()}, pivot.c.period_days)
    selects = []
    for metric_id, variant in chosen.items():
        own = [pivot.c[labels[b]].is_not(None) for b in cat.base_of(variant) if b in labels]
        if not own:
            continue
        value, num, den = _evaluate(env, variant)
        # The inputs the value really reads (a basis can leave a term out: margin without ad spend).
        read = {id(element) for element in visitors.iterate(value)}
        inputs = [
            labels[b] for b in sorted(cat.base_of(variant)) if b in counted and id(pivot.c[labels[b]]) in read
        ]
        value, coverage, reason, rows, known = _with_coverage(
            fc, pivot, inputs, {labels[b]: b for b in counted}, value
        )
        unit, currency = _unit_currency(fc, metric_id)
        selects.append(
            sa.select(
                _TENANT.label("tenant_id"),
                sa.cast(sa.literal(metric_id), sa.String(64)).label("metric_id"),
                sa.cast(sa.literal(grain), sa.String(8)).label("grain"),
                pivot.c.period_start,
                sa.cast(sa.literal(scope_type), sa.String(16)).label("scope_type"),
                pivot.c.scope_id,
                pivot.c.platform,
                pivot.c.shop_id,
                value.label("value"),
                _published(num).label("numerator"),
                _published(den).label("denominator"),
                sa.cast(sa.literal(unit), sa.String(16)).label("unit"),
                sa.cast(sa.literal(currency), sa.String(3)).label("currency"),
                _BASIS_VERSION.label("basis_version"),
                _COMPUTED_AT.label("computed_at"),
                sa.cast(sa.literal(CONTRACT_VERSION), sa.String(8)).label("contract_version"),
                coverage.label("coverage"),
                reason.label("unknown_reason"),
                rows.label("input_rows"),
                known.label("known_rows"),
            ).where(sa.or_(*own))
        )
    if not selects:
        return None
    return sa.union_all(*selects) if len(selects) > 1 else selects[0]


def _published(value: Any) -> Any:
    return sa.cast(sa.null(), ExactValue()) if value is None else value


_COVERAGE_DENOMINATOR = 1_000_000
"""The tenant's threshold is compared in whole millionths: exact on every store."""


def _with_coverage(
    fc: FactContext, pivot: Any, inputs: Sequence[str], names: dict[str, str], value: Any
) -> tuple[Any, Any, Any, Any, Any]:
    """(value, coverage, unknown reason, input rows, known rows) of a fact from its inputs'
    row counts.

    Coverage is the share of the input rows (of every measure the value is computed from)
    whose inputs were all known. Below the tenant's ``min_coverage`` the value is published
    as unknown (NULL), with the reason naming the inputs and how many rows were unknown;
    ``kpihub check`` says which rows and how to complete them.
    """
    if not inputs:
        return value, sa.cast(sa.null(), ExactValue()), sa.cast(sa.null(), sa.Text()), _NO_ROWS, _NO_ROWS
    rows: Any = sa.func.coalesce(pivot.c[f"r{inputs[0]}"], 0)
    known: Any = sa.func.coalesce(pivot.c[f"k{inputs[0]}"], 0)
    for i in inputs[1:]:
        rows = rows + sa.func.coalesce(pivot.c[f"r{i}"], 0)
        known = known + sa.func.coalesce(pivot.c[f"k{i}"], 0)
    threshold = round(fc.basis.min_coverage * _COVERAGE_DENOMINATOR)
    short = sa.and_(rows > 0, known * _COVERAGE_DENOMINATOR < rows * threshold)
    what = ", ".join(names[i] for i in inputs)
    reason = sa.case(
        (
            short,
            sa.literal(f"coverage below {fc.basis.min_coverage:g}: ")
            + sa.cast(rows - known, sa.String(20))
            + sa.literal(" of ")
            + sa.cast(rows, sa.String(20))
            + sa.literal(f" input rows unknown ({what}); see `kpihub check`"),
        ),
        else_=sa.cast(sa.null(), sa.Text()),
    )
    published = sa.case((short, sa.cast(sa.null(), ExactValue())), else_=value)
    return published, _coverage(rows, known), reason, rows, known


def _coverage(rows: Any, known: Any) -> Any:
    return sa.case((rows > 0, exact_div(known, rows)), else_=sa.cast(sa.null(), ExactValue()))


def _sku_count(
    fc: FactContext,
    scope_type: str,
    grain: str,
    count_id: str,
    periods: Sequence[dt.date] | None,
    sku_measures: Sequence[str],
    basis: dict[str, Any],
) -> Select[Any]:
    cat = fc.catalogue
    refs = sorted(cat.refs(count_id))
    rows = scope_rows(
        fc, scope_type, grain, refs, periods, keep_sku=True, sku_measures=sku_measures
    ).subquery("r")
    labels = {r: f"s{i}" for i, r in enumerate(refs)}
    per_sku = (
        sa.select(
            rows.c.scope_id,
            rows.c.platform,
            rows.c.shop_id,
            rows.c.period_start,
            *[sa.func.sum(sa.case((rows.c.name == r, rows.c.value))).label(lbl) for r, lbl in labels.items()],
        )
        .where(rows.c.sku != "")
        .group_by(rows.c.scope_id, rows.c.platform, rows.c.shop_id, rows.c.period_start, rows.c.sku)
        .subquery("per_sku")
    )
    env = _PivotEnv(cat, basis, {r: per_sku.c[lbl] for r, lbl in labels.items()}, sa.literal(1))
    condition = compile_expr(cat.get(count_id).expression or "", env, basis)
    # Each SKU that meets the condition counts one, as a measure (the pivot's unit).
    if isinstance(condition, bool):
        hit: Any = measure_one() if condition else sa.literal(0)
    else:
        hit = sa.case((condition, measure_one()), else_=sa.literal(0))
    return sa.select(
        per_sku.c.scope_id,
        per_sku.c.platform,
        per_sku.c.shop_id,
        per_sku.c.period_start,
        sa.literal(count_id).label("name"),
        sa.func.sum(hit).label("value"),
        _NO_ROWS.label("input_rows"),
        _NO_ROWS.label("known_rows"),
    ).group_by(per_sku.c.scope_id, per_sku.c.platform, per_sku.c.shop_id, per_sku.c.period_start)


_FACT_COLUMNS = [
    "tenant_id",
    "metric_id",
    "grain",
    "period_start",
    "scope_type",
    "scope_id",
    "platform",
    "shop_id",
    "value",
    "numerator",
    "denominator",
    "unit",
    "currency",
    "basis_version",
    "computed_at",
    "contract_version",
    "coverage",
    "unknown_reason",
    "input_rows",
    "known_rows",
]


def delete_facts(
    conn: Connection,
    tenant_id: int,
    metric_ids: Sequence[str],
    grain: str | None,
    periods: Sequence[dt.date] | None,
) -> None:
    f = kpi_fact
    stmt = f.delete().where(f.c.tenant_id == tenant_id, f.c.metric_id.in_(list(metric_ids)))
    if grain is not None:
        stmt = stmt.where(f.c.grain == grain)
    if periods is not None:
        stmt = stmt.where(f.c.period_start.in_(list(periods)))
    conn.execute(stmt)


def insert_facts(
    conn: Connection,
    fc: FactContext,
    scope_type: str,
    grain: str,
    metric_ids: Sequence[str],
    periods: Sequence[dt.date] | None,
) -> int:

    def build() -> Any:
        select = facts_select(fc, scope_type, grain, metric_ids, periods)
        return None if select is None else kpi_fact.insert().from_select(_FACT_COLUMNS, select)

    key = ("facts", scope_type, grain, tuple(metric_ids), periods is None)
    statement = _memoized(key, fc, build)
    return 0 if statement is None else _run(conn, statement, _params(fc, grain, periods))


class _PeriodEnv:
    """``m``, ``previous(m)`` and ``year_ago(m)`` over kpi_fact rows of one published metric."""

    def __init__(self, basis: dict[str, Any], base: str, cur: Any, prev: Any, year: Any) -> None:
        self.basis, self.base, self.cur, self.prev, self.year = basis, base, cur, prev, year
        self.earlier: list[Any] = []
        """The earlier periods' rows the expression reads."""

    def name(self, name: str) -> Any:
        if name != self.base:
            raise ConfigError(f"only {self.base!r} can be used here, not {name!r}")
        return published_measure(self.cur.c.value)

    def attr(self, base: str, attr: str) -> Any:
        raise ConfigError(f"{base}.{attr} is not available here")

    def call(self, func: str, args: Sequence[ast.expr], compile_arg: Callable[[ast.expr], Any]) -> Any:
        if len(args) != 1 or not isinstance(args[0], ast.Name) or args[0].id != self.base:
            raise ConfigError(f"{func}() takes the one metric the expression is about")
        if func == "previous":
            return self._read(self.prev)
        if func == "year_ago":
            return self._read(self.year)
        raise ConfigError(f"unknown function {func}(); use previous(metric) or year_ago(metric)")

    def _read(self, other: Any) -> Any:
        if all(other is not seen for seen in self.earlier):
            self.earlier.append(other)
        return published_measure(other.c.value)


_EARLIER = {"prev": "previous", "yago": "year-earlier"}


def _earlier_reason(cur: Any, earlier: Sequence[Any]) -> Any:
    """The current period's unknown reason, else that of an earlier period the value reads:
    a growth over an unknown period is unknown too, never read as 'no earlier period'."""
    reasons: list[Any] = [cur.c.unknown_reason]
    for other in earlier:
        reasons.append(
            sa.case(
                (
                    other.c.unknown_reason.is_not(None),
                    sa.literal(f"the {_EARLIER[other.name]} period is unknown: ") + other.c.unknown_reason,
                )
            )
        )
    return sa.func.coalesce(*reasons) if len(reasons) > 1 else reasons[0]


def insert_period_derived(
    conn: Connection, fc: FactContext, metric_id: str, grain: str, periods: Sequence[dt.date] | None
) -> int:
    """Rows of a previous()/year_ago() metric, from the base metric's kpi_fact rows."""
    key = ("period_derived", metric_id, grain, periods is None)
    statement = _memoized(key, fc, lambda: _period_derived_insert(fc, metric_id, grain, periods))
    return _run(conn, statement, _params(fc, grain, periods))


def _period_derived_insert(
    fc: FactContext, metric_id: str, grain: str, periods: Sequence[dt.date] | None
) -> Any:
    d = fc.catalogue.get(metric_id)
    base = next(iter(fc.catalogue.refs(metric_id)))
    cur, prev, year = kpi_fact.alias("cur"), kpi_fact.alias("prev"), kpi_fact.alias("yago")
    dd, dp, dy = dim_date.alias("dd"), dim_date.alias("dp"), dim_date.alias("dy")
    bucket = GRAIN_COLUMN[grain]

    def same(other: Any, start: Any) -> Any:
        return sa.and_(
            other.c.tenant_id == cur.c.tenant_id,
            other.c.metric_id == base,
            other.c.grain == grain,
            other.c.scope_type == cur.c.scope_type,
            other.c.scope_id == cur.c.scope_id,
            other.c.period_start == start,
        )

    from_ = (
        cur.join(dd, dd.c.date == cur.c.period_start)
        .outerjoin(dp, dp.c.date == dd.c.prev_day)
        .outerjoin(dy, dy.c.date == dd.c.year_ago)
        .outerjoin(prev, same(prev, dp.c[bucket]))
        .outerjoin(year, same(year, dy.c[bucket]))
    )
    env = _PeriodEnv(fc.basis.model_dump(), base, cur, prev, year)
    text = d.expression or ""
    split = _split(text)
    if split:
        num = sql_value(compile_expr(split[0], env, env.basis))
        den = sql_value(compile_expr(split[1], env, env.basis))
        value: Any = exact_div(num, den)
        num, den = publish(num), publish(den)
    else:
        value, num, den = publish(sql_value(compile_expr(text, env, env.basis))), None, None
    unit, currency = _unit_currency(fc, metric_id)
    rows: Any = cur.c.input_rows
    known: Any = cur.c.known_rows
    for other in env.earlier:
        rows = rows + sa.func.coalesce(other.c.input_rows, 0)
        known = known + sa.func.coalesce(other.c.known_rows, 0)
    where = [cur.c.tenant_id == _TENANT, cur.c.metric_id == base, cur.c.grain == grain]
    if periods is not None:
        where.append(cur.c.period_start.in_(_PERIODS))
    select = (
        sa.select(
            cur.c.tenant_id,
            sa.literal(metric_id),
            cur.c.grain,
            cur.c.period_start,
            cur.c.scope_type,
            cur.c.scope_id,
            cur.c.platform,
            cur.c.shop_id,
            value,
            _published(num),
            _published(den),
            sa.literal(unit),
            sa.cast(sa.literal(currency), sa.String(3)),
            _BASIS_VERSION,
            _COMPUTED_AT,
            sa.literal(CONTRACT_VERSION),
            # Coverage over both periods' rows; unknown when either period is, and then why.
            _coverage(rows, known),
            _earlier_reason(cur, env.earlier),
            rows,
            known,
        )
        .select_from(from_)
        .where(*where)
    )
    return kpi_fact.insert().from_select(_FACT_COLUMNS, select)
