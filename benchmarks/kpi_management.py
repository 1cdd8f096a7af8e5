"""How KPI management scales with the organisation: decomposition, roll-up, attainment, Excel, scoring.

Builds a seller of ``--teams`` teams, ``--people`` people and ``--shops`` shops (one in ten
new), each shop selling in ``--categories`` categories last quarter, with last quarter's
``kpi_fact`` history per team, person and shop, in a fresh SQLite store (or the empty database at
``--url``). Then it times, on that store:

- ``decompose``: a quarterly company target split down to every category, by last quarter's
  share (the largest job management does);
- ``rollup_check`` over the result; ``refresh_attainment`` of every target;
- ``export_xlsx`` and ``import_xlsx`` of every target (into a second store);
- ``score`` of a 5-metric template for every person;
- ``evaluate_alerts`` of a rule over every shop's daily value (channels off).

Each line prints wall and CPU seconds (SQLite works in-process, so CPU near wall means the
step is compute-bound; far below it, the machine was busy) and a count. Target (ours, for
interactive use by an admin): every step of a 500-shop seller under 5 s wall on SQLite;
PASS/FAIL is printed, the exit status is 0 unless the run breaks.

    python benchmarks/kpi_management.py [--teams 10] [--people 100] [--shops 500] [--categories 8]
        [--url sqlite:///...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from cryptography.fernet import Fernet

from hub.connections import ensure_tenant
from hub.kpi.alerts import add_rule, evaluate_alerts
from hub.kpi.decompose import decompose, rollup_check
from hub.kpi.scorecards import save_template, score
from hub.kpi.targets import list_targets, refresh_attainment, set_target
from hub.kpi.xlsx import export_xlsx, import_xlsx
from hub.store import open_store
from hub.store.kpi_tables import kpi_fact
from hub.store.tables import standard_tables
from hub.vault import Vault

NOW = dt.datetime(2026, 4, 20, tzinfo=dt.UTC)
Q1, Q2, APRIL = dt.date(2026, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 4, 1)
LIMIT = 5.0


def build(store, args, rnd):
    teams = [f"T{i:02d}" for i in range(args.teams)]
    people = [f"P{i:03d}" for i in range(args.people)]
    shops = [f"S{i:04d}" for i in range(args.shops)]
    categories = [f"C{i:02d}" for i in range(args.categories)]
    t = standard_tables
    with store.begin() as conn:
        tid = ensure_tenant(conn, "default")
        base = {"tenant_id": tid, "ingested_at": NOW}
        conn.execute(t["teams"].insert(), [{**base, "team_id": x, "name": x} for x in teams])
        conn.execute(
            t["staff"].insert(),
            [
                {**base, "staff_id": p, "name": p, "team_id": teams[i % len(teams)], "role": "operations"}
                for i, p in enumerate(people)
            ],
        )
        conn.execute(
            t["shops"].insert(),
            [
                {
                    **base,
                    "platform": "amazon",
                    "shop_id": s,
                    "timezone": "UTC",
                    "launched_on": dt.date(2026, 3, 1) if i % 10 == 0 else dt.date(2024, 1, 1),
                }
                for i, s in enumerate(shops)
            ],
        )
        conn.execute(
            t["assignments"].insert(),
            [
                {
                    **base,
                    "staff_id": people[i % len(people)],
                    "scope_type": "shop",
                    "scope_id": s,
                    "valid_from": dt.date(2025, 1, 1),
                }
                for i, s in enumerate(shops)
            ],
        )
        conn.execute(
            t["skus"].insert(), [{**base, "sku": f"K{c}", "category": c, "active": True} for c in categories]
        )
        orders, items = [], []
        for i, s in enumerate(shops):
            if i % 10 == 0:
                continue
            for c in categories:
                order_id = f"{s}-{c}"
                created = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
                orders.append(
                    {
                        **base,
                        "platform": "amazon",
                        "shop_id": s,
                        "order_id": order_id,
                        "status": "shipped",
                        "currency": "USD",
                        "created_at": created,
                        "updated_at": created,
                        "gross_amount": 0,
                        "tax": 0,
                        "shipping_fee": 0,
                        "discount": 0,
                    }
                )
                amount = Decimal(rnd.randint(100, 100_000)) / 100
                items.append(
                    {
                        **base,
                        "platform": "amazon",
                        "shop_id": s,
                        "order_id": order_id,
                        "line_id": "1",
                        "sku": f"K{c}",
                        "quantity": 1,
                        "unit_price": amount,
                        "amount": amount,
                        "currency": "USD",
                    }
                )
        conn.execute(t["orders"].insert(), orders)
        conn.execute(t["order_items"].insert(), items)
        fact = {
            "tenant_id": tid,
            "unit": "currency",
            "basis_version": 1,
            "computed_at": NOW,
            "contract_version": "1.0",
        }
        rows = []
        for scope_type, ids in (
            ("team", teams),
            ("person", people),
            ("shop", [f"amazon:{s}" for s in shops]),
        ):
            for x in ids:
                rows.append(
                    {
                        **fact,
                        "metric_id": "net_sales",
                        "grain": "quarter",
                        "period_start": Q1,
                        "scope_type": scope_type,
                        "scope_id": x,
                        "value": rnd.uniform(1e4, 1e6),
                    }
                )
        for p in people:
            for metric in ("roas", "acos", "refund_rate", "orders", "net_sales"):
                rows.append(
                    {
                        **fact,
                        "metric_id": metric,
                        "grain": "month",
                        "period_start": APRIL,
                        "scope_type": "person",
                        "scope_id": p,
                        "value": rnd.uniform(0.01, 5),
                    }
                )
        for s in shops:
            for day in range(1, 18):
                rows.append(
                    {
                        **fact,
                        "metric_id": "acos",
                        "grain": "day",
                        "period_start": dt.date(2026, 4, day),
                        "scope_type": "shop",
                        "scope_id": f"amazon:{s}",
                        "value": rnd.uniform(0.1, 0.6),
                    }
                )
        conn.execute(kpi_fact.insert(), rows)
    for p in people:
        for metric in ("roas", "acos", "refund_rate", "orders", "net_sales"):
            set_target(
                store,
                metric_id=metric,
                grain="month",
                period="2026-04",
                scope_type="person",
                scope_id=p,
                value="1.5",
            )


def timed(label, func, count, unit):
    started, cpu = time.perf_counter(), time.process_time()
    result = func()
    seconds, used = time.perf_counter() - started, time.process_time() - cpu
    verdict = "PASS" if seconds <= LIMIT else "FAIL"
    print(f"{label:<30} {seconds:6.2f} s wall {used:6.2f} s cpu {count(result):>7} {unit:<15} {verdict}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--shops", type=int, default=500)
    parser.add_argument("--categories", type=int, default=8)
    parser.add_argument("--url")
    args = parser.parse_args()
    rnd = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = open_store(args.url or f"sqlite:///{work / 'bench.db'}")
        store.migrate()
        other = open_store(f"sqlite:///{work / 'other.db'}")
        other.migrate()
        vault = Vault(Fernet.generate_key())
        build(store, args, rnd)
        print(
            f"{args.teams} teams, {args.people} people, {args.shops} shops, {args.categories} categories "
            f"on {store.engine.dialect.name}"
        )
        set_target(
            store,
            metric_id="net_sales",
            grain="quarter",
            period="2026-Q2",
            scope_type="tenant",
            scope_id="default",
            value="98765432.10",
        )
        timed(
            "decompose to categories",
            lambda: decompose(store, metric_id="net_sales", grain="quarter", period="2026-Q2"),
            lambda r: len(r.targets),
            "targets",
        )
        timed(
            "rollup_check",
            lambda: rollup_check(store, metric_id="net_sales", grain="quarter", period="2026-Q2"),
            len,
            "gaps",
        )
        timed(
            "refresh_attainment",
            lambda: refresh_attainment(store, as_of=dt.date(2026, 4, 17)),
            int,
            "targets",
        )
        total = len(list_targets(store))
        timed("export_xlsx", lambda: export_xlsx(store, work / "t.xlsx"), int, "targets")
        timed("import_xlsx (fresh store)", lambda: import_xlsx(other, work / "t.xlsx"), int, "targets")
        save_template(
            store,
            {
                "template_id": "ops",
                "role": "operations",
                "metrics": [
                    {"metric_id": m, "weight": 20}
                    for m in ("roas", "acos", "refund_rate", "orders", "sales_attainment")
                ],
            },
        )
        timed("score (month)", lambda: score(store, grain="month", period="2026-04"), len, "scorecard rows")
        add_rule(
            store,
            vault,
            {"name": "acos", "metric_id": "acos", "scope_type": "shop", "threshold": 0.3, "window": 3},
        )
        timed("evaluate_alerts", lambda: evaluate_alerts(store, vault, now=NOW), len, "alerts raised")
        print(f"{total} targets in the store")
        store.dispose()
        other.dispose()


if __name__ == "__main__":
    main()
