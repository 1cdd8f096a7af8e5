"""The whole path through the real hook: load → sync → raw → mapping → standard rows → state."""

from __future__ import annotations

import asyncio
import types

import pytest
import sqlalchemy as sa
from fakeshop import data
from fakeshop.source import Interrupted
from hub_rows import accept_records, refuse_records

from hub.connections import add_connection, get_connection, open_source
from hub.plugins import load_plugins
from hub.store.tables import raw_records, standard_tables, stream_states, sync_runs
from hub.sync import engine, sync_connection
from sdk import CredentialError, Source, Stream, hookimpl

OPTIONS = {"shop_id": "S1", "seed": 7, "orders": 23, "page_size": 5}


def _sync(hub, info):
    source = open_source(hub.ready_store, hub.vault, hub.registry, info)
    return source, asyncio.run(sync_connection(hub.ready_store, info, source))


def _standard(hub, table):
    t = standard_tables[table]
    key = [c.name for c in t.primary_key.columns if c.name != "tenant_id"]
    with hub.ready_store.begin() as conn:
        rows = conn.execute(sa.select(t)).mappings().all()
    return {tuple(r[c] for c in key): dict(r) for r in rows}


def assert_equals_truth(hub, options=OPTIONS):
    truth = data.truth(data.orders(options["seed"], options["orders"]), shop_id=options["shop_id"])
    for table, expected in truth.items():
        actual = _standard(hub, table)
        assert set(actual) == set(expected), f"{table}: keys differ"
        for key, want in expected.items():
            got = {column: actual[key][column] for column in want}
            assert got == want, f"{table} {key}"


def test_fake_plugin_end_to_end(hub, connect):
    info = connect()
    _, result = _sync(hub, info)

    assert result.status == "succeeded"
    assert (result.rows_read, result.rows_rejected) == (23, 0)
    assert_equals_truth(hub)
    with hub.ready_store.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar() == 23
        state = conn.execute(sa.select(stream_states.c.state)).scalar_one()
        run = conn.execute(sa.select(sync_runs)).mappings().one()
    assert state == {"next_page": 5}
    assert run["status"] == "succeeded" and run["rows_read"] == 23
    newest = max(o["modified"] for o in data.orders(7, 23))
    assert run["freshness"]["orders"].startswith(newest[:10])
    shops = _standard(hub, "shops")
    assert ("fakeshop", "S1") in shops


def test_second_sync_is_incremental(hub, connect):
    info = connect()
    _sync(hub, info)
    source, again = _sync(hub, info)
    assert source.pages_served == []
    assert again.rows_read == 0
    assert_equals_truth(hub)


CRASH_POINTS = [(page, position) for page in range(5) for position in (0, 2)]


@pytest.mark.parametrize("crash_at", CRASH_POINTS, ids=[f"page{p}-pos{i}" for p, i in CRASH_POINTS])
def test_kill_and_resume(hub, connect, monkeypatch, crash_at):
    info = connect()
    monkeypatch.setenv("FAKESHOP_CRASH_AT", f"{crash_at[0]},{crash_at[1]}")
    with pytest.raises(Interrupted):
        _sync(hub, info)
    monkeypatch.delenv("FAKESHOP_CRASH_AT")

    source, result = _sync(hub, info)

    # A crash loses the pages still waiting to be written (up to _AHEAD), not more.
    first = source.pages_served[0]
    assert max(0, crash_at[0] - engine._AHEAD) <= first <= crash_at[0], "resumed near the page cut off"
    assert result.status == "succeeded"
    assert_equals_truth(hub)
    with hub.ready_store.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar() == 23
        statuses = [r.status for r in conn.execute(sa.select(sync_runs.c.status).order_by(sync_runs.c.id))]
    assert statuses == ["interrupted", "succeeded"]


def test_bad_record_is_quarantined_not_dropped(hub, connect, monkeypatch):
    broken = data.orders(7, 23)
    broken[4]["total"]["amount"] = "twelve dollars"
    broken[9]["status"] = "Teleported"
    monkeypatch.setattr(data, "orders", lambda seed, count: broken)
    info = connect()
    _, result = _sync(hub, info)

    assert (result.rows_read, result.rows_rejected) == (23, 2)
    assert result.status == "succeeded"
    orders = _standard(hub, "orders")
    assert len(orders) == 21
    with hub.ready_store.begin() as conn:
        errors = dict(
            conn.execute(
                sa.select(raw_records.c.record_key, raw_records.c.error).where(
                    raw_records.c.error.is_not(None)
                )
            ).all()
        )
    assert set(errors) == {f'["{broken[4]["id"]}"]', f'["{broken[9]["id"]}"]'}
    assert "gross_amount" in errors[f'["{broken[4]["id"]}"]']
    assert "Teleported" in errors[f'["{broken[9]["id"]}"]']


def test_failing_stream_is_recorded(hub, connect):
    info = connect(options={**OPTIONS, "fail_after_all": True})
    _, result = _sync(hub, info)
    assert result.status == "partial"
    assert result.errors[0]["transient"] is True and "maintenance" in result.errors[0]["error"]
    assert_equals_truth(hub)


