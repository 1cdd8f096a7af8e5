"""Pushing the published tables into a Power BI push dataset (its simulator, on loopback):
replace on the first push, append when only new rows arrived, replace when values changed,
and a push killed between two POSTs re-run to exactly the hub's rows, none twice."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from hub.publish import add_sink, catalog, push_sink
from hub.publish.reader import read_rows
from hub.store.kpi_tables import kpi_fact
from hub.store.tables import metadata
from plugins.powerbi.simulator import PowerBISimulator
from sdk.simulator import running

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Killed(BaseException):
    """Stands for the process dying between two POSTs."""


def from_wire(row: dict) -> dict:
    out = dict(row)
    # Decimals travel as JSON numbers; these (four places, small) come back exactly by repr.
    for name in ("value", "numerator", "denominator", "coverage"):
        if out.get(name) is not None:
            out[name] = Decimal(repr(out[name]))
    out["period_start"] = dt.date.fromisoformat(row["period_start"][:10])
    out["computed_at"] = dt.datetime.fromisoformat(row["computed_at"])
    return out


def assert_equal(sim, store, tenant_id):
    table = catalog(metadata)["kpi_fact"]
    expected = {tuple(str(r[k]) for k in table.key): r for r in read_rows(store, table, tenant_id)}
    held = [from_wire(r) for r in sim.rows("kpihub", "kpi_fact")]
    keys = [tuple(str(r[k]) for k in table.key) for r in held]
    assert len(keys) == len(set(keys)), "a row arrived twice"
    assert dict(zip(keys, held, strict=True)) == expected


def add_new_rows(store, rows, start, stamp):
    with store.begin() as conn:
        conn.execute(
            kpi_fact.insert(),
            [dict(r, computed_at=stamp, scope_id=f"amazon:new-{start + i}") for i, r in enumerate(rows)],
        )


def test_replace_append_kill_and_rerun_end_equal_to_the_hub(sink_hub, seed, make_kpi_rows):
    store = sink_hub.ready_store
    tenant_id = seed(store, 2_000)
    sim = PowerBISimulator()
    creds = sim.credentials()
    with running(sim) as origin:
        add_sink(
            store,
            sink_hub.vault,
            sink_hub.registry,
            name="bi",
            plugin="powerbi",
            options={
                "tenant": creds["tenant"],
                "workspace_id": creds["workspace_id"],
                "api_url": origin,
                "identity_url": origin,
                "rows_per_post": 300,
            },
            credentials={"client_id": creds["client_id"], "client_secret": creds["client_secret"]},
            tables=["dim_metric", "kpi_fact"],
        )

        def push(progress=None):
            return asyncio.run(push_sink(store, sink_hub.vault, sink_hub.registry, "bi", progress=progress))

        def actions(result):
            assert result.succeeded, result.tables
            return {t.table: t.action for t in result.tables}

        assert actions(push()) == {"dim_metric": "replaced", "kpi_fact": "replaced"}
        assert_equal(sim, store, tenant_id)
        assert len(sim.rows("kpihub", "dim_metric")) == 5

        # Only new rows: appended, nothing else re-sent.
        add_new_rows(store, make_kpi_rows(tenant_id, 500), 0, dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
        posts_before = sim.stats["post_rows"].requests
        assert actions(push()) == {"dim_metric": "skipped", "kpi_fact": "appended"}
        assert sim.stats["post_rows"].requests - posts_before == 2  # 500 rows, 300 a POST
        assert_equal(sim, store, tenant_id)

        # A row rewritten with the watermark's own stamp (same tick, or committed after the
        # push read the table): invisible to "newer than the watermark", seen by the count of
        # rows at the watermark, so the table is replaced.
        with store.begin() as conn:
            conn.execute(
                kpi_fact.update()
                .where(kpi_fact.c.scope_id == "amazon:shop-0", kpi_fact.c.period_start == dt.date(2026, 1, 1))
                .values(value=-1.0, computed_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
            )
        assert actions(push()) == {"dim_metric": "skipped", "kpi_fact": "replaced"}
        assert_equal(sim, store, tenant_id)

        # More new rows; the push dies after its first POST was accepted. The re-run cannot
        # know what the dataset holds, so it replaces the table: no row twice, none missing.
        add_new_rows(store, make_kpi_rows(tenant_id, 700), 500, dt.datetime(2026, 11, 3, tzinfo=dt.UTC))

        def die_after_first_post(table, rows, total):
            if table == "kpi_fact":
                raise Killed

        with pytest.raises(Killed):
            push(progress=die_after_first_post)
        assert len(sim.rows("kpihub", "kpi_fact")) > 2_500  # part of the append got in
        assert actions(push()) == {"dim_metric": "skipped", "kpi_fact": "replaced"}
        assert_equal(sim, store, tenant_id)

        # Changed values cannot be updated in place: the table is replaced.
        with store.begin() as conn:
            conn.execute(
                kpi_fact.update()
                .where(kpi_fact.c.metric_id == "roas", kpi_fact.c.period_start < dt.date(2026, 1, 5))
                .values(value=99.0, computed_at=dt.datetime(2026, 11, 4, tzinfo=dt.UTC))
            )
        assert actions(push()) == {"dim_metric": "skipped", "kpi_fact": "replaced"}
        assert_equal(sim, store, tenant_id)
        assert sim.throttled == 0 and not sim.rejections
