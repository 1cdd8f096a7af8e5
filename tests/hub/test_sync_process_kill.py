"""A real ``kpihub sync`` process killed with SIGKILL mid-page resumes with nothing lost or doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from fakeshop import data

from hub.store import open_store
from hub.store.tables import raw_records, standard_tables

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _kpihub(*args, env, input=None):
    command = [sys.executable, "-c", "from hub.cli import main; main()", *args]
    return subprocess.run(command, env=env, input=input, capture_output=True, text=True, timeout=120)


def test_sigkill_mid_sync_then_resume(hub_env, fake_dist, database_url):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(fake_dist), str(FIXTURES), os.environ.get("PYTHONPATH", "")]),
    }
    (hub_env / "options.json").write_text(json.dumps({"shop_id": "S1", "orders": 23, "page_size": 5}))
    assert _kpihub("init", env=env).returncode == 0
    added = _kpihub(
        "connection",
        "add",
        "shop1",
        "--plugin",
        "fakeshop",
        "--options",
        "options.json",
        "--credentials",
        "-",
        env=env,
        input=json.dumps({"seller_id": "A1", "api_key": "sk-kill"}),
    )
    assert added.returncode == 0, added.stderr

    killed = _kpihub(
        "sync", "shop1", env={**env, "FAKESHOP_CRASH_AT": "3,2", "FAKESHOP_CRASH_WITH": "sigkill"}
    )
    assert killed.returncode == -signal.SIGKILL
    store = open_store(database_url)
    with store.begin() as conn:
        kept = conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar()
    # Pages 0-2 were read before the kill; those written by then were written whole, with the
    # state past them (the partition reads on while its pages wait, so some may not be).
    assert kept in (0, 5, 10, 15)

    resumed = _kpihub("sync", "shop1", env=env)
    assert resumed.returncode == 0, resumed.stderr
    # The resumed run reads only what was not kept.
    assert f"succeeded: {23 - kept} records read" in resumed.stdout

    expected = data.truth(data.orders(7, 23), shop_id="S1")
    with store.begin() as conn:
        orders = conn.execute(sa.select(standard_tables["orders"].c.order_id)).scalars().all()
        items = conn.execute(sa.select(sa.func.count()).select_from(standard_tables["order_items"])).scalar()
        raws = conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar()
    store.dispose()
    assert sorted(orders) == sorted(key[2] for key in expected["orders"])
    assert items == len(expected["order_items"])
    assert raws == 23
