"""Measures: each simple metric aggregated per shop (and SKU) and local day, then per period.

The daily rows are computed from the standard tables with one ``INSERT … SELECT`` per measure,
so fact rows never leave the database. Weeks and months are summed from days, quarters from
months and years from quarters, which keeps an incremental recompute small: a changed day
re-reads only that day's source rows and re-sums only the periods above it. Medians cannot be
summed, so their measure keeps one sample per source row (per day) instead.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from sdk import ConfigError, MetricDefinition

from ..store.kpi_tables import dim_date, kpi_measures
from ..store.tables import of_its_order, standard_tables
from ..store.types import UtcDateTime
from .basis import CountingBasis
from .exactsql import fine_of, fx_convert, measure_of_fine, measure_one, month_average
from .expr import compile_expr, is_sql, parse, sql_value
from .periods import period_end
from .sqlfuncs import local_day, seconds_between, utc_offset

__all__ = [
    "GRAIN_COLUMN",
    "NO_SHOP",
    "ROLLUP_FROM",
    "MeasureContext",
    "build_days",
    "roll_up",
    "touched_partitions",
]

GRAIN_COLUMN = {"day": "date", "week": "week", "month": "month", "quarter": "quarter", "year": "year_start"}
"""The ``dim_date`` column holding the start of a day's period at each grain."""

ROLLUP_FROM = {"week": "day", "month": "day", "quarter": "month", "year": "quarter"}
"""Each grain's measures are sums of the next finer grain that nests in it."""

NO_SHOP = "-"


@dataclass(frozen=True)
class MeasureContext:
    """What compiling a measure needs to know about the tenant."""

    tenant_id: int
    base_currency: str
    basis: CountingBasis
    zones: frozenset[str]


@dataclass(frozen=True)
class Restriction:
    """Recompute only these shops and days (both ``None``: everything)."""

    shops: frozenset[str] | None = None
    days: frozenset[dt.date] | None = None
    per_sku: bool = True
    """False when no requested scope cuts by SKU: SKU-level measures are then kept per shop only."""


class _RowEnv:
    """Names in a simple metric's expressions: the table's columns, order.*, cost.*."""

    def __init__(self, metric_id: str, table: Any, order: Any) -> None:
        self.metric_id = metric_id
        self.table = table
        self.order = order
        self.day: ColumnElement[Any] | None = None
        self.cost_table = standard_tables["sku_costs"].alias("cost")
        self.tenant_id = 0

    def name(self, name: str) -> Any:
        if name not in self.table.c:
            raise ConfigError(f"metric {self.metric_id!r}: table {self.table.name!r} has no column {name!r}")
        return self.table.c[name]

    def attr(self, base: str, attr: str) -> Any:
        if base == "order" and self.order is not None:
            if attr not in self.order.c:
                raise ConfigError(f"metric {self.metric_id!r}: orders have no column {attr!r}")
            return self.order.c[attr]
        if base == "cost" and attr in ("unit_cost", "currency"):
            return self._cost(attr)
        raise ConfigError(f"metric {self.metric_id!r}: unknown reference {base}.{attr}")

    def _cost(self, attr: str) -> ColumnElement[Any]:
        if "sku" not in self.table.c or self.day is None:
            raise ConfigError(f"metric {self.metric_id!r}: cost.* needs a table with a sku column")
        c = self.cost_table
        value = c.c.purchase_cost + c.c.first_leg_cost if attr == "unit_cost" else c.c.currency
        return (
            sa.select(value)
            .where(c.c.tenant_id == self.tenant_id, c.c.sku == self.table.c.sku, c.c.valid_from <= self.day)
            .order_by(c.c.valid_from.desc())
            .limit(1)
            .correlate_except(c)
            .scalar_subquery()
        )

    def call(self, func: str, args: Sequence[ast.expr], compile_arg: Callable[[ast.expr], Any]) -> Any:
        scale = {"seconds_between": 1.0, "minutes_between": 60.0, "hours_between": 3600.0}.get(func)
        if scale is None or len(args) != 2:
            raise ConfigError(
                f"metric {self.metric_id!r}: unknown function {func}(); row expressions offer "
                "seconds_between(a, b), minutes_between(a, b) and hours_between(a, b)"
            )
        a, b = (compile_arg(arg) for arg in args)
        return seconds_between(a, b) / scale


