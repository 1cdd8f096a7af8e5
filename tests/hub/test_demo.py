"""``kpihub demo`` end to end, as a user runs it: a subprocess, then its outputs checked.

Three runs of the smaller seller (``--small``: the same steps on 30 days): a fresh one, a
second one in the same work directory (incremental), and a fresh one elsewhere with the same
seed (deterministic). Everything they produced is compared with the hub's own store and with
independent computations from the standard facts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from hub.demo import SMALL, run_demo
from hub.store.tables import metadata as hub_metadata
from sdk import ConfigError

KPI_TABLES = ("kpi_fact", "kpi_target", "kpi_scorecard", "kpi_alert")
DIMENSIONS = ("dim_metric", "dim_shop", "dim_person", "dim_team", "dim_date")
FACT_TABLES = ("orders", "order_items", "refunds", "ad_performance", "inventory_snapshots", "shipments")
# Columns that say when a row was written, not what it says.
WHEN = {
    "computed_at",
    "updated_at",
    "raised_at",
    "ingested_at",
    "created_at",
    "acknowledged_at",
    "resolved_at",
}
FACT_KEY = ("metric_id", "grain", "period_start", "scope_type", "scope_id")
# The demo is its hub's operator: its work directory holds the demo tenant's two areas.
UPLOADS = Path("default") / "uploads"
OUTPUTS = Path("default") / "outputs"


def _run(workdir: Path, seed: int = 7) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPIHUB_") or k == "KPIHUB_SPECS_DIR"}
    env["COLUMNS"] = "400"
    command = [sys.executable, "-c", "from hub.cli import main; main()", "demo", "--small"]
    done = subprocess.run(
        [*command, "--workdir", str(workdir), "--seed", str(seed)],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir.parent,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _engine(path: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{path}")


def _norm(value: object) -> object:
    if isinstance(value, float | Decimal):
        return round(float(value), 6)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _rows(
    engine: sa.Engine,
    table: str,
    columns: list[str] | None = None,
    norm: Callable[[object], object] = _norm,
) -> list[tuple[object, ...]]:
    # The hub's own table definitions read both stores' rows with the hub's types (an exact
    # value is text in the hub's SQLite, a number in the client's); others are reflected.
    t = hub_metadata.tables.get(table)
    if t is None:
        t = sa.Table(table, sa.MetaData(), autoload_with=engine)
    chosen = [c for c in (columns or [c.name for c in t.columns]) if c in t.c]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*[t.c[c] for c in chosen])).all()
    return sorted((tuple(norm(v) for v in row) for row in rows), key=repr)


def _columns(engine: sa.Engine, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(engine).get_columns(table)]


def _facts(engine: sa.Engine) -> dict[tuple[object, ...], tuple[object, ...]]:
    """kpi_fact's values by key, as stored: exact decimals."""
    columns = [*FACT_KEY, "value", "numerator", "denominator", "basis_version", "coverage"]
    rows = _rows(engine, "kpi_fact", columns, norm=lambda v: v if isinstance(v, Decimal) else _norm(v))
    return {row[: len(FACT_KEY)]: row[len(FACT_KEY) :] for row in rows}


