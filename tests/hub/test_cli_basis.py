"""``kpihub basis show|set|history``: the counting basis from the command line."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub.cli import app
from hub.connections import ensure_tenant
from hub.settings import Settings
from hub.store import open_store
from hub.store.tables import audit_log


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_basis_versions_from_the_command_line(hub_env, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the command is the same on every database; the engine's basis tests cover the others")
    store = open_store(Settings().database_url)
    store.migrate()
    with store.begin() as conn:
        ensure_tenant(conn, "default")

    shown = run("basis", "show", "--json")
    assert shown.exit_code == 0, shown.output
    first = json.loads(shown.output)
    assert first["version"] == 1 and first["settings"]["tax_included"] is True

    changed = run("basis", "set", "tax_included=false", "fx_rate=month_average", "--note", "net of VAT")
    assert changed.exit_code == 0 and "counting basis v2 stored" in changed.output, changed.output
    second = json.loads(run("basis", "show", "--json").output)
    assert second["version"] == 2
    assert second["settings"]["tax_included"] is False and second["settings"]["fx_rate"] == "month_average"

    same = run("basis", "set", "tax_included=false")
    assert same.exit_code == 0 and "nothing changed" in same.output

    for args, message in (
        (("basis", "set", "tax_included"), "is not OPTION=VALUE"),
        (("basis", "set", "vat_mode=gross"), "options are"),
        (("basis", "set", "fx_rate=weekly"), "fx_rate"),
        (("basis", "show", "--tenant", "nobody"), "no tenant named 'nobody'"),
    ):
        bad = run(*args)
        assert bad.exit_code == 2 and message in bad.output and "Traceback" not in bad.output, bad.output
    assert json.loads(run("basis", "show", "--json").output)["version"] == 2  # bad input changed nothing

    history = run("basis", "history")
    assert history.exit_code == 0 and "net of VAT" in history.output
    with store.begin() as conn:
        actions = conn.execute(sa.select(audit_log.c.action)).scalars().all()
    assert actions.count("counting_basis.set") == 1
    store.dispose()
