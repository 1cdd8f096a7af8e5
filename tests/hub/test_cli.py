"""The CLI end to end, and bad input everywhere: one clear line, a non-zero exit, no change."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from hub_env import uploads
from typer.testing import CliRunner

from hub.cli import app
from hub.store import open_store
from hub.store.tables import connections, mapping_versions, standard_tables

CREDENTIALS = json.dumps({"seller_id": "A1", "api_key": "sk-cli-secret-1"})


def run(*args, input=None, env=None):
    return CliRunner().invoke(app, list(args), input=input, env={"COLUMNS": "200", **(env or {})})


def add(name, plugin="fakeshop", options="options.yaml", credentials=CREDENTIALS):
    """``kpihub connection add`` with the credentials on standard input."""
    args = ["connection", "add", name, "--plugin", plugin, "--options", options, "--credentials", "-"]
    return run(*args, input=credentials)


def assert_handled(result):
    """The command ended through a deliberate exit, not an exception escaping it."""
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)


def assert_clean_error(result, code, *fragments):
    assert result.exit_code == code, result.output
    assert_handled(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def cli_hub(hub_env, fake_dist, tmp_path):
    """An initialised store with one fake-shop connection added through the CLI."""
    assert run("init").exit_code == 0
    (tmp_path / "options.yaml").write_text("shop_id: S1\norders: 12\npage_size: 5\n")
    added = add("shop1")
    assert added.exit_code == 0, added.output
    return tmp_path


def _count(url, table):
    store = open_store(url)
    try:
        with store.begin() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
    finally:
        store.dispose()


def test_init_is_idempotent(hub_env):
    first = run("init")
    assert first.exit_code == 0 and "migrated from empty" in first.stdout
    second = run("init")
    assert second.exit_code == 0 and "up to date" in second.stdout


def test_connection_sync_and_list(cli_hub):
    synced = run("sync", "shop1")
    assert synced.exit_code == 0, synced.output
    assert "succeeded: 12 records read" in synced.stdout
    listed = run("connection", "list", "--json")
    assert json.loads(listed.stdout) == [
        {
            "name": "shop1",
            "tenant": "default",
            "plugin": "fakeshop",
            "status": "active",
            "options": {"shop_id": "S1", "seed": 7, "orders": 12, "page_size": 5, "fail_after_all": False},
            "credentials": "set",
        }
    ]


def test_mapping_change_then_remap_changes_rows_without_fetching(cli_hub, monkeypatch, database_url):
    assert run("sync", "shop1").exit_code == 0
    (cli_hub / "override.json").write_text(
        json.dumps({"targets": {"orders": {"fields": {"buyer_country": {"const": "CA"}}}}})
    )
    saved = run("mapping", "set", "shop1", "orders", "override.json", "--note", "all orders ship to Canada")
    assert saved.exit_code == 0, saved.output
    # Any fetch from the platform during remap would crash the fake source here.
    monkeypatch.setenv("FAKESHOP_CRASH_AT", "0,0")

    remapped = run("remap", "shop1")

    assert remapped.exit_code == 0, remapped.output
    store = open_store(database_url)
    with store.begin() as conn:
        countries = conn.execute(sa.select(standard_tables["orders"].c.buyer_country)).scalars().all()
    store.dispose()
    assert len(countries) == 12 and set(countries) == {"CA"}
    history = run("mapping", "history", "shop1", "orders")
    assert "version 1" in history.stdout and "Canada" in history.stdout
    assert run("mapping", "rollback", "shop1", "orders", "0").exit_code == 0
    assert run("remap", "shop1").exit_code == 0
    store = open_store(database_url)
    with store.begin() as conn:
        assert set(conn.execute(sa.select(standard_tables["orders"].c.buyer_country)).scalars()) == {"US"}
    store.dispose()


def test_mapping_preview_shows_rows_and_errors(cli_hub):
    assert run("sync", "shop1").exit_code == 0
    (cli_hub / "bad_status.json").write_text(
        json.dumps(
            {
                "targets": {
                    "orders": {
                        "fields": {
                            "status": {
                                "path": "status",
                                "transforms": [{"map_values": {"values": {"Paid": "paid"}}}],
                            }
                        }
                    }
                }
            }
        )
    )
    shown = run("mapping", "preview", "shop1", "orders", "--file", "bad_status.json", "--limit", "12")
    assert shown.exit_code == 0, shown.output
    results = json.loads(shown.stdout)
    assert len(results) == 12
    assert any(r["errors"] for r in results) and any(r["rows"] for r in results)


def test_malformed_mapping_file(cli_hub, database_url):
    (cli_hub / "broken.yaml").write_text("targets:\n  orders: [unclosed\n")
    assert_clean_error(
        run("mapping", "set", "shop1", "orders", "broken.yaml"),
        5,
        "broken.yaml:3:1",
        "malformed YAML",
    )
    (cli_hub / "typo.yaml").write_text("shop_id: S1\norders: [unclosed\n")
    assert_clean_error(
        run("connection", "add", "x", "--plugin", "fakeshop", "--options", "typo.yaml"),
        2,
        "typo.yaml is neither valid JSON nor valid YAML at line 3",
    )
    assert _count(database_url, mapping_versions) == 0


def test_invalid_mapping_lists_every_problem(cli_hub, database_url):
    (cli_hub / "bad.json").write_text(
        json.dumps(
            {
                "targets": {
                    "orders": {
                        "fields": {
                            "colour": "x",
                            "created_at": {"path": "created[", "transforms": ["parse_timestamp"]},
                            "gross_amount": {"path": "total.amount", "transforms": ["no_such_transform"]},
                        }
                    }
                }
            }
        )
    )
    result = run("mapping", "set", "shop1", "orders", "bad.json")
    assert_clean_error(result, 5, "nothing was saved", "colour", "created_at", "no_such_transform")
    assert _count(database_url, mapping_versions) == 0


def test_unknown_connection(cli_hub):
    assert_clean_error(run("sync", "shop2"), 2, "no connection named 'shop2'", "shop1")
    assert_clean_error(run("remap", "shop2"), 2, "no connection named 'shop2'")


def test_unknown_plugin_and_bad_options_change_nothing(cli_hub, database_url):
    assert_clean_error(
        add("x", plugin="amazn"),
        2,
        "no source plugin named 'amazn'",
    )
    (cli_hub / "typo.yaml").write_text("shop_id: S1\npage_sise: 5\n")
    assert_clean_error(
        add("x", options="typo.yaml"),
        2,
        "page_sise",
    )
    assert_clean_error(
        add("x", credentials='{"seller_id": "A1"}'),
        2,
        "api_key",
    )
    assert_clean_error(
        add("shop1"),
        2,
        "already exists",
    )
    assert _count(database_url, connections) == 1


def test_wrong_master_key(cli_hub, tmp_path, database_url):
    other = tmp_path / "other.key"
    assert run("keys", "create", "--file", str(other)).exit_code == 0
    result = run("sync", "shop1", env={"KPIHUB_MASTER_KEY_FILE": str(other)})
    assert_clean_error(result, 3, "not the one this store's credentials are encrypted with")
    assert _count(database_url, standard_tables["orders"]) == 0


def test_missing_and_placeholder_keys(cli_hub, monkeypatch):
    monkeypatch.delenv("KPIHUB_MASTER_KEY_FILE")
    assert_clean_error(run("sync", "shop1"), 2, "no master key", "kpihub keys create")
    monkeypatch.setenv("KPIHUB_MASTER_KEY", "A" * 43 + "=")
    assert_clean_error(run("sync", "shop1"), 2, "placeholder")
    monkeypatch.setenv("KPIHUB_MASTER_KEY", "change-me")
    assert_clean_error(run("sync", "shop1"), 2, "not a valid master key")


def test_database_that_cannot_connect(hub_env, monkeypatch):
    monkeypatch.setenv("KPIHUB_DATABASE_URL", "postgresql+psycopg://kpihub:hunter2@127.0.0.1:1/nowhere")
    result = run("connection", "list")
    assert_clean_error(result, 4, "cannot connect to the store", "127.0.0.1:1")
    assert "hunter2" not in result.output
    monkeypatch.setenv("KPIHUB_DATABASE_URL", "not a url")
    assert_clean_error(run("init"), 4, "KPIHUB_DATABASE_URL is not a database URL")


def test_uninitialised_store(hub_env):
    assert_clean_error(run("connection", "list"), 4, "run `kpihub init`")


def test_plugin_bug_fails_the_run_without_a_traceback(cli_hub, monkeypatch):
    monkeypatch.setenv("FAKESHOP_CRASH_AT", "1,0")
    monkeypatch.setenv("FAKESHOP_CRASH_WITH", "bug")
    result = run("sync", "shop1")
    assert result.exit_code == 1
    assert_handled(result)
    assert "plugin 'fakeshop' failed unexpectedly: KeyError" in result.stderr
    assert "sync run 1 partial: 5 records read" in result.stdout


def test_missing_credentials_say_how_to_give_them(cli_hub):
    assert_clean_error(
        run("connection", "add", "x", "--plugin", "fakeshop", "--options", "options.yaml"),
        2,
        "needs credentials (seller_id, api_key)",
        "--credentials -",
    )


def test_remap_refuses_a_mapping_that_would_quarantine_good_records(cli_hub, database_url):
    assert run("sync", "shop1").exit_code == 0
    (cli_hub / "strict.json").write_text(
        json.dumps(
            {
                "targets": {
                    "orders": {
                        "fields": {
                            "created_at": {
                                "path": "created",
                                "transforms": [{"parse_timestamp": {"format": "%d/%m/%Y"}}],
                            }
                        }
                    }
                }
            }
        )
    )
    assert run("mapping", "set", "shop1", "orders", "strict.json").exit_code == 0

    refused = run("remap", "shop1")

    assert refused.exit_code == 1
    assert_handled(refused)
    assert "would quarantine 12 record(s) that map today; nothing was changed" in refused.stderr
    assert _count(database_url, standard_tables["orders"]) == 12
    forced = run("remap", "shop1", "--force")
    assert forced.exit_code == 0
    assert "12 quarantined" in forced.stdout
    assert _count(database_url, standard_tables["orders"]) == 0


def test_mapping_with_an_unknown_time_directive_is_refused(cli_hub):
    (cli_hub / "odd.json").write_text(
        json.dumps(
            {
                "targets": {
                    "orders": {
                        "fields": {
                            "created_at": {
                                "path": "created",
                                "transforms": [{"parse_timestamp": {"format": "%Q"}}],
                            }
                        }
                    }
                }
            }
        )
    )
    assert_clean_error(run("mapping", "set", "shop1", "orders", "odd.json"), 5, "bad directive", "created_at")


def test_error_text_with_markup_characters_is_printed_verbatim(hub_env, tmp_path):
    assert run("init").exit_code == 0
    weird = uploads(tmp_path) / "jd[" / "]"  # its path reads like a closing markup tag: jd[/]
    weird.mkdir(parents=True)
    (weird / "teams.jsonl").write_text("{not json\n")
    (tmp_path / "weird.json").write_text(json.dumps({"directory": "jd[/]"}))
    assert run("connection", "add", "j1", "--plugin", "files", "--options", "weird.json").exit_code == 0
    result = run("sync", "j1")
    assert result.exit_code == 1
    assert_handled(result)
    assert "jd[/]/teams.jsonl line 1 is not JSON" in result.stderr


def test_sync_several_connections_together(cli_hub, database_url):
    (cli_hub / "options2.yaml").write_text("shop_id: S2\norders: 7\nseed: 3\n")
    assert add("shop2", options="options2.yaml").exit_code == 0
    result = run("sync", "--all")
    assert result.exit_code == 0, result.output
    assert "shop1" in result.stdout and "shop2" in result.stdout
    assert result.stdout.count("succeeded") == 2
    assert _count(database_url, standard_tables["orders"]) == 12 + 7
    assert_clean_error(run("sync"), 2, "name the connections to sync, or pass --all")
    assert_clean_error(run("sync", "shop1", "--all"), 2, "not both")


def test_since_must_be_a_date(cli_hub):
    assert_clean_error(run("sync", "shop1", "--since", "last week"), 2, "--since 'last week' is not a date")
    assert run("sync", "shop1", "--since", "2026-01-01").exit_code == 0
