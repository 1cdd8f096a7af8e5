"""An incremental compute always ends where a full compute does, whatever the syncs changed.

A test platform (``movingshop``, in tests/fixtures) holds raw records the test edits step by
step: orders with their lines, refunds, shipments and reviews, in three shops in three time
zones and three currencies, plus shops, FX rates and SKU costs. Every change reaches the
standard tables through the hub's real path (``sync_connection``, ``remap_connection``), so
the rows that *move* — an order restated to another day or shop, a shipment whose ship time
moves, a review re-dated, a line dropped, a record quarantined, a mapping that reads another
date field — are recorded (or not) by the landing exactly as in production.

The property: after any history of syncs and incremental computes, the tenant's ``kpi_fact``
equals, in every column but ``computed_at``, what a full compute gives on the same data.
Hypothesis draws the histories: a twin tenant fed the same records by its own connection is
computed in full after every step and compared with the incremental tenant; at the end, the
incremental tenant itself is computed in full and compared with what it had. The explicit
tests below pin the named cases of the issue, each on its own.

The clock is moved with ``time_machine``: a compute's watermark trails its start by two
minutes, so steps drawn minutes or an hour apart make the engine rely on what it recorded
rather than re-read a window that still covers everything.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import fakeshop
import movingshop
import pytest
import sqlalchemy as sa
import time_machine
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from hub.connections import add_connection, open_source
from hub.kpi import compute, set_counting_basis
from hub.mapping_versions import save_override
from hub.plugins import load_plugins
from hub.store.kpi_tables import kpi_fact
from hub.store.tables import standard_tables
from hub.sync import remap_connection, sync_connection

UTC = dt.UTC
DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""Named cases whose path is the same on every database: the property and the cases that go
through database-specific statements (the landing's merge on PostgreSQL) run on both."""

# Three shops whose local days differ from UTC's in both directions.
SHOPS = {
    "S1": {"id": "S1", "name": "Shanghai", "tz": "Asia/Shanghai", "currency": "CNY"},
    "S2": {"id": "S2", "name": "Los Angeles", "tz": "America/Los_Angeles", "currency": "USD"},
    "S3": {"id": "S3", "name": "Berlin", "tz": "Europe/Berlin", "currency": "EUR"},
}
SKUS = ("K1", "K2", "K3", "K4")  # K4 has no cost (its COGS is unknown) and no category
SKU_LISTING = {
    sku: {"sku": sku, "category": category}
    for sku, category in (("K1", "home"), ("K2", "toys"), ("K3", "home"), ("K4", None))
}
# Two people in two teams; assignments that start and end inside the data's days.
PEOPLE = {
    "p1": {
        "id": "p1",
        "name": "Li",
        "team": "T1",
        "covers": [
            {"type": "shop", "id": "moving:S1", "from": "2025-01-01", "to": None},
            {"type": "category", "id": "home", "from": "2026-04-01", "to": None},
        ],
    },
    "p2": {
        "id": "p2",
        "name": "Wang",
        "team": "T2",
        "covers": [{"type": "platform", "id": "moving", "from": "2026-03-20", "to": "2026-03-31"}],
    },
}
# Orders start in the last days of March 2026: a month, quarter and local-day boundary away.
START = dt.datetime(2026, 3, 29, 12, tzinfo=UTC)
CLOCK = dt.datetime(2026, 4, 20, 8, tzinfo=UTC)
"""When the test's syncs and computes run (the data's dates are fixed, never today's)."""
LAG = dt.timedelta(minutes=5)
"""A gap longer than the engine's two-minute watermark lag."""


def _day(value: dt.date) -> str:
    return value.isoformat()


def initial_fx() -> dict[tuple[str, str], dict[str, Any]]:
    """EUR every day around the data (and a year earlier); CNY with gaps (unknown amounts)."""
    rates: dict[tuple[str, str], dict[str, Any]] = {}
    for first, days in ((dt.date(2025, 3, 24), 16), (dt.date(2026, 3, 20), 24)):
        for i in range(days):
            day = first + dt.timedelta(days=i)
            rates[(_day(day), "EUR")] = {"day": _day(day), "currency": "EUR", "rate": f"1.{1000 + 37 * i}"}
            if day.year == 2026 and i % 5 != 3:
                rates[(_day(day), "CNY")] = {"day": _day(day), "currency": "CNY", "rate": f"0.13{80 + i}"}
    return rates