def _uses_order(d: MetricDefinition) -> bool:
    for text in (d.column, d.where, d.date, d.currency):
        if text and any(
            isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "order"
            for n in ast.walk(parse(text))
        ):
            return True
    return False


@dataclass
class _Source:
    """A measure's FROM clause and its per-row day, shop key and SKU."""

    table: Any
    order: Any
    from_: Any
    day: ColumnElement[Any]
    raw_date: ColumnElement[Any]
    shop_key: ColumnElement[Any]
    shop_columns: Sequence[ColumnElement[Any]]
    """(platform, shop_id) when the table has them: scans group on these, not on the key."""
    shop_nullable: bool
    env: _RowEnv


def _source(metric_id: str, d: MetricDefinition, ctx: MeasureContext, *, with_order: bool = False) -> _Source:
    assert d.table and d.date
    table = standard_tables[d.table].alias("src")
    order = standard_tables["orders"].alias("ord") if with_order or _uses_order(d) else None
    from_: Any = table
    if order is not None:
        # Order lines count only through their order (status, date), so an inner join loses
        # nothing and lets the database start from the orders of the days asked for; a refund
        # may be dated by itself when its order is missing, so it keeps an outer join.
        from_ = from_.join(order, of_its_order(order, table), isouter=d.table != "order_items")
    env = _RowEnv(metric_id, table, order)
    env.tenant_id = ctx.tenant_id
    raw = compile_expr(d.date, env, ctx.basis.model_dump())
    if not is_sql(raw):
        raise ConfigError(f"metric {metric_id!r}: date must name a date or timestamp column")
    has_shop = "platform" in table.c and "shop_id" in table.c
    if isinstance(raw.type, UtcDateTime | sa.DateTime):
        if ctx.basis.day_boundary == "tenant" or not has_shop:
            offset = utc_offset(raw, ctx.basis.tenant_timezone, set())
        else:
            shops = standard_tables["shops"].alias("shop")
            from_ = from_.outerjoin(
                shops,
                sa.and_(
                    shops.c.tenant_id == table.c.tenant_id,
                    shops.c.platform == table.c.platform,
                    shops.c.shop_id == table.c.shop_id,
                ),
            )
            offset = utc_offset(raw, shops.c.timezone, set(ctx.zones))
        day: ColumnElement[Any] = local_day(raw, offset)
    else:
        day = raw
    env.day = day
    shop_columns = [table.c.platform, table.c.shop_id] if has_shop else []
    nullable = has_shop and bool(table.c.platform.nullable or table.c.shop_id.nullable)
    shop_key = _shop_key(shop_columns, nullable)
    return _Source(table, order, from_, day, raw, shop_key, shop_columns, nullable, env)


def _shop_key(columns: Sequence[ColumnElement[Any]], nullable: bool) -> ColumnElement[Any]:
    """``platform:shop_id`` from the two columns, ``NO_SHOP`` when either is missing."""
    if not columns:
        return sa.literal(NO_SHOP)
    platform, shop_id = columns
    key = platform + ":" + shop_id
    if not nullable:
        return key
    return sa.case((sa.or_(platform.is_(None), shop_id.is_(None)), NO_SHOP), else_=key)