def test_refetched_records_replace_what_they_derived(hub, connect, monkeypatch):
    """A full refresh re-sends every record; changed ones replace their rows, nothing doubles."""
    info = connect()
    _sync(hub, info)
    changed = data.orders(7, 23)
    dropped_line = changed[3]["items"].pop()
    changed[3]["total"]["amount"] = "1.00"
    changed[8]["status"] = "Teleported"  # now fails mapping: its old rows must go too
    monkeypatch.setattr(data, "orders", lambda seed, count: changed)

    source = open_source(hub.ready_store, hub.vault, hub.registry, info)
    result = asyncio.run(sync_connection(hub.ready_store, info, source, full_refresh=True))

    assert (result.status, result.rows_read, result.rows_rejected) == ("succeeded", 23, 1)
    orders, items = _standard(hub, "orders"), _standard(hub, "order_items")
    assert orders[("fakeshop", "S1", changed[3]["id"])]["gross_amount"] == 1
    assert ("fakeshop", "S1", changed[3]["id"], dropped_line["line"]) not in items
    assert ("fakeshop", "S1", changed[8]["id"]) not in orders
    expected = data.truth([o for i, o in enumerate(changed) if i != 8], shop_id="S1")
    assert set(items) == set(expected["order_items"])
    with hub.ready_store.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar() == 23


class _TwoStreams(Source):
    """A source whose first stream's credentials are refused."""

    name = "twostreams"
    platform = "twostreams"

    def streams(self):
        outer = self

        class Refused(Stream):
            name = "refused"
            primary_key = ("id",)

            def mapping(self):
                return {"version": 1, "targets": {"teams": {"fields": {"team_id": "id", "name": "name"}}}}

            async def read(self, partition, state):
                raise CredentialError("connection 'two': the platform revoked the refresh token")
                yield  # an async generator

        class Never(Refused):
            name = "never"

            async def read(self, partition, state):
                outer.reached_second = True
                return
                yield

        return [Refused(self), Never(self)]


def test_credential_error_stops_the_connection(hub):
    hub.__dict__["registry"] = load_plugins(
        entry_points=[],
        extra=[
            ("two", types.SimpleNamespace(register_sources=hookimpl(lambda register: register(_TwoStreams))))
        ],
    )
    add_connection(
        hub.ready_store, hub.vault, hub.registry, name="two", plugin="twostreams", options={}, credentials={}
    )
    info = get_connection(hub.ready_store, "two")
    source, result = _sync(hub, info)
    assert result.status == "failed"
    assert [e["stream"] for e in result.errors] == ["refused"]
    assert result.errors[0]["kind"] == "CredentialError" and result.errors[0]["transient"] is False
    assert not getattr(source, "reached_second", False)


def test_plugin_exception_is_recorded_without_the_secret(hub, connect, monkeypatch):
    monkeypatch.setenv("FAKESHOP_CRASH_AT", "0,1")
    monkeypatch.setenv("FAKESHOP_CRASH_WITH", "leak")
    info = connect(credentials={"seller_id": "A1", "api_key": "sk-LEAKY-9d2c"})
    _, result = _sync(hub, info)
    [error] = result.errors
    assert error["kind"] == "PluginBug"
    assert "access_token=***" in error["error"] and "sk-LEAKY-9d2c" not in error["error"]
    with hub.ready_store.begin() as conn:
        stored = conn.execute(sa.select(sync_runs.c.errors)).scalar_one()
    assert "sk-LEAKY-9d2c" not in str(stored)


def test_invalid_shop_option_fails_the_run_cleanly(hub, connect):
    info = connect(options={**OPTIONS, "shop_id": "S" * 200})
    _, result = _sync(hub, info)
    assert result.status == "failed"
    assert "invalid shop" in result.errors[0]["error"] and "shop_id" in result.errors[0]["error"]
    with hub.ready_store.begin() as conn:
        assert conn.execute(sa.select(sync_runs.c.status)).scalar_one() == "failed"


def test_a_page_that_cannot_be_stored_stops_its_partition_there(hub, connect):
    """The partition reads on while its pages wait; when one of them cannot be stored, the
    pages after it are not written either (the state must not pass its records), and the
    next sync resumes from it."""
    orders = data.orders(OPTIONS["seed"], OPTIONS["orders"])
    with hub.ready_store.begin() as conn:
        refuse_records(conn, [f'["{order["id"]}"]' for order in orders[10:15]], "the store refused the page")
    info = connect()
    _, result = _sync(hub, info)
    assert result.status == "partial" and "refused the page" in result.errors[0]["error"]
    with hub.ready_store.begin() as conn:
        kept = set(conn.execute(sa.select(raw_records.c.record_key)).scalars())
        state = conn.execute(sa.select(stream_states.c.state)).scalar_one()
        accept_records(conn)
    assert kept == {f'["{order["id"]}"]' for order in orders[:10]}, "pages 0 and 1 only"
    assert state == {"next_page": 2}

    source, result = _sync(hub, info)
    assert result.status == "succeeded" and source.pages_served[0] == 2
    assert_equals_truth(hub)
