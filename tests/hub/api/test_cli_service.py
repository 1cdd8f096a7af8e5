"""``kpihub apikey create`` prints a working key once; ``kpihub serve`` refuses contradictory flags."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.store.service_tables import api_keys
from hub.store.tables import audit_log

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def run(*args):
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})


def test_apikey_create_makes_the_tenant_and_a_key_that_works(hub, client):
    result = run("apikey", "create", "--tenant", "acme", "--role", "agency", "--shops", "S1, S2")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("kph_")
    tenants = client.get("/api/v1/tenants", headers={"Authorization": f"Bearer {key}"}).json()
    assert [t["name"] for t in tenants["items"]] == ["acme"]
    with hub.ready_store.begin() as conn:
        row = conn.execute(sa.select(api_keys)).one()
        audit = [str(r) for r in conn.execute(sa.select(audit_log))]
    assert row.role == "agency" and row.scope["shops"] == ["S1", "S2"]
    assert key not in str(row) and key[12:] not in " ".join(audit)  # only the hash and the prefix are kept


def test_bad_role_and_contradictory_flags_are_clear_errors(hub):
    bad = run("apikey", "create", "--tenant", "acme", "--role", "boss")
    assert bad.exit_code == 2 and "unknown role 'boss'" in bad.stderr and "admin" in bad.stderr
    both = run("serve", "--no-scheduler", "--scheduler-only")
    assert both.exit_code == 2 and "exclude each other" in both.stderr
    with hub.ready_store.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(api_keys)).scalar_one() == 0