def _fx(ctx: MeasureContext, currency: ColumnElement[Any], day: ColumnElement[Any]) -> ColumnElement[Any]:
    """The rate from ``currency`` into the base currency for ``day`` (NULL when none is known)."""
    fx = standard_tables["fx_rates"].alias("fx")
    conditions = [
        fx.c.tenant_id == ctx.tenant_id,
        fx.c.currency == currency,
        fx.c.base_currency == ctx.base_currency,
    ]
    if ctx.basis.fx_rate == "day":
        rate = (
            sa.select(fx.c.rate)
            .where(*conditions, fx.c.date == day)
            .limit(1)
            .correlate_except(fx)
            .scalar_subquery()
        )
    else:
        dd, own = dim_date.alias("fxd"), dim_date.alias("own")
        month = sa.select(own.c.month).where(own.c.date == day).correlate_except(own).scalar_subquery()
        rate = (
            sa.select(month_average(fx.c.rate))
            .select_from(fx.join(dd, dd.c.date == fx.c.date))
            .where(*conditions, dd.c.month == month)
            .correlate_except(fx, dd)
            .scalar_subquery()
        )
    # Exactly 1 in the base currency; NULL (unknown, never 0) where no rate is known.
    return sa.case((currency == ctx.base_currency, sa.literal(1)), else_=rate)


def _filters(
    metric_id: str, d: MetricDefinition, src: _Source, ctx: MeasureContext
) -> dict[tuple[str, ...], Any]:
    """The measure's own row conditions, keyed by their source so that scans can tell which
    conditions several measures share."""
    conditions: dict[tuple[str, ...], Any] = {}
    for column, wanted in d.filters.items():
        if column not in src.table.c:
            raise ConfigError(f"metric {metric_id!r}: filter on unknown column {column!r}")
        col = src.table.c[column]
        condition = col.in_(wanted) if isinstance(wanted, list) else col == wanted
        conditions[("filter", column, repr(wanted))] = condition
    if d.where:
        where = compile_expr(d.where, src.env, ctx.basis.model_dump())
        if not is_sql(where):
            if not where:
                conditions[("false",)] = sa.false()
        else:
            conditions[("where", d.where)] = where
    return conditions


def _known(metric_id: str, d: MetricDefinition, src: _Source, ctx: MeasureContext) -> Any:
    """The measure's own condition for a row's inputs to be complete (``known``), or None."""
    if not d.known:
        return None
    known = compile_expr(d.known, src.env, ctx.basis.model_dump())
    if not is_sql(known):
        return None if known else sa.false()
    return known


def _base_conditions(src: _Source, ctx: MeasureContext) -> list[Any]:
    # The local day is NULL exactly when its timestamp is (offsets are never NULL); testing the
    # stored column spares the database a second evaluation of the offset per row.
    return [src.table.c.tenant_id == ctx.tenant_id, src.raw_date.is_not(None)]


def _restrict(src: _Source, restriction: Restriction) -> list[Any]:
    conditions: list[Any] = []
    if restriction.days is not None:
        days = sorted(restriction.days)
        conditions.append(src.day.in_(days))
        # A range on the stored column lets an index find the rows; ±14 h covers every zone.
        if isinstance(src.raw_date.type, UtcDateTime | sa.DateTime):
            start = dt.datetime.combine(days[0], dt.time(), dt.UTC) - dt.timedelta(hours=15)
            end = dt.datetime.combine(days[-1], dt.time(), dt.UTC) + dt.timedelta(hours=39)
            conditions.append(
                src.raw_date.between(sa.literal(start, UtcDateTime()), sa.literal(end, UtcDateTime()))
            )
    if restriction.shops is not None:
        conditions.append(src.shop_key.in_(sorted(restriction.shops)))
    return conditions