def _assert_same_facts(got: dict[tuple[object, ...], tuple[object, ...]], expected: dict) -> None:
    """The same facts with the same values, exactly.

    A run lands pages in the order they arrive, so the store sums the same amounts in another
    order; values are exact decimals, so the order cannot change a digit.
    """
    assert got.keys() == expected.keys()
    differ = {key: (got[key], value) for key, value in expected.items() if got[key] != value}
    assert not differ


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(first run, its kpi facts, second run, fresh run elsewhere) with their work directories."""
    first_dir = tmp_path_factory.mktemp("demo") / "work"
    first = _run(first_dir)
    facts_after_first = _facts(_engine(first_dir / "kpihub.db"))
    second = _run(first_dir)
    other_dir = tmp_path_factory.mktemp("demo") / "work"
    other = _run(other_dir)
    return {
        "dir": first_dir,
        "first": first,
        "facts_after_first": facts_after_first,
        "second": second,
        "other_dir": other_dir,
        "other": other,
    }


def test_outputs_exist_and_say_where_they_are(runs):
    workdir = runs["dir"]
    for name in (
        "kpihub.db",
        "master.key",
        OUTPUTS / "client.db",
        OUTPUTS / "kpi.hyper",
        "webhook-received.jsonl",
        "powerbi-dataset.json",
    ):
        assert (workdir / name).is_file(), name
        assert str(workdir / name) in runs["first"].stdout.replace("\n", "")
    assert (workdir / "master.key").stat().st_mode & 0o077 == 0
    assert "first run:" in runs["first"].stdout
    for step in ("kpihub serve", "kpihub kpi show"):
        assert step in runs["first"].stdout


def test_client_database_equals_the_hub(runs):
    hub, client = _engine(runs["dir"] / "kpihub.db"), _engine(runs["dir"] / OUTPUTS / "client.db")
    for table in (*KPI_TABLES, *DIMENSIONS):
        columns = [c for c in _columns(client, table) if c not in WHEN]
        assert set(columns) <= set(_columns(hub, table)), table
        pushed = _rows(client, table, columns)
        assert pushed, f"{table} is empty in the client database"
        assert pushed == _rows(hub, table, columns), table
    for table in FACT_TABLES:
        columns = [c for c in _columns(client, table) if c not in WHEN]
        assert _rows(client, table, columns) == _rows(hub, table, columns), table


def _fx(workdir: Path) -> dict[tuple[str, str], float]:
    """The rate sheet the demo wrote for its files connection (currency, day) -> CNY."""
    import csv

    with (workdir / UPLOADS / "seller-files" / "fx_rates.csv").open(encoding="utf-8") as fh:
        return {(r["currency"], r["date"]): float(r["rate"]) for r in csv.DictReader(fh)}


def test_gmv_per_shop_month_recomputed_from_the_client_orders(runs):
    """GMV = Σ gross amount of orders not cancelled, by the order's local day, in CNY."""
    client = _engine(runs["dir"] / OUTPUTS / "client.db")
    rates = _fx(runs["dir"])
    with client.connect() as conn:
        zones = {
            f"{platform}:{shop_id}": zone
            for platform, shop_id, zone in conn.execute(
                sa.text("SELECT platform, shop_id, timezone FROM dim_shop")
            )
        }
        orders = conn.execute(
            sa.text(
                "SELECT platform, shop_id, created_at, gross_amount, currency FROM orders "
                "WHERE status != 'cancelled'"
            )
        ).all()
        facts = {
            (row.scope_id, row.period_start): row.value
            for row in conn.execute(
                sa.text(
                    "SELECT scope_id, period_start, value FROM kpi_fact "
                    "WHERE metric_id = 'gmv' AND grain = 'month' AND scope_type = 'shop'"
                )
            )
        }
    expected: dict[tuple[str, str], float] = defaultdict(float)
    for platform, shop_id, created, amount, currency in orders:
        scope = f"{platform}:{shop_id}"
        when = dt.datetime.fromisoformat(str(created)).replace(tzinfo=dt.UTC)
        day = when.astimezone(ZoneInfo(zones[scope])).date()
        rate = 1.0 if currency == "CNY" else rates[(currency, day.isoformat())]
        expected[(scope, day.replace(day=1).isoformat())] += float(amount) * rate
    assert len(expected) >= 12
    for key, value in expected.items():
        assert str(key[1]) in {str(k[1])[:10] for k in facts}, key
        got = next(v for (s, p), v in facts.items() if s == key[0] and str(p)[:10] == key[1])
        assert got == pytest.approx(value, abs=0.02), key


def test_alert_reached_the_webhook_and_every_sink(runs):
    workdir = runs["dir"]
    received = [
        json.loads(line) for line in (workdir / "webhook-received.jsonl").read_text().splitlines() if line
    ]
    assert received, "the webhook receiver got nothing"
    hub = _engine(workdir / "kpihub.db")
    with hub.connect() as conn:
        alerts = conn.execute(sa.text("SELECT alert_id, scope_id, delivery FROM kpi_alert")).all()
    assert alerts and all(a.delivery == "sent" for a in alerts)
    messages = " ".join(entry["payload"]["message"] for entry in received)
    for alert in alerts:
        assert f"alert {alert.alert_id}," in messages and alert.scope_id in messages