def initial_costs() -> dict[tuple[str, str], dict[str, Any]]:
    costs = {}
    for sku, cost, currency in (("K1", "3.20", "USD"), ("K2", "11.5", "CNY"), ("K3", "2.75", "EUR")):
        costs[(sku, "2025-01-01")] = {
            "sku": sku,
            "from": "2025-01-01",
            "cost": cost,
            "freight": "0.40",
            "currency": currency,
        }
    return costs


# -- orders as the platform sends them -------------------------------------------------------------


def _at(moment: dt.datetime) -> str:
    return moment.isoformat()


def _shifted(value: str | None, delta: dt.timedelta) -> str | None:
    return None if value is None else _at(dt.datetime.fromisoformat(value) + delta)


def make_order(n: int, spec: dict[str, Any]) -> dict[str, Any]:
    """A raw order from a drawn ``spec`` (see ``ORDER_SPECS``)."""
    created = START + dt.timedelta(minutes=spec["minute"])
    lines = [
        {
            "line": str(i + 1),
            "sku": sku,
            "qty": qty,
            "price": price,
            "subtotal": str(Decimal(price) * qty),
        }
        for i, (sku, qty, price) in enumerate(spec["lines"])
    ]
    order: dict[str, Any] = {
        "id": f"O{n}",
        "shop": spec["shop"],
        "status": spec["status"],
        "currency": spec["currency"],
        "created": _at(created),
        "paid": None if spec["paid"] is None else _at(created + dt.timedelta(hours=spec["paid"])),
        "modified": _at(created),
        "amount": str(sum(Decimal(line["subtotal"]) for line in lines) + Decimal("4.99")),
        "tax": "1.25",
        "shipping": "3.74",
        "fees": spec["fees"],
        "lines": lines,
        "refunds": [],
        "shipments": [],
        "reviews": [],
    }
    if spec["refund"] is not None:
        hours, status = spec["refund"]
        order["refunds"].append(
            {
                "id": f"R{n}",
                "amount": "5.50",
                "at": _at(created + dt.timedelta(hours=hours)),
                "status": status,
            }
        )
    if spec["shipment"] is not None:
        hours, deadline, delivered, promised = spec["shipment"]
        shipped = created + dt.timedelta(hours=hours)
        order["shipments"].append(
            {
                "id": f"P{n}",
                "shipped": _at(shipped),
                "ship_by": _at(created + dt.timedelta(hours=deadline)),
                "delivered": None if delivered is None else _at(shipped + dt.timedelta(days=delivered)),
                "promised": None if promised is None else _at(created + dt.timedelta(days=promised)),
            }
        )
    if spec["review"] is not None:
        stars, hours = spec["review"]
        order["reviews"].append(
            {"id": f"V{n}", "stars": stars, "at": _at(created + dt.timedelta(hours=hours))}
        )
    return order


STATUSES = ("paid", "shipped", "cancelled", "refunded", "pending")
CURRENCIES = ("USD", "EUR", "CNY")
ORDER_SPECS = st.fixed_dictionaries(
    {
        "shop": st.sampled_from(sorted(SHOPS)),
        "currency": st.sampled_from(CURRENCIES),
        # Any minute of four days: every shop's local day and the month's end are in reach.
        "minute": st.integers(0, 4 * 24 * 60 - 1),
        "status": st.sampled_from(STATUSES),
        "paid": st.one_of(st.none(), st.integers(0, 30)),
        "fees": st.one_of(st.none(), st.sampled_from(["0.50", "2.10"])),
        "lines": st.lists(
            st.tuples(st.sampled_from(SKUS), st.integers(1, 3), st.sampled_from(["9.90", "24.00", "3.33"])),
            min_size=1,
            max_size=3,
        ),
        "refund": st.one_of(
            st.none(), st.tuples(st.integers(1, 96), st.sampled_from(["completed", "requested"]))
        ),
        "shipment": st.one_of(
            st.none(),
            st.tuples(
                st.integers(1, 60),
                st.sampled_from([24, 48]),
                st.one_of(st.none(), st.integers(1, 9)),
                st.one_of(st.none(), st.sampled_from([5, 7])),
            ),
        ),
        "review": st.one_of(st.none(), st.tuples(st.integers(1, 5), st.integers(0, 120))),
    }
)


# -- changes to the platform's records --------------------------------------------------------------

