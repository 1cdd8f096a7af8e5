"""The default ``files`` source: spreadsheets of staff, SKU costs and FX rates into the standard model."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from hub_env import uploads

from hub.connections import get_connection, open_source
from hub.mapping_versions import save_override
from hub.store.tables import raw_records, standard_tables
from hub.sync import remap_connection, sync_connection


def _rows(hub, table):
    with hub.ready_store.begin() as conn:
        return [dict(r) for r in conn.execute(sa.select(standard_tables[table])).mappings()]


def _sync(hub):
    info = get_connection(hub.ready_store, "sheets")
    source = open_source(hub.ready_store, hub.vault, hub.registry, info)
    return asyncio.run(sync_connection(hub.ready_store, info, source))


def test_csv_and_jsonl_files_land_as_standard_rows(hub, connect, tmp_path):
    sheets = uploads(tmp_path) / "sheets"
    sheets.mkdir()
    (sheets / "sku_costs.csv").write_text(
        "sku,valid_from,purchase_cost,first_leg_cost,currency\n"
        "SKU-001,2026-01-01,12.50,1.20,CNY\n"
        "SKU-002,2026-01-01,8.05,,CNY\n"
        "SKU-003,not a date,1,,CNY\n",
        encoding="utf-8-sig",
    )
    (sheets / "fx_rates.jsonl").write_text(
        '{"date": "2026-01-01", "currency": "CNY", "base_currency": "USD", "rate": "0.1380"}\n'
    )
    connect("sheets", plugin="files", options={"directory": "sheets"}, credentials={})

    result = _sync(hub)

    assert (result.rows_read, result.rows_rejected) == (4, 1)
    costs = {r["sku"]: r for r in _rows(hub, "sku_costs")}
    assert set(costs) == {"SKU-001", "SKU-002"}
    assert costs["SKU-001"]["purchase_cost"] == Decimal("12.50")
    assert costs["SKU-002"]["first_leg_cost"] == Decimal("0"), "an empty cell takes the model's default"
    assert costs["SKU-001"]["valid_from"] == dt.date(2026, 1, 1)
    [fx] = _rows(hub, "fx_rates")
    assert fx["rate"] == Decimal("0.1380")
    with hub.ready_store.begin() as conn:
        [error] = conn.execute(
            sa.select(raw_records.c.error).where(raw_records.c.error.is_not(None))
        ).scalars()
    assert "valid_from" in error

    unchanged = _sync(hub)
    assert unchanged.rows_read == 0, "an unchanged file is not read again"


def test_chinese_headers_through_a_mapping_override(hub, connect, tmp_path):
    sheets = uploads(tmp_path) / "sheets"
    sheets.mkdir()
    (sheets / "staff.csv").write_text("工号,姓名,团队\nE01,王芳,T1\nE02,李雷,T2\n", encoding="utf-8")
    connect("sheets", plugin="files", options={"directory": "sheets"}, credentials={})
    first = _sync(hub)
    assert first.rows_rejected == 2, "the default mapping expects English headers"

    info = get_connection(hub.ready_store, "sheets")
    source = open_source(hub.ready_store, hub.vault, hub.registry, info)
    [stream] = source.streams()
    override = {
        "targets": {"staff": {"fields": {"staff_id": '"工号"', "name": '"姓名"', "team_id": '"团队"'}}}
    }
    with hub.ready_store.begin() as conn:
        save_override(conn, info.id, stream, override, actor="test")
    remapped = remap_connection(hub.ready_store, info, source)

    assert (remapped.rows_read, remapped.rows_rejected) == (2, 0)
    assert {(r["staff_id"], r["name"], r["team_id"]) for r in _rows(hub, "staff")} == {
        ("E01", "王芳", "T1"),
        ("E02", "李雷", "T2"),
    }
    with hub.ready_store.begin() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(raw_records).where(raw_records.c.error.is_not(None))
            ).scalar()
            == 0
        )
