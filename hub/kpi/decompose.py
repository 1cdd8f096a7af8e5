"""Top-down decomposition of a target, and the roll-up check that the parts add up.

A target (usually the company's quarter) is split level by level: teams, people, shops, and
each shop's categories (see ``org.py`` for where the tree comes from). Each level is split
either by explicit ``weights`` or by each part's share of the ``previous_share`` period's
actual value. Splits are exact to the cent: the parts are rounded down to cents and the cents
left over go to the parts with the largest remainders, so they always sum to the parent.

A child someone set by hand (``source`` = set) is kept: its value is taken off the parent
first and only the rest is split among its siblings. Different targets for new and mature
shops: with explicit weights, ``@new`` / ``@mature`` give the weight of every shop in that
phase that has no weight of its own; by previous share, a part with no history gets the
average share of its siblings that have one, and a new shop gets that average times
``new_shop_factor`` whatever its own history: a shop launched weeks before the period has
only a ramp-up's sales to go by, and a target from those is one it beats many times over.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import Connection, delete, tuple_

from sdk import ConfigError

from ..connections import audit
from ..store import Store
from ..store.management_tables import kpi_target
from .org import LEVELS, OrgTree, category_scope, load_org, prior_category_values
from .target_periods import parse_period, period_end, period_label, previous_period
from .targets import (
    Target,
    actual_for,
    check_amount,
    fact_values,
    known_tenant_id,
    load_targets,
    tenant_id,
    write_targets,
)

__all__ = ["METHODS", "Decomposition", "RollupGap", "decompose", "rollup_check", "split_exact"]

METHODS = ("weights", "previous_share")


def split_exact(
    total: Decimal, weights: Mapping[str, Decimal | int | float], *, places: int = 2
) -> dict[str, Decimal]:
    """Split ``total`` in proportion to ``weights``, in units of 10^-places, summing exactly.

    Largest-remainder rounding: every part is rounded down, then the units left over go one
    each to the parts with the largest remainders (ties to the earlier key), so the parts add
    up to ``total`` and each is less than one unit from its exact share.
    """
    quantum = Decimal(1).scaleb(-places)
    if total != total.quantize(quantum):
        raise ConfigError(f"{total} has more than {places} decimals and cannot be split into whole units")
    if not weights:
        raise ConfigError("nothing to split the target into")
    exact_weights = {k: Fraction(Decimal(str(w))) for k, w in weights.items()}
    if any(w < 0 for w in exact_weights.values()):
        raise ConfigError(
            f"weights must not be negative: {', '.join(k for k, w in exact_weights.items() if w < 0)}"
        )
    whole = sum(exact_weights.values())
    if whole == 0:
        raise ConfigError(
            f"the weights of {', '.join(weights)} add up to 0; give at least one a positive weight"
        )
    units = int(total / quantum)
    exact = {k: units * w / whole for k, w in exact_weights.items()}
    parts = {k: math.floor(v) for k, v in exact.items()}
    left = units - sum(parts.values())
    order = {k: i for i, k in enumerate(weights)}
    for key in sorted(exact, key=lambda k: (-(exact[k] - parts[k]), order[k]))[:left]:
        parts[key] += 1
    return {k: Decimal(v) * quantum for k, v in parts.items()}


@dataclass
class Decomposition:
    """The targets a decomposition wrote, and notes on what it had to decide or leave out."""

    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    metric_id: str
    grain: str
    start: dt.date
    levels: tuple[str, ...]
    methods: dict[str, str]
    weights: Mapping[str, Mapping[str, Decimal | int | float]]
    new_shop_factor: Decimal
    places: int
    org: OrgTree
    existing: dict[tuple[str, str], Target]
    history: dict[tuple[str, str], float | None]
    categories: dict[str, dict[str, Decimal]]
    result: Decomposition = field(default_factory=Decomposition)
    fixed: list[Target] = field(default_factory=list)


def _children(plan: _Plan, scope_type: str, scope_id: str) -> tuple[str, list[str]] | None:
    below = plan.org.children(scope_type, scope_id)
    if below is None and scope_type == "shop":
        if plan.methods.get("category") == "weights":
            prefix = scope_id + "/"
            ids = [k for k in plan.weights.get("category", {}) if k.startswith(prefix)]
        else:
            ids = [category_scope(scope_id, c) for c in sorted(plan.categories.get(scope_id, {}))]
        below = ("category", ids)
    if below is None or below[0] not in plan.levels:
        return None
    return below


def _explicit_weights(
    plan: _Plan, level: str, ids: list[str], parent: str
) -> dict[str, Decimal | int | float]:
    given = plan.weights.get(level, {})
    chosen: dict[str, Decimal | int | float] = {}
    missing = []
    for child in ids:
        phase_key = f"@{plan.org.phases.get(child)}" if level == "shop" else None
        if child in given:
            chosen[child] = given[child]
        elif phase_key is not None and phase_key in given:
            chosen[child] = given[phase_key]
        else:
            missing.append(child)
    if missing:
        raise ConfigError(
            f"no {level} weight for {', '.join(missing)} (under {parent}); add them to the weights"
        )
    return chosen


def _history_weights(
    plan: _Plan, level: str, ids: list[str], parent: str
) -> dict[str, Decimal | int | float]:
    if level == "category":
        shop = parent
        values = {c: plan.categories.get(shop, {}).get(c.removeprefix(shop + "/")) for c in ids}
    else:
        values = {c: _decimal(actual_for(plan.history, level, c)) for c in ids}
    new = {c for c in ids if level == "shop" and plan.org.phases.get(c) == "new"}
    # The siblings a share can be read from: a new shop's short history is no measure of its period.
    known = [v for c, v in values.items() if c not in new and v is not None and v > 0]
    average = sum(known, Decimal(0)) / len(known) if known else Decimal(1)
    chosen: dict[str, Decimal | int | float] = {}
    for child, value in values.items():
        if child in new:
            chosen[child] = average * plan.new_shop_factor
            had = "no previous value" if value is None or value <= 0 else f"a previous value of {value}"
            plan.result.notes.append(
                f"{level} {child} is a new shop ({had}); given the average share of its siblings "
                f"x{plan.new_shop_factor}"
            )
        elif value is not None and value > 0:
            chosen[child] = value
        else:
            chosen[child] = average
            plan.result.notes.append(
                f"{level} {child} had no previous value; given the average share of its siblings"
            )
    return chosen


def _decimal(value: float | Decimal | None) -> Decimal | None:
    if value is None or isinstance(value, Decimal):  # kpi_fact values are exact decimals
        return value
    return Decimal(repr(value))


def _split(plan: _Plan, parent: Target) -> None:
    below = _children(plan, parent.scope_type, parent.scope_id)
    if below is None:
        return
    level, ids = below
    where = f"{parent.scope_type} {parent.scope_id}"
    if not ids:
        plan.result.notes.append(
            f"{where} has no {level} under it in the period; its target is not split further"
        )
        return
    fixed = {c: plan.existing[(level, c)] for c in ids if (level, c) in plan.existing}
    free = [c for c in ids if c not in fixed]
    remaining = parent.target_value - sum((t.target_value for t in fixed.values()), Decimal(0))
    if remaining < 0:
        raise ConfigError(
            f"the {level} targets set by hand under {where} add up to more than its target "
            f"({parent.target_value}); lower them or raise the parent"
        )
    for kept in fixed.values():
        plan.fixed.append(kept)
        _split(plan, kept)
    if not free:
        return
    method = plan.methods.get(level, "previous_share")
    chooser = _explicit_weights if method == "weights" else _history_weights
    weights = chooser(plan, level, free, parent.scope_id)
    values = split_exact(remaining, weights, places=plan.places)
    whole = sum(Decimal(str(w)) for w in weights.values())
    for child in free:
        target = Target(
            metric_id=plan.metric_id,
            grain=plan.grain,
            period_start=plan.start,
            scope_type=level,
            scope_id=child,
            target_value=check_amount(values[child]),
            source="decomposed",
            parent_scope_type=parent.scope_type,
            parent_scope_id=parent.scope_id,
            method=method,
            # Twelve decimals: as precise as anyone reads a share, and exact through Excel.
            share=float(round(Decimal(str(weights[child])) / whole, 12)),
            phase=plan.org.phases.get(child) if level == "shop" else None,
        )
        plan.result.targets.append(target)
        _split(plan, target)


def _descendants(targets: list[Target], root: Target) -> list[Target]:
    by_parent: dict[tuple[str | None, str | None], list[Target]] = {}
    for t in targets:
        by_parent.setdefault((t.parent_scope_type, t.parent_scope_id), []).append(t)
    found, queue = [], [root]
    while queue:
        node = queue.pop()
        for child in by_parent.get((node.scope_type, node.scope_id), []):
            if child.source == "decomposed":
                found.append(child)
                queue.append(child)
    return found


def _checked_weights(
    weights: Mapping[str, Mapping[str, Decimal | int | float]],
) -> dict[str, dict[str, Decimal]]:
    """Weights as exact decimals, or a ``ConfigError`` naming the level and id that are wrong."""
    checked: dict[str, dict[str, Decimal]] = {}
    for level, parts in weights.items():
        if level not in LEVELS[1:] or not isinstance(parts, Mapping):
            raise ConfigError(
                f"weights must map a level ({', '.join(LEVELS[1:])}) to {{scope id: weight}}; got {level!r}"
            )
        checked[level] = {}
        for scope_id, weight in parts.items():
            try:
                value = Decimal(str(weight))
            except ArithmeticError:
                value = Decimal("NaN")
            if isinstance(weight, bool) or not value.is_finite() or value < 0:
                raise ConfigError(f"the {level} weight of {scope_id} must be a number, zero or more")
            checked[level][str(scope_id)] = value
    return checked


def decompose(
    store: Store,
    *,
    metric_id: str,
    grain: str,
    period: str | dt.date,
    scope_type: str = "tenant",
    scope_id: str = "default",
    tenant: str = "default",
    down_to: str = "category",
    method: str | Mapping[str, str] = "previous_share",
    weights: Mapping[str, Mapping[str, Decimal | int | float]] | None = None,
    new_shop_days: int | None = None,
    new_shop_factor: Decimal | float = Decimal("0.5"),
    places: int = 2,
    actor: str = "cli",
) -> Decomposition:
    """Split the target of (metric, grain, period, scope) down to ``down_to``, replacing any
    earlier decomposition below it; hand-set targets under it are kept. One transaction,
    audited; on any error nothing changes.

    ``method`` is one method for every level or one per level (``{"team": "weights", ...}``);
    ``weights`` maps a level to ``{scope id: weight}`` (shops may use ``@new`` / ``@mature``).
    """
    start = parse_period(grain, period)
    if (
        scope_type not in LEVELS[:-1]
        or down_to not in LEVELS
        or LEVELS.index(down_to) <= LEVELS.index(scope_type)
    ):
        raise ConfigError(
            f"decompose from one of {', '.join(LEVELS[:-1])} down to a level below it "
            f"(got {scope_type} down to {down_to})"
        )
    levels = LEVELS[LEVELS.index(scope_type) + 1 : LEVELS.index(down_to) + 1]
    methods = (
        dict.fromkeys(levels, method)
        if isinstance(method, str)
        else {**dict.fromkeys(levels, "previous_share"), **method}
    )
    bad = {lvl: m for lvl, m in methods.items() if m not in METHODS or lvl not in levels}
    if bad:
        raise ConfigError(
            f"methods must be {' or '.join(METHODS)} for the levels {', '.join(levels)}; got {bad}"
        )
    weights = _checked_weights(weights or {})
    with store.begin() as conn:
        # Created only to look in; rolled back with everything else when there is no target.
        tid = tenant_id(conn, tenant, create=True)
        everything = load_targets(conn, tid, metric_id=metric_id, grain=grain, period_start=start)
        root = next((t for t in everything if (t.scope_type, t.scope_id) == (scope_type, scope_id)), None)
        if root is None:
            raise ConfigError(
                f"no {metric_id} target for {scope_type} {scope_id} in {period_label(grain, start)}; "
                "set it first with `kpihub targets set`"
            )
        plan = _plan(
            conn,
            tid,
            metric_id,
            grain,
            start,
            levels,
            methods,
            weights,
            Decimal(str(new_shop_factor)),
            places,
            new_shop_days,
        )
        plan.existing = {
            (t.scope_type, t.scope_id): t
            for t in everything
            if t.source == "set" and (t.scope_type, t.scope_id) != (scope_type, scope_id)
        }
        _split(plan, root)
        stale_keys = {
            (t.scope_type, t.scope_id) for node in (root, *plan.fixed) for t in _descendants(everything, node)
        }
        _replace(conn, tid, metric_id, grain, start, stale_keys, plan.result.targets, actor)
        audit(
            conn,
            actor=actor,
            action="target.decompose",
            target="/".join(str(p) for p in root.key),
            detail={"down_to": down_to, "methods": methods, "targets": len(plan.result.targets)},
            tenant_id=tid,
        )
    plan.result.notes[:0] = plan.org.notes
    return plan.result


def _plan(
    conn: Connection,
    tid: int,
    metric_id: str,
    grain: str,
    start: dt.date,
    levels: tuple[str, ...],
    methods: dict[str, str],
    weights: Mapping[str, Mapping[str, Decimal | int | float]],
    new_shop_factor: Decimal,
    places: int,
    new_shop_days: int | None,
) -> _Plan:
    end = period_end(grain, start)
    before = previous_period(grain, start)
    needs_history = "previous_share" in methods.values()
    measure = "quantity" if metric_id == "units" else "amount"
    return _Plan(
        metric_id=metric_id,
        grain=grain,
        start=start,
        levels=levels,
        methods=methods,
        weights=weights,
        new_shop_factor=new_shop_factor,
        places=places,
        org=load_org(conn, tid, start, end, new_shop_days=new_shop_days),
        existing={},
        history=fact_values(conn, tid, metric_id, grain, before) if needs_history else {},
        categories=prior_category_values(conn, tid, before, start, measure=measure)
        if "category" in levels
        else {},
    )


def _replace(
    conn: Connection,
    tid: int,
    metric_id: str,
    grain: str,
    start: dt.date,
    stale: set[tuple[str, str]],
    fresh: list[Target],
    actor: str,
) -> None:
    gone = stale - {(t.scope_type, t.scope_id) for t in fresh}
    if gone:
        conn.execute(
            delete(kpi_target).where(
                kpi_target.c.tenant_id == tid,
                kpi_target.c.metric_id == metric_id,
                kpi_target.c.grain == grain,
                kpi_target.c.period_start == start,
                tuple_(kpi_target.c.scope_type, kpi_target.c.scope_id).in_(sorted(gone)),
            )
        )
    write_targets(conn, tid, fresh, actor=actor)


@dataclass(frozen=True)
class RollupGap:
    """A target whose parts do not add up to it."""

    scope_type: str
    scope_id: str
    target_value: Decimal
    parts_total: Decimal
    parts: int
    missing: tuple[str, ...] = ()

    @property
    def difference(self) -> Decimal:
        return self.parts_total - self.target_value

    def describe(self) -> str:
        text = (
            f"{self.scope_type} {self.scope_id}: target {self.target_value}, its {self.parts} parts "
            f"add up to {self.parts_total} (difference {self.difference:+})"
        )
        if self.missing:
            text += f"; no target for {', '.join(self.missing)}"
        return text


def rollup_check(
    store: Store,
    *,
    metric_id: str,
    grain: str,
    period: str | dt.date,
    tenant: str = "default",
    new_shop_days: int | None = None,
) -> list[RollupGap]:
    """Every target whose parts (its decomposed children, or the targets of the scopes under
    it in the organisation) do not add up to it exactly. An empty list means all is consistent.
    """
    start = parse_period(grain, period)
    with store.begin() as conn:
        tid = known_tenant_id(conn, tenant)
        if tid is None:
            return []
        targets = load_targets(conn, tid, metric_id=metric_id, grain=grain, period_start=start)
        org = load_org(conn, tid, start, period_end(grain, start), new_shop_days=new_shop_days)
    by_key = {(t.scope_type, t.scope_id): t for t in targets}
    by_parent: dict[tuple[str | None, str | None], set[tuple[str, str]]] = {}
    for t in targets:
        by_parent.setdefault((t.parent_scope_type, t.parent_scope_id), set()).add((t.scope_type, t.scope_id))
    gaps = []
    for parent in targets:
        linked = by_parent.get((parent.scope_type, parent.scope_id), set())
        below = org.children(parent.scope_type, parent.scope_id)
        expected = {(below[0], c) for c in below[1]} if below else set()
        present = linked | {k for k in expected if k in by_key}
        if not present:
            continue
        missing = tuple(sorted(c for lvl, c in expected if (lvl, c) not in by_key))
        total = sum((by_key[k].target_value for k in present), Decimal(0))
        if total != parent.target_value or missing:
            gaps.append(
                RollupGap(
                    parent.scope_type, parent.scope_id, parent.target_value, total, len(present), missing
                )
            )
    return gaps