SHIFTS = [dt.timedelta(hours=h) for h in (-1, 1, 5, -7, 16, -20)] + [
    dt.timedelta(days=d) for d in (1, -1, -3, 3, 32, -31, -365)
]


def _pick(platform: movingshop.Platform, index: int) -> dict[str, Any]:
    keys = sorted(platform.orders, key=lambda k: int(k[1:]))
    return platform.order(keys[index % len(keys)])


def _touch(order: dict[str, Any]) -> None:
    order["modified"] = _shifted(order["modified"], dt.timedelta(minutes=1))


def _child(order: dict[str, Any], kind: str, n: int) -> dict[str, Any]:
    """The order's first refund, shipment or review, added if it has none."""
    if not order[kind]:
        created = order["created"]
        child = {
            "refunds": {"id": f"R{order['id']}-{n}", "amount": "2.00", "at": created, "status": "completed"},
            "shipments": {"id": f"P{order['id']}-{n}", "shipped": created, "ship_by": created},
            "reviews": {"id": f"V{order['id']}-{n}", "stars": 1, "at": created},
        }[kind]
        order[kind].append(child)
    return order[kind][0]


def _return(platform: movingshop.Platform, order: dict[str, Any], delta: dt.timedelta, status: str) -> None:
    """Add a return of ``order``, ``delta`` after the order, or move the one it has by ``delta``."""
    key = f"X{order['id']}"
    found = platform.returns.get(key)
    if found is None:
        found = {
            "id": key,
            "order": order["id"],
            "shop": order["shop"],
            "currency": order["currency"],
            "amount": "7.25",
            "at": order["created"],
        }
    platform.put("returns", {**found, "at": _shifted(found["at"], delta), "status": status})


def apply_change(platform: movingshop.Platform, change: tuple[Any, ...]) -> None:
    """Apply one drawn change to the platform's records (see ``CHANGES``)."""
    kind, *args = change
    if kind == "new":
        platform.put_order(make_order(len(platform.orders), args[0]))
        return
    if kind == "fx":
        day, currency, rate = args
        platform.fx[(day, currency)] = {"day": day, "currency": currency, "rate": rate}
        return
    if kind == "cost":
        sku, valid_from, cost = args
        platform.costs[(sku, valid_from)] = {
            "sku": sku,
            "from": valid_from,
            "cost": cost,
            "freight": "0",
            "currency": "USD",
        }
        return
    order = _pick(platform, args[0])
    if kind == "restate":  # the order's time (and its payment time) restated
        order["created"] = _shifted(order["created"], args[1])
        order["paid"] = _shifted(order["paid"], args[1])
    elif kind == "shop":
        order["shop"] = args[1]
    elif kind == "status":
        order["status"] = args[1]
    elif kind == "amount":
        order["amount"] = args[1]
        line = order["lines"][0]
        line["qty"] += 1
        line["subtotal"] = str(Decimal(line["price"]) * line["qty"])
    elif kind == "currency":
        order["currency"] = args[1]
    elif kind in ("shipments", "reviews", "refunds"):
        child = _child(order, kind, platform.revision)
        field = {"shipments": "shipped", "reviews": "at", "refunds": "at"}[kind]
        child[field] = _shifted(child[field], args[1])
        if kind == "refunds":
            child["status"] = args[2]
    elif kind == "sku":
        order["lines"][0]["sku"] = args[1]
    elif kind == "return":  # a refund sent on its own (the returns stream): added, or re-dated
        _return(platform, order, args[1], args[2])
        return
    elif kind == "void_return":
        found = platform.returns.get(f"X{order['id']}")
        if found is not None:
            amount = found["amount"]
            found = {**found, "amount": amount[5:] if amount.startswith("void ") else f"void {amount}"}
            platform.put("returns", found)
        return
    elif kind == "drop_line":
        order["lines"].pop()  # the last line, or the only one
    elif kind == "drop":
        order[args[1]] = []
    elif kind == "break":  # an amount the mapping cannot read: the record is quarantined
        order["amount"] = f"void {order['amount']}"
    elif kind == "mend":
        order["amount"] = order["amount"].removeprefix("void ")
    else:  # pragma: no cover
        raise AssertionError(kind)
    _touch(order)
    platform.put_order(order)


