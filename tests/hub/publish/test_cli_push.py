"""``kpihub sink add|list`` and ``kpihub push`` end to end on SQLite, and bad input: one clear
line, a non-zero exit, nothing stored; the target's password never shows or lands in plain."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from hub_env import outputs
from typer.testing import CliRunner

from hub.cli import app
from hub.store.sink_tables import sink_watermarks, sinks

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def run(*args, input=None):
    return CliRunner().invoke(app, list(args), input=input, env={"COLUMNS": "200"})


def assert_clean_error(result, code, *fragments):
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_sink_add_list_push_and_bad_input(sink_hub, seed, tmp_path):
    store = sink_hub.ready_store
    seed(store, 300)
    # The URL is a secret: here its file name stands for the password a server URL carries.
    target = outputs(tmp_path) / "seller-hunter2-secret.db"
    secret_url = "sqlite:///seller-hunter2-secret.db"
    (tmp_path / "db.yaml").write_text("batch_size: 100\n")
    (tmp_path / "bad.yaml").write_text("batch_size: 0\n")

    added = run(
        "sink",
        "add",
        "warehouse",
        "--plugin",
        "database",
        "--options",
        "db.yaml",
        "--credentials",
        "-",
        "--tables",
        "kpi_fact,dim_metric",
        input=json.dumps({"url": secret_url}),
    )
    assert added.exit_code == 0, added.output
    assert "credentials encrypted" in added.stdout

    listed = run("sink", "list", "--json")
    assert listed.exit_code == 0, listed.output
    [public] = json.loads(listed.stdout)
    assert public["credentials"] == "set" and public["tables"] == ["kpi_fact", "dim_metric"]
    assert "hunter2" not in listed.stdout
    with store.begin() as conn:
        stored = conn.execute(sa.select(sinks.c.credentials)).scalar_one()
    assert "hunter2" not in stored

    pushed = run("push", "warehouse")
    assert pushed.exit_code == 0, pushed.output
    assert "kpi_fact: replaced, 300 rows" in pushed.stdout
    again = run("push", "warehouse")
    assert "kpi_fact: skipped" in again.stdout
    full = run("push", "warehouse", "--full", "--tables", "kpi_fact")
    assert "kpi_fact: replaced, 300 rows" in full.stdout and "dim_metric" not in full.stdout
    engine = sa.create_engine(f"sqlite:///{target}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM kpi_fact")).scalar() == 300
    engine.dispose()

    # Bad input: nothing is stored, one clear line.
    assert_clean_error(run("sink", "add", "x", "--plugin", "nope", "--options", "db.yaml"), 2, "nope")
    assert_clean_error(
        run(
            "sink",
            "add",
            "x",
            "--plugin",
            "database",
            "--options",
            "bad.yaml",
            "--credentials",
            "-",
            input=json.dumps({"url": secret_url}),
        ),
        2,
        "batch_size",
    )
    assert_clean_error(
        run("sink", "add", "x", "--plugin", "database", "--options", "db.yaml"), 2, "needs credentials"
    )
    assert_clean_error(
        run(
            "sink",
            "add",
            "x",
            "--plugin",
            "database",
            "--options",
            "db.yaml",
            "--tables",
            "kpi_facts",
            "--credentials",
            "-",
            input=json.dumps({"url": secret_url}),
        ),
        2,
        "kpi_facts",
    )
    assert_clean_error(run("push", "missing"), 2, "no sink named 'missing'")
    assert_clean_error(run("push", "warehouse", "--tables", "nope"), 2, "unknown tables")
    with store.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sinks)).scalar() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(sink_watermarks)).scalar() == 2


def test_a_push_that_fails_names_the_table_and_exits_non_zero(sink_hub, seed, tmp_path):
    seed(sink_hub.ready_store, 10)
    (tmp_path / "db.yaml").write_text("{}\n")
    (outputs(tmp_path) / "target.db").mkdir()  # a directory where the database file should be
    url = "sqlite:///target.db"
    assert (
        run(
            "sink",
            "add",
            "broken",
            "--plugin",
            "database",
            "--options",
            "db.yaml",
            "--credentials",
            "-",
            input=json.dumps({"url": url}),
        ).exit_code
        == 0
    )
    result = run("push", "broken")
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    assert "target database" in result.stderr or "target database" in result.stdout


def test_the_sink_plugins_load_cleanly(sink_hub):
    registry = sink_hub.registry
    assert {"database", "powerbi", "tableau"} <= set(registry.sinks)
    assert [p.error for p in registry.plugins if p.name in ("database", "powerbi", "tableau")] == [None] * 3