def _median_select(
    metric_id: str, d: MetricDefinition, ctx: MeasureContext, restriction: Restriction
) -> Select[Any]:
    """SELECT tenant, measure, 'day', day, shop_key, sample key, value: one row per source row.

    Medians cannot be summed, so the measure keeps every sample, keyed by its record."""
    src = _source(metric_id, d, ctx)
    basis = ctx.basis.model_dump()
    conditions = [
        *_base_conditions(src, ctx),
        *_filters(metric_id, d, src, ctx).values(),
        *_restrict(src, restriction),
    ]
    assert d.column
    fine = fine_of(sql_value(compile_expr(d.column, src.env, basis)))
    if d.amount:
        currency = sql_value(compile_expr(d.currency, src.env, basis))
        raw_value: Any = fx_convert(fine, _fx(ctx, currency, src.day))
    else:
        raw_value = measure_of_fine(fine)
    # A sample is a value: one whose inputs are unknown is no sample (the median is over those known).
    conditions.append(raw_value.is_not(None))
    known = _known(metric_id, d, src, ctx)
    if known is not None:
        conditions.append(known)
    record_key = [c for c in standard_tables[d.table or ""].primary_key.columns if c.name != "tenant_id"]
    keys = [src.table.c[c.name] for c in record_key if c.name not in ("platform", "shop_id")]
    sample: Any = keys[0]
    for extra in keys[1:]:
        sample = sample + "|" + extra
    columns = [
        sa.literal(ctx.tenant_id).label("tenant_id"),
        sa.literal(metric_id).label("measure"),
        sa.literal("day").label("grain"),
        src.day.label("period_start"),
        src.shop_key.label("shop_key"),
        sample.label("sku"),
        raw_value.label("value"),
        sa.literal(1).label("input_rows"),
        sa.literal(1).label("known_rows"),
    ]
    return sa.select(*columns).select_from(src.from_).where(*conditions)


_COLUMNS = [
    "tenant_id",
    "measure",
    "grain",
    "period_start",
    "shop_key",
    "sku",
    "value",
    "input_rows",
    "known_rows",
]


def build_days(
    conn: Connection,
    measures: dict[str, MetricDefinition],
    ctx: MeasureContext,
    restriction: Restriction,
) -> None:
    """Replace the daily measure rows inside ``restriction`` with freshly computed ones."""
    m = kpi_measures
    delete = m.delete().where(
        m.c.tenant_id == ctx.tenant_id, m.c.grain == "day", m.c.measure.in_(list(measures))
    )
    if restriction.days is not None:
        delete = delete.where(m.c.period_start.in_(sorted(restriction.days)))
    if restriction.shops is not None:
        delete = delete.where(m.c.shop_key.in_(sorted(restriction.shops)))
    conn.execute(delete)
    for members in _scan_groups(measures):
        if members[0][1].aggregate == "median":
            select = _median_select(*members[0], ctx, restriction)
        else:
            select = _group_select(members, ctx, restriction)
        if conn.dialect.name == "postgresql":
            _insert_via_stage(conn, select)
        else:
            conn.execute(m.insert().from_select(_COLUMNS, select))


def _insert_via_stage(conn: Connection, select: Select[Any]) -> None:
    """PostgreSQL plans ``INSERT … SELECT`` without parallel workers but ``CREATE TABLE … AS``
    with them; the scan of the order lines is the expensive part, so it goes through a
    temporary table and the (small, aggregated) result is copied into kpi_measures."""
    compiled = select.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE kpi_days_stage ON COMMIT DROP AS {compiled}", compiled.params
    )
    stage = sa.table("kpi_days_stage", *[sa.column(c) for c in _COLUMNS])
    conn.execute(kpi_measures.insert().from_select(_COLUMNS, sa.select(*stage.c)))
    conn.exec_driver_sql("DROP TABLE kpi_days_stage")


def _scan_groups(measures: dict[str, MetricDefinition]) -> list[list[tuple[str, MetricDefinition]]]:
    """Measures read from the same table, dated the same way and at the same level share one scan.

    Distinct counts scan apart: the other measures' amounts are summed per currency (each day's
    total converted once, the exact rule), and a distinct count cannot be added up across the
    currency groups of one day."""
    groups: dict[tuple[str, str, str, str], list[tuple[str, MetricDefinition]]] = {}
    for metric_id, d in measures.items():
        apart = (
            metric_id if d.aggregate == "median" else ("distinct" if d.aggregate == "count_distinct" else "")
        )
        key = (d.table or "", d.date or "", d.level, apart)
        groups.setdefault(key, []).append((metric_id, d))
    # Amounts in different currency columns (a line's and its cost's) scan apart: grouped on
    # both, a day's total in one currency would be cut by the other and rounded in parts.
    scans: list[list[tuple[str, MetricDefinition]]] = []
    for members in groups.values():
        by_currency: dict[str, list[tuple[str, MetricDefinition]]] = {}
        for metric_id, d in members:
            if d.amount:
                by_currency.setdefault(d.currency, []).append((metric_id, d))
        others = [(m, d) for m, d in members if not d.amount]
        parts = list(by_currency.values()) or [[]]
        parts[0] = parts[0] + others
        scans += [part for part in parts if part]
    return scans