INDEX = st.integers(0, 30)
SHIFT = st.sampled_from(SHIFTS)
FX_DAYS = [_day(dt.date(2026, 3, 27) + dt.timedelta(days=i)) for i in range(10)] + ["2025-03-30"]
CHANGES = st.one_of(
    st.tuples(st.just("new"), ORDER_SPECS),
    st.tuples(st.just("restate"), INDEX, SHIFT),
    st.tuples(st.just("shop"), INDEX, st.sampled_from(sorted(SHOPS))),
    st.tuples(st.just("status"), INDEX, st.sampled_from(STATUSES)),
    st.tuples(st.just("amount"), INDEX, st.sampled_from(["1.00", "250.05"])),
    st.tuples(st.just("currency"), INDEX, st.sampled_from(CURRENCIES)),
    st.tuples(st.just("shipments"), INDEX, SHIFT),
    st.tuples(st.just("reviews"), INDEX, SHIFT),
    st.tuples(st.just("refunds"), INDEX, SHIFT, st.sampled_from(["completed", "requested"])),
    st.tuples(st.just("sku"), INDEX, st.sampled_from(SKUS)),
    st.tuples(st.just("return"), INDEX, SHIFT, st.sampled_from(["completed", "requested"])),
    st.tuples(st.just("void_return"), INDEX),
    st.tuples(st.just("drop_line"), INDEX),
    st.tuples(st.just("drop"), INDEX, st.sampled_from(["refunds", "shipments", "reviews"])),
    st.tuples(st.just("break"), INDEX),
    st.tuples(st.just("mend"), INDEX),
    st.tuples(
        st.just("fx"),
        st.sampled_from(FX_DAYS),
        st.sampled_from(["EUR", "CNY"]),
        st.sampled_from(["0.1402", "1.2001"]),
    ),
    st.tuples(
        st.just("cost"),
        st.sampled_from(SKUS),
        st.sampled_from(["2025-01-01", "2026-03-31"]),
        st.sampled_from(["1.10", "7.00"]),
    ),
)

# Mapping overrides a remap applies: each reads another date field (or none).
OVERRIDES: dict[str, dict[str, Any]] = {
    "default": {},
    "paid_as_created": {
        "targets": {"orders": {"fields": {"created_at": {"path": "paid", "transforms": ["parse_timestamp"]}}}}
    },
    "delivered_as_shipped": {
        "targets": {
            "shipments": {
                "fields": {"shipped_at": {"path": "item.delivered", "transforms": ["parse_timestamp"]}}
            }
        }
    },
    "reviews_by_order": {
        "targets": {
            "reviews": {
                "fields": {"created_at": {"path": "record.created", "transforms": ["parse_timestamp"]}}
            }
        }
    },
    "no_reviews": {"targets": {"reviews": None}},
}

BASES = st.sampled_from(
    [{}, {"refund_dated_by": "order", "day_boundary": "tenant", "fx_rate": "month_average"}]
)
"""The default counting basis, or one that dates rows otherwise: refunds by their order, days by
the tenant's time zone, amounts at the month's average rate. (Two only: the engine builds its
statements once per basis, which costs more than an example.)"""

GAPS = st.sampled_from([LAG, dt.timedelta(0), dt.timedelta(hours=1)])
"""Time between two steps: past the watermark's lag, within it, or much later."""


@st.composite
def histories(draw: Any) -> dict[str, Any]:
    """A counting basis, the platform's first orders, and steps: a sync of some changes (or a
    remap), each followed (or not) by a compute, some time before the next."""
    basis = draw(BASES)
    syncs = st.tuples(st.just("sync"), st.lists(CHANGES, min_size=1, max_size=3), st.booleans())
    remaps = st.tuples(st.just("remap"), st.sampled_from(sorted(OVERRIDES)))
    steps = st.tuples(
        st.one_of(syncs, remaps),
        GAPS,
        st.booleans(),  # compute (and compare) after the step; always after the last
    )
    return {
        "basis": basis,
        "org": draw(st.booleans()),
        "orders": draw(st.lists(ORDER_SPECS, min_size=1, max_size=5)),
        "first_gap": draw(GAPS),  # between the first sync and the first compute
        "steps": draw(st.lists(steps, min_size=1, max_size=4)),
    }


# -- a tenant with a connection to the platform -----------------------------------------------------


