"""A planted secret must never appear in the database, logs, reprs, errors or CLI output."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from hub.cli import app
from hub.connections import get_connection, open_source
from hub.context import HubContext
from hub.plugins import load_plugins
from hub.store import open_store
from hub.store.tables import metadata

SECRET = "sk-PLANTED-7f3a9c1e5b"
REJECTED = "nope-PLANTED-2d8e4f6a1c"


def _dump_database(url: str) -> str:
    """Every value of every table, as text."""
    store = open_store(url)
    chunks = []
    try:
        with store.begin() as conn:
            for table in metadata.sorted_tables:
                for row in conn.execute(sa.select(table)):
                    chunks.append(json.dumps(list(row), default=str))
    finally:
        store.dispose()
    return "\n".join(chunks)


def test_planted_secret_never_leaks(hub_env, fake_dist, database_url, caplog, capfd, monkeypatch):
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    outputs = []

    def run(*args, input=None):
        result = runner.invoke(app, list(args), input=input, env={"COLUMNS": "200"})
        outputs.append(result.output + result.stderr)
        return result

    (hub_env / "options.json").write_text(json.dumps({"shop_id": "S1", "orders": 6}))
    assert run("init").exit_code == 0
    good = json.dumps({"seller_id": "A1", "api_key": SECRET})
    bad = json.dumps({"seller_id": "A2", "api_key": REJECTED})
    assert (
        run(
            "connection",
            "add",
            "good",
            "--plugin",
            "fakeshop",
            "--options",
            "options.json",
            "--credentials",
            "-",
            input=good,
        ).exit_code
        == 0
    )
    assert (
        run(
            "connection",
            "add",
            "bad",
            "--plugin",
            "fakeshop",
            "--options",
            "options.json",
            "--credentials",
            "-",
            input=bad,
        ).exit_code
        == 0
    )
    # Invalid credentials echo nothing back either (pydantic would normally show the input).
    invalid = json.dumps({"seller_id": "A3", "api_key": {"nested": SECRET}})
    assert (
        run(
            "connection",
            "add",
            "x",
            "--plugin",
            "fakeshop",
            "--options",
            "options.json",
            "--credentials",
            "-",
            input=invalid,
        ).exit_code
        == 2
    )
    assert run("sync", "good").exit_code == 0
    # A careless plugin quotes its token in an exception: the run record and the terminal
    # get it masked.
    monkeypatch.setenv("FAKESHOP_CRASH_AT", "0,0")
    monkeypatch.setenv("FAKESHOP_CRASH_WITH", "leak")
    leaked = run("sync", "good", "--full-refresh")
    assert leaked.exit_code == 1 and "access_token=***" in leaked.stderr
    monkeypatch.delenv("FAKESHOP_CRASH_AT")
    rejected = run("sync", "bad")
    assert rejected.exit_code == 1 and "rejected the api key" in rejected.stderr
    assert run("connection", "list", "--json").exit_code == 0
    assert run("connection", "list").exit_code == 0

    ctx = HubContext()
    ctx.__dict__["registry"] = load_plugins()
    source = open_source(ctx.ready_store, ctx.vault, ctx.registry, get_connection(ctx.ready_store, "good"))
    assert source.credentials.api_key.get_secret_value() == SECRET, "the secret is stored and usable"
    reprs = [repr(source.credentials), str(source.credentials), repr(ctx.vault), repr(source.options)]
    ctx.close()

    captured = capfd.readouterr()
    haystacks = {
        "database": _dump_database(database_url),
        "log records": "\n".join(r.getMessage() for r in caplog.records),
        "cli output": "\n".join(outputs),
        "process output": captured.out + captured.err,
        "reprs": "\n".join(reprs),
    }
    assert haystacks["log records"], "the fake plugin logged its credential check"
    for where, text in haystacks.items():
        for planted in (SECRET, REJECTED):
            assert planted not in text, f"secret found in {where}"
    if database_url.startswith("sqlite:///"):  # the file's bytes too, free pages and journal included
        db = Path(database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())
        assert SECRET.encode() not in raw
        assert REJECTED.encode() not in raw