def _group_select(
    members: list[tuple[str, MetricDefinition]], ctx: MeasureContext, restriction: Restriction
) -> Select[Any]:
    """One scan computing several summable measures, then one row per measure.

    The scan groups on the stored shop columns and, where amounts are converted, on their
    currency: the exchange rate depends only on the currency and the day, so it is applied once
    per group instead of once per row. Distinct counts cannot be added up across currencies, so
    a scan that has one converts per row. A measure gets a row for a (day, shop, SKU) only
    where at least one source row passed its filters, exactly as when it is computed alone.
    """
    first_id, first = members[0]
    src = _source(first_id, first, ctx, with_order=any(_uses_order(d) for _, d in members))
    basis = ctx.basis.model_dump()
    sku = src.table.c.sku if first.level == "sku" and restriction.per_sku else sa.literal("")
    keys: list[Any] = [src.day.label("day"), sku.label("sku")]
    keys += [c.label(f"s{i}") for i, c in enumerate(src.shop_columns)]
    currencies: dict[str, str] = {}  # currency expression -> its column in the scan
    sums: list[Any] = []
    own = [_filters(metric_id, d, src, ctx) for metric_id, d in members]
    # Conditions every measure has filter the rows before grouping; the rest decide per measure.
    shared = set(own[0]).intersection(*own[1:])
    for i, (metric_id, d) in enumerate(members):
        rest = [condition for key, condition in own[i].items() if key not in shared]
        passed = sa.and_(*rest) if rest else sa.true()
        # A row's inputs are known when its value is not NULL (a cost, a fee that is unknown
        # is NULL) and the measure's own ``known`` condition holds: the rest are left out of
        # the sum and counted, so the value publishes its coverage instead of a silent 0.
        own_known = _known(metric_id, d, src, ctx)
        if d.aggregate == "count":
            known: Any = passed if own_known is None else sa.and_(passed, own_known)
            # Unknown rows are counted as such and left out of the value, as for sums.
            value: Any = sa.func.count(sa.case((known, 1)))
        else:
            assert d.column
            raw = sql_value(compile_expr(d.column, src.env, basis))
            known = sa.and_(passed, raw.is_not(None), *([own_known] if own_known is not None else []))
            if d.amount and d.currency not in currencies:
                currencies[d.currency] = f"c{len(currencies)}"
                currency = sql_value(compile_expr(d.currency, src.env, basis))
                keys.append(currency.label(currencies[d.currency]))
            if d.aggregate == "count_distinct":
                value = sa.func.count(sa.distinct(sa.case((known, raw))))
            else:
                # Summed at eight places, rounded once per day (and currency) to a measure.
                value = sa.func.sum(sa.case((known, fine_of(raw))))
        sums.append(value.label(f"v{i}"))
        sums.append(sa.func.count(sa.case((passed, 1))).label(f"p{i}"))
        sums.append(sa.func.count(sa.case((known, 1))).label(f"k{i}"))
    where = [
        *_base_conditions(src, ctx),
        *[own[0][key] for key in own[0] if key in shared],
        *_restrict(src, restriction),
    ]
    scan = (
        sa.select(*keys, *sums)
        .select_from(src.from_)
        .where(*where)
        .group_by(*[k.element for k in keys])
        .subquery("scan")
    )
    grouped = _per_shop_day(scan, members, currencies, ctx, src)
    columns = {
        "tenant_id": sa.literal(ctx.tenant_id),
        "grain": sa.literal("day"),
        "period_start": grouped.c.day,
        "shop_key": grouped.c.shop_key,
        "sku": grouped.c.sku,
    }
    if len(members) == 1:
        single = {
            **columns,
            "measure": sa.literal(first_id),
            "value": grouped.c.v0,
            "input_rows": grouped.c.p0,
            "known_rows": grouped.c.k0,
        }
        return sa.select(*[single[name].label(name) for name in _COLUMNS]).where(grouped.c.p0 > 0)
    names = [
        sa.select(sa.literal(i).label("k"), sa.literal(mid).label("measure"))
        for i, (mid, _) in enumerate(members)
    ]
    ml = sa.union_all(*names).subquery("ml")
    columns["measure"] = sa.cast(ml.c.measure, sa.String(64))
    columns["value"] = sa.case(*[(ml.c.k == i, grouped.c[f"v{i}"]) for i in range(len(members))])
    columns["input_rows"] = sa.case(*[(ml.c.k == i, grouped.c[f"p{i}"]) for i in range(len(members))])
    columns["known_rows"] = sa.case(*[(ml.c.k == i, grouped.c[f"k{i}"]) for i in range(len(members))])
    return (
        sa.select(*[columns[name].label(name) for name in _COLUMNS])
        .select_from(grouped.join(ml, sa.or_(ml.c.measure == grouped.c.shop_key, ml.c.k.is_not(None))))
        .where(sa.or_(*[sa.and_(ml.c.k == i, grouped.c[f"p{i}"] > 0) for i in range(len(members))]))
    )