class Seller:
    """A tenant's connection to the platform ``platform_name``: syncs, remaps and computes it.

    A tenant has one connection unless a test gives a second ``connection`` name (an ERP that
    sends the same orders as the marketplace)."""

    def __init__(self, hub: Any, tenant: str, platform_name: str, connection: str = "shop") -> None:
        self.hub, self.tenant = hub, tenant
        self.store = hub.ready_store
        self.info = add_connection(
            self.store,
            hub.vault,
            hub.registry,
            name=f"{tenant}-{connection}",
            plugin="movingshop",
            options={"platform": platform_name},
            credentials={},
            tenant=tenant,
        )
        self.tenant_id = self.info.tenant_id

    def source(self) -> Any:
        return open_source(self.store, self.hub.vault, self.hub.registry, self.info)

    def sync(self, *, full_refresh: bool = False) -> None:
        result = asyncio.run(
            sync_connection(self.store, self.info, self.source(), full_refresh=full_refresh, workers=0)
        )
        assert result.status == "succeeded", result.errors

    def override(self, override: dict[str, Any]) -> None:
        """Save ``override`` (targets of any stream) as each stream's mapping override."""
        source = self.source()
        with self.store.begin() as conn:
            for stream in source.streams():
                wanted = {
                    "targets": {
                        t: v for t, v in override.get("targets", {}).items() if _stream_of(t) == stream.name
                    }
                }
                if wanted["targets"] or stream.name == "orders":
                    save_override(
                        conn, self.info.id, stream, wanted if wanted["targets"] else {}, actor="test"
                    )
        asyncio.run(source.aclose())

    def remap(self, override: dict[str, Any]) -> None:
        """Save ``override`` and remap the connection (records it would quarantine included)."""
        self.override(override)
        source = self.source()
        result = remap_connection(self.store, self.info, source, force=True)
        asyncio.run(source.aclose())
        assert result.status == "succeeded", result.errors

    def set_basis(self, changes: dict[str, Any]) -> None:
        with self.store.begin() as conn:
            set_counting_basis(conn, self.tenant_id, changes, actor="test")

    def compute(self, *, full: bool = False) -> Any:
        return compute(self.store, self.tenant, full=full)

    def facts(self) -> dict[tuple[Any, ...], dict[str, Any]]:
        """Every fact of the tenant by key, every column but ``computed_at`` (and the tenant)."""
        with self.store.begin() as conn:
            rows = (
                conn.execute(sa.select(kpi_fact).where(kpi_fact.c.tenant_id == self.tenant_id))
                .mappings()
                .all()
            )
        out = {}
        for row in rows:
            scope_id = "TENANT" if row["scope_type"] == "tenant" else row["scope_id"]
            key = (row["metric_id"], row["grain"], row["scope_type"], scope_id, row["period_start"])
            assert key not in out, key
            out[key] = {c: v for c, v in row.items() if c not in ("computed_at", "tenant_id", "scope_id")}
        return out

    def rows(self, table: str, *columns: str) -> list[tuple[Any, ...]]:
        t = standard_tables[table]
        with self.store.begin() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    sa.select(*[t.c[c] for c in columns]).where(t.c.tenant_id == self.tenant_id)
                )
            ]


def _stream_of(table: str) -> str:
    return "orders" if table in ("orders", "order_items", "refunds", "shipments", "reviews") else table


def differences(
    got: dict[tuple[Any, ...], dict[str, Any]], want: dict[tuple[Any, ...], dict[str, Any]]
) -> list[str]:
    """Facts that differ, missing or extra, described for a failure message."""
    out = []
    for key in sorted(set(got) | set(want), key=repr):
        if got.get(key) != want.get(key):
            mine, full = got.get(key), want.get(key)
            if mine is not None and full is not None:
                changed = {c: (mine[c], full[c]) for c in full if mine[c] != full[c]}
                out.append(f"{key}: incremental≠full {changed}")
            else:
                out.append(f"{key}: incremental {mine and mine['value']!r}, full {full and full['value']!r}")
    return out


def assert_same_facts(
    got: dict[tuple[Any, ...], dict[str, Any]], want: dict[tuple[Any, ...], dict[str, Any]], when: str
) -> None:
    wrong = differences(got, want)
    assert not wrong, f"{when}: {len(wrong)} facts differ from a full compute:\n" + "\n".join(wrong[:12])