def test_hyper_extract_and_power_bi_hold_the_kpi_facts(runs):
    from tableauhyperapi import Connection, HyperProcess, Telemetry

    workdir = runs["dir"]
    hub = _engine(workdir / "kpihub.db")
    with hub.connect() as conn:
        count, total = conn.execute(sa.text("SELECT count(*), sum(value) FROM kpi_fact")).one()
        counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in KPI_TABLES}
    with (
        HyperProcess(Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU, parameters={"log_config": ""}) as hyper,
        Connection(hyper.endpoint, str(workdir / OUTPUTS / "kpi.hyper")) as conn,
    ):
        # One file, one table per published table.
        held = {
            str(t.name.unescaped): conn.execute_scalar_query(f"SELECT COUNT(*) FROM {t}")
            for schema in conn.catalog.get_schema_names()
            for t in conn.catalog.get_table_names(schema)
        }
        value_sum = conn.execute_scalar_query('SELECT SUM("value") FROM "Extract"."kpi_fact"')
    assert set(held) == {*KPI_TABLES, *DIMENSIONS}
    assert {t: held[t] for t in KPI_TABLES} == counts
    assert all(held[t] > 0 for t in DIMENSIONS)
    assert held["kpi_fact"] == count
    assert float(value_sum) == pytest.approx(float(total), rel=1e-9)
    powerbi = json.loads((workdir / "powerbi-dataset.json").read_text())
    for table, n in counts.items():
        assert powerbi["tables"][table] == n, table
    assert powerbi["kpi_fact_value_sum"] == pytest.approx(float(total), rel=1e-9)


def test_second_run_is_incremental_and_ends_with_the_same_kpis(runs):
    out = runs["second"].stdout
    assert "this run is incremental" in out and "incremental run: every connection resumed" in out
    with _engine(runs["dir"] / "kpihub.db").connect() as conn:
        reads = conn.execute(
            sa.text(
                "SELECT c.name, r.rows_read FROM sync_runs r JOIN connections c ON c.id = r.connection_id "
                "WHERE r.kind = 'sync' ORDER BY r.id"
            )
        ).all()
    by_connection: dict[str, list[int]] = defaultdict(list)
    for name, rows_read in reads:
        by_connection[name].append(rows_read)
    assert len(by_connection) == 8 and all(len(runs) == 2 for runs in by_connection.values())
    # Orders, refunds and reviews already read are not read again; only lookback windows and
    # whole listings (stock, SKUs, rates) are.
    for name in ("tiktok", "shopee", "seller-files"):
        first, second = by_connection[name]
        assert second < first / 4, (name, first, second)
    assert sum(r[1] for r in by_connection.values()) < sum(r[0] for r in by_connection.values()) / 2
    _assert_same_facts(_facts(_engine(runs["dir"] / "kpihub.db")), runs["facts_after_first"])


def test_same_seed_same_numbers_in_a_fresh_work_directory(runs):
    _assert_same_facts(_facts(_engine(runs["other_dir"] / "kpihub.db")), runs["facts_after_first"])


def _refused(workdir: Path, seed: int = 7) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPIHUB_")}
    command = [sys.executable, "-c", "from hub.cli import main; main()", "demo", "--small"]
    done = subprocess.run(
        [*command, "--workdir", str(workdir), "--seed", str(seed)],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir.parent,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("error:")
    return done


def test_a_work_directory_that_is_not_the_demos_is_refused_untouched(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "kpihub.db").write_bytes(b"someone's store")
    assert "choose another --workdir" in _refused(theirs).stderr
    assert (theirs / "kpihub.db").read_bytes() == b"someone's store"

    other_seed = tmp_path / "seed1"
    other_seed.mkdir()
    marker = {"seed": 1, "size": [30, 60, 1.0], "today": "2026-11-01", "complete": True}
    (other_seed / "demo.json").write_text(json.dumps(marker))
    for name in ("kpihub.db", "master.key"):
        (other_seed / name).write_bytes(b"kept")
    with pytest.raises(ConfigError, match="seed 1"):
        run_demo(other_seed, 7, size=SMALL)
    assert sorted(p.name for p in other_seed.iterdir()) == ["demo.json", "kpihub.db", "master.key"]