def _per_shop_day(
    scan: Any,
    members: list[tuple[str, MetricDefinition]],
    currencies: dict[str, str],
    ctx: MeasureContext,
    src: _Source,
) -> Any:
    """The scan's groups as (day, shop_key, sku, v0, p0, k0, …): exact measures, each day's
    total in a currency converted once at the day's rate (a currency without a rate that day
    leaves its rows unknown), ``p`` the source rows that passed each filter and ``k`` those of
    them whose inputs were all known."""
    shop_key = _shop_key([scan.c[f"s{i}"] for i in range(len(src.shop_columns))], src.shop_nullable)
    values: list[tuple[Any, Any, Any]] = []
    for i, (_, d) in enumerate(members):
        v, p, k = scan.c[f"v{i}"], scan.c[f"p{i}"], scan.c[f"k{i}"]
        if d.aggregate in ("count", "count_distinct"):
            v = v * measure_one()
        elif d.amount:
            rate = _fx(ctx, scan.c[currencies[d.currency]], scan.c.day)
            v = fx_convert(v, rate)
            k = sa.case((rate.is_(None), 0), else_=k)
        else:
            v = measure_of_fine(v)
        values.append((v, p, k))
    keys = [scan.c.day.label("day"), shop_key.label("shop_key"), scan.c.sku.label("sku")]
    if not currencies:
        return sa.select(
            *keys,
            *[sa.func.coalesce(v, 0).label(f"v{i}") for i, (v, _, _) in enumerate(values)],
            *[p.label(f"p{i}") for i, (_, p, _) in enumerate(values)],
            *[k.label(f"k{i}") for i, (_, _, k) in enumerate(values)],
        ).subquery("grouped")
    return (
        sa.select(
            *keys,
            *[sa.func.coalesce(sa.func.sum(v), 0).label(f"v{i}") for i, (v, _, _) in enumerate(values)],
            *[sa.func.sum(p).label(f"p{i}") for i, (_, p, _) in enumerate(values)],
            *[sa.func.sum(k).label(f"k{i}") for i, (_, _, k) in enumerate(values)],
        )
        .group_by(scan.c.day, *[scan.c[f"s{i}"] for i in range(len(src.shop_columns))], scan.c.sku)
        .subquery("grouped")
    )