def incremental_equals_full(
    seller: Seller, when: str = "at the end"
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Compute ``seller`` in full and check its facts did not change; return them."""
    before = seller.facts()
    assert seller.compute(full=True).full
    after = seller.facts()
    assert_same_facts(before, after, when)
    return after


@pytest.fixture
def registry():
    """The default plugins, the fake shop and the moving shop."""
    return load_plugins(entry_points=[], extra=[("fakeshop", fakeshop), ("movingshop", movingshop.PLUGIN)])


_NAMES = itertools.count()


def fresh_name() -> str:
    """A tenant (and platform) name no other example of this process used."""
    return f"t{next(_NAMES)}"


def new_platform(name: str, orders: list[dict[str, Any]], *, org: bool = True) -> movingshop.Platform:
    """A platform with ``orders``, registered as ``name``; with ``org``, SKU categories and
    people assigned to shops, a platform and a category (the team, person and category scopes)."""
    platform = movingshop.Platform(
        shops={k: dict(v) for k, v in SHOPS.items()},
        skus={k: dict(v) for k, v in SKU_LISTING.items()} if org else {},
        people=copy.deepcopy(PEOPLE) if org else {},
        fx=initial_fx(),
        costs=initial_costs(),
    )
    for spec in orders:
        platform.put_order(make_order(len(platform.orders), spec))
    movingshop.PLATFORMS[name] = platform
    return platform


@contextmanager
def clock() -> Iterator[Any]:
    with time_machine.travel(CLOCK, tick=True) as traveller:
        yield traveller


# -- the property -----------------------------------------------------------------------------------


def run_history(hub: Any, history: dict[str, Any]) -> None:
    """Play a drawn history on a fresh tenant, computing incrementally, and on a twin tenant
    (the same records through its own connection) computed in full; compare them after each
    compute, and the tenant with a full compute of itself at the end."""
    name = fresh_name()
    platform = new_platform(name, history["orders"], org=history["org"])
    seller, twin = Seller(hub, name, name), Seller(hub, f"{name}-full", name)
    for tenant in (seller, twin):
        tenant.set_basis(history["basis"])
    steps = history["steps"]
    with clock() as traveller:
        for tenant in (seller, twin):
            tenant.sync()
        traveller.shift(history["first_gap"])
        assert seller.compute().full
        for number, ((kind, *what), gap, computes) in enumerate(steps, 1):
            if kind == "sync":
                changes, full_refresh = what
                for change in changes:
                    apply_change(platform, change)
                for tenant in (seller, twin):
                    tenant.sync(full_refresh=full_refresh)
            else:
                for tenant in (seller, twin):
                    tenant.remap(OVERRIDES[what[0]])
            if computes or number == len(steps):
                seller.compute()
                twin.compute(full=True)
                assert_same_facts(seller.facts(), twin.facts(), f"after step {number}")
            traveller.shift(gap)
        assert not seller.compute().full  # and once more after the last gap
        incremental_equals_full(seller)


@DATABASES
def test_incremental_compute_always_ends_equal_to_a_full_compute(hub):
    # Six histories per database keep the test near a minute on a two-core machine; set
    # KPIHUB_TEST_INCREMENTAL_EXAMPLES to play more. Shrinking a failure would replay whole
    # histories of syncs and computes (seconds each), so it is left out: the failing history
    # is printed step by step, ready to be written down as an explicit test.
    @settings(
        max_examples=int(os.environ.get("KPIHUB_TEST_INCREMENTAL_EXAMPLES", "6")),
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(history=histories())
    def check(history: dict[str, Any]) -> None:
        # The drawn history, one line per step (hypothesis prints it when the property fails).
        for key in ("basis", "org", "orders", "first_gap"):
            note(f"{key}={history[key]!r}")
        for number, step in enumerate(history["steps"], 1):
            note(f"step {number}: {step!r}")
        run_history(hub, history)

    check()


# -- the named cases, one by one -------------------------------------------------------------------


def other() -> dict[str, Any]:
    """An order of another shop, days from the first (its partitions share none with it)."""
    return spec(shop="S2", minute=95 * 60, lines=[("K1", 1, "9.90")], refund=None, shipment=None, review=None)


def spec(**changes: Any) -> dict[str, Any]:
    """An order spec: a paid USD order of one line in S1, created 2026-03-31 10:00 UTC
    (18:00 in Shanghai), with a shipment and a review, changed by ``changes``."""
    base = {
        "shop": "S1",
        "currency": "USD",
        "minute": (2 * 24 - 2) * 60,
        "status": "paid",
        "paid": 3,
        "fees": "0.50",
        "lines": [("K1", 2, "24.00"), ("K2", 1, "9.90")],
        "refund": (30, "completed"),
        "shipment": (20, 48, 3, 7),
        "review": (2, 50),
    }
    return {**base, **changes}


def history(
    hub: Any, orders: list[dict[str, Any]], *changes: tuple[Any, ...], remap: str | None = None
) -> Seller:
    """Sync ``orders`` and compute; apply ``changes`` and sync (or remap), minutes later; compute
    incrementally minutes after that. Returns the seller, its facts as the incremental compute
    left them."""
    name = fresh_name()
    platform = new_platform(name, orders)
    seller = Seller(hub, name, name)
    with clock() as traveller:
        seller.sync()
        traveller.shift(LAG)  # the first compute's lag window holds no rows: nothing re-read later
        assert seller.compute().full
        traveller.shift(LAG)
        for change in changes:
            apply_change(platform, change)
        if changes:
            seller.sync()
        if remap is not None:
            seller.remap(OVERRIDES[remap])
        traveller.shift(LAG)
        report = seller.compute()
        assert not report.full, report.reason
    return seller


def gmv_days(
    facts: dict[tuple[Any, ...], dict[str, Any]], metric: str = "gmv"
) -> dict[tuple[str, dt.date], Any]:
    return {
        (key[3], key[4]): fact["value"]
        for key, fact in facts.items()
        if key[0] == metric and key[1] == "day" and key[2] == "shop"
    }


@DATABASES
def test_an_order_restated_three_days_earlier_is_no_longer_counted_on_its_old_day(hub):
    # O0 on 2026-03-31 (Shanghai), O1 elsewhere so the tenant has other facts.
    seller = history(hub, [spec(), other()], ("restate", 0, dt.timedelta(days=-3)))
    facts = seller.facts()
    days = gmv_days(facts)
    assert ("moving:S1", dt.date(2026, 3, 31)) not in days, days
    assert ("moving:S1", dt.date(2026, 3, 28)) in days, days
    incremental_equals_full(seller)


@DATABASES
def test_an_order_moved_to_another_shop_leaves_the_old_one(hub):
    seller = history(hub, [spec(), other()], ("shop", 0, "S3"))
    days = gmv_days(seller.facts())
    assert ("moving:S1", dt.date(2026, 3, 31)) not in days, days
    incremental_equals_full(seller)


@ON_SQLITE
def test_a_shipment_whose_ship_time_moves(hub):
    # Shipped 2026-04-01 06:00 UTC (14:00 Shanghai), then a day and 16 hours later.
    seller = history(hub, [spec(), other()], ("shipments", 0, dt.timedelta(days=1)))
    incremental_equals_full(seller)


@ON_SQLITE
def test_a_review_whose_date_moves(hub):
    seller = history(hub, [spec(), other()], ("reviews", 0, dt.timedelta(days=-3)))
    incremental_equals_full(seller)


@ON_SQLITE
def test_a_refund_whose_date_moves(hub):
    seller = history(hub, [spec(), other()], ("refunds", 0, dt.timedelta(days=3), "completed"))
    incremental_equals_full(seller)


@ON_SQLITE
def test_an_order_line_deleted(hub):
    seller = history(hub, [spec(), other()], ("drop_line", 0))
    assert sorted(seller.rows("order_items", "order_id", "line_id")) == [("O0", "1"), ("O1", "1")]
    incremental_equals_full(seller)


@ON_SQLITE
def test_a_record_quarantined(hub):
    seller = history(hub, [spec(), other()], ("break", 0))
    assert seller.rows("orders", "order_id") == [("O1",)]
    days = gmv_days(seller.facts())
    assert ("moving:S1", dt.date(2026, 3, 31)) not in days, days
    incremental_equals_full(seller)


@DATABASES
def test_a_remap_that_reads_another_date_field(hub):
    # Paid two days after it was created: the remap moves the order two days on.
    seller = history(hub, [spec(paid=48), other()], remap="paid_as_created")
    assert ("O0", dt.datetime(2026, 4, 2, 10, tzinfo=UTC)) in seller.rows("orders", "order_id", "created_at")
    days = gmv_days(seller.facts())
    assert ("moving:S1", dt.date(2026, 3, 31)) not in days, days
    incremental_equals_full(seller)


# -- orders two connections send, and refunds sent on their own -------------------------------------


def two_connections(
    hub: Any, erp_override: dict[str, Any], market: dict[str, Any], erp: dict[str, Any]
) -> Seller:
    """A marketplace connection syncs order O0 (``market``) and a far-away order, the tenant is
    computed; minutes later an ERP connection of the same tenant syncs its copy of O0 (``erp``)
    under ``erp_override``; minutes after that the tenant is computed incrementally."""
    name = fresh_name()
    new_platform(name, [market, other()])
    new_platform(f"{name}-erp", [erp])
    seller = Seller(hub, name, name)
    erp_connection = Seller(hub, name, f"{name}-erp", connection="erp")
    erp_connection.override(erp_override)
    with clock() as traveller:
        seller.sync()
        traveller.shift(LAG)
        assert seller.compute().full
        traveller.shift(LAG)
        erp_connection.sync()
        traveller.shift(LAG)
        assert not seller.compute().full
    return seller


@DATABASES
def test_an_order_another_connection_takes_over_on_another_day(hub):
    # The ERP does not defer (its client trusts its times): its copy of O0, dated three days
    # earlier, replaces the marketplace's rows of O0 in place.
    seller = two_connections(hub, {}, spec(), spec(minute=spec()["minute"] - 3 * 24 * 60))
    days = gmv_days(seller.facts())
    assert ("moving:S1", dt.date(2026, 3, 28)) in days, days
    assert ("moving:S1", dt.date(2026, 3, 31)) not in days, days
    incremental_equals_full(seller)


DEFER = {"merge": {"defer_to_others": True}}


@ON_SQLITE
def test_a_deferring_connection_fills_in_what_the_marketplace_left_empty(hub):
    # The marketplace reports no platform fees; the ERP defers to it but fills them in (the
    # case docs/mapping.md names), which makes the order's gross margin known.
    seller = two_connections(
        hub,
        {"targets": dict.fromkeys(("orders", "order_items", "refunds", "shipments", "reviews"), DEFER)},
        spec(fees=None),
        spec(fees="2.10"),
    )
    assert ("O0", Decimal("2.1")) in [
        (o, Decimal(f)) for o, f in seller.rows("orders", "order_id", "platform_fees") if f
    ]
    incremental_equals_full(seller)


@ON_SQLITE
def test_a_returned_refund_quarantined_when_refunds_are_dated_by_their_order(hub):
    # Refunds from a returns stream, counted on their order's day: O0's refund, made two days
    # after it, is counted on 2026-03-31 (Shanghai); then the return record becomes unreadable.
    name = fresh_name()
    platform = new_platform(name, [spec(refund=None), other()])
    order = platform.order("O0")
    _return(platform, order, dt.timedelta(days=2), "completed")
    seller = Seller(hub, name, name)
    seller.set_basis({"refund_dated_by": "order"})
    with clock() as traveller:
        seller.sync()
        traveller.shift(LAG)
        assert seller.compute().full
        traveller.shift(LAG)
        apply_change(platform, ("void_return", 0))
        seller.sync()
        traveller.shift(LAG)
        assert not seller.compute().full
    assert seller.rows("refunds", "refund_id") == []
    incremental_equals_full(seller)


@ON_SQLITE
def test_a_record_quarantined_by_a_sync_a_compute_overlaps(hub):
    # The sync's landing stamps its time, a compute starts (and sees nothing of it yet), then
    # the landing writes: O0's rows go, O0's old place is recorded with the landing's stamp,
    # which is before that compute's start. The next compute must still recompute it.
    name = fresh_name()
    platform = new_platform(name, [spec(), other()])
    seller = Seller(hub, name, name)
    with clock() as traveller:
        seller.sync()
        traveller.shift(LAG)
        assert seller.compute().full
        traveller.shift(LAG)

        def compute_meanwhile() -> None:
            traveller.shift(dt.timedelta(seconds=10))
            assert seller.compute().reason == "nothing changed since the last compute"

        platform.while_landing = compute_meanwhile
        apply_change(platform, ("break", 0))
        seller.sync()
        assert platform.while_landing is None  # it ran
        traveller.shift(LAG)
        assert not seller.compute().full
    assert seller.rows("orders", "order_id") == [("O1",)]
    days = gmv_days(seller.facts())
    assert ("moving:S1", dt.date(2026, 3, 31)) not in days, days
    incremental_equals_full(seller)