def roll_up(
    conn: Connection,
    tenant_id: int,
    grain: str,
    measures: list[str],
    periods: Sequence[dt.date] | None,
    shops: frozenset[str] | None,
) -> None:
    """Recompute ``grain`` rows of additive ``measures`` for ``periods`` by summing the finer grain."""
    m, dd = kpi_measures, dim_date
    bucket = dd.c[GRAIN_COLUMN[grain]]
    finer = ROLLUP_FROM[grain]
    delete = m.delete().where(m.c.tenant_id == tenant_id, m.c.grain == grain, m.c.measure.in_(measures))
    where = [m.c.tenant_id == tenant_id, m.c.grain == finer, m.c.measure.in_(measures)]
    if periods is not None:
        delete = delete.where(m.c.period_start.in_(list(periods)))
        where.append(bucket.in_(list(periods)))
        # A range on the key's own column lets the index skip every finer row outside the
        # periods instead of scanning the whole history to find their bucket.
        if periods:
            where += [
                m.c.period_start >= min(periods),
                m.c.period_start <= period_end(grain, max(periods)),
            ]
    if shops is not None:
        delete = delete.where(m.c.shop_key.in_(sorted(shops)))
        where.append(m.c.shop_key.in_(sorted(shops)))
    conn.execute(delete)
    select = (
        sa.select(
            m.c.tenant_id,
            m.c.measure,
            sa.literal(grain).label("grain"),
            bucket.label("period_start"),
            m.c.shop_key,
            m.c.sku,
            sa.func.sum(m.c.value).label("value"),
            sa.func.sum(m.c.input_rows).label("input_rows"),
            sa.func.sum(m.c.known_rows).label("known_rows"),
        )
        .select_from(m.join(dd, dd.c.date == m.c.period_start))
        .where(*where)
        .group_by(m.c.tenant_id, m.c.measure, bucket, m.c.shop_key, m.c.sku)
    )
    conn.execute(m.insert().from_select(_COLUMNS, select))


def _ingested_since(alias: Any, tenant_id: int, since: dt.datetime, dialect: str) -> ColumnElement[bool]:
    """``alias``'s rows ingested after ``since``.

    SQLite gets their keys from a subquery on the table alone: as a plain condition in the join,
    its planner scans every order whenever a history was loaded at once (one ``ingested_at``
    then covers every row, and its statistics say a range on it selects everything). The
    subquery can only use the ``(tenant_id, ingested_at)`` index. PostgreSQL keeps histograms
    and plans the plain condition well, but the subquery badly (a semi-join scanning every row).
    """
    if dialect != "sqlite":
        return cast(ColumnElement[bool], alias.c.ingested_at > since)
    table = alias.element
    key = [c.name for c in table.primary_key.columns if c.name != "tenant_id"]
    fresh = sa.select(*[table.c[name] for name in key]).where(
        table.c.tenant_id == tenant_id, table.c.ingested_at > since
    )
    return sa.tuple_(*[alias.c[name] for name in key]).in_(fresh)


def touched_partitions(
    conn: Connection,
    measures: dict[str, MetricDefinition],
    ctx: MeasureContext,
    since: dt.datetime,
) -> set[tuple[str, dt.date]]:
    """(shop key, local day) of every source row ingested after ``since``, for every measure."""
    found: set[tuple[str, dt.date]] = set()
    seen: set[tuple[str, str]] = set()
    for metric_id, d in measures.items():
        src = _source(metric_id, d, ctx)
        key = (d.table or "", d.date or "")
        if key in seen:
            continue
        seen.add(key)
        # One query per table's ingested_at (not an OR) so each can use its index.
        dialect = conn.dialect.name
        fresh = [_ingested_since(src.table, ctx.tenant_id, since, dialect)]
        if src.order is not None:
            fresh.append(_ingested_since(src.order, ctx.tenant_id, since, dialect))
        for condition in fresh:
            stmt = (
                sa.select(src.shop_key, src.day)
                .select_from(src.from_)
                .where(*_base_conditions(src, ctx), condition)
                .distinct()
            )
            for shop_key, day in conn.execute(stmt):
                found.add((shop_key, day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))))
    return found
