"""Destinations are checked by what they resolve to, not by how they are spelt."""

from __future__ import annotations

import os

import pytest

from hub.destinations import Egress, changed_destinations, check_fields, place_fields
from hub.egress import EgressPolicy, EgressRefused, host_matches
from plugins.database.sink import DatabaseCredentials
from plugins.tableau.sink import TableauOptions
from sdk import ConfigError

PG = "postgresql+psycopg://kpihub:pw@127.0.0.1:5432/test"


def _egress(tmp_path, allow="loopback", store=PG):
    return Egress(policy=EgressPolicy.parse(allow), data_dir=tmp_path / "data", store_url=store)


def test_host_patterns_match_subdomains_only():
    assert host_matches("prod-apnortheast-a.online.tableau.com", ["*.online.tableau.com"])
    assert not host_matches("online.tableau.com.evil.example", ["*.online.tableau.com"])
    assert not host_matches("evilonline.tableau.com", ["*.online.tableau.com"])
    assert host_matches("API.Amazon.com.", ["api.amazon.com"])


def test_the_policy_parses_names_ranges_and_words_and_refuses_junk():
    policy = EgressPolicy.parse("loopback, 10.1.0.0/16, *.corp.example")
    assert policy.allows_host("127.0.0.5") and policy.allows_host("localhost")
    assert policy.allows_host("10.1.2.3") and not policy.allows_host("10.2.0.1")
    assert policy.allows_host("bi.corp.example") and not policy.allows_host("corp.example.evil")
    with pytest.raises(ConfigError, match="KPIHUB_EGRESS_ALLOW"):
        EgressPolicy.parse("http://x/")


def test_paths_stay_in_the_tenant_area_whatever_their_spelling(tmp_path):
    egress = _egress(tmp_path)
    placed = place_fields(TableauOptions, {"file": "kpi.hyper"}, egress=egress, tenant="acme", owner="sink")
    assert placed["file"] == str((tmp_path / "data" / "acme" / "outputs" / "kpi.hyper").resolve())
    escape = tmp_path / "data" / "acme" / "outputs" / "link"
    os.symlink(tmp_path, escape)
    for value in (
        "../../beta/outputs/kpi.hyper",
        str(tmp_path / "kpi.hyper"),
        "link/kpi.hyper",
        "~/kpi.hyper",
    ):
        with pytest.raises(EgressRefused, match="outside the tenant's area"):
            check_fields(TableauOptions, {"file": value}, egress=egress, tenant="acme", owner="sink")


def test_a_tenant_name_that_is_no_folder_name_gets_a_hashed_one(tmp_path):
    egress = _egress(tmp_path)
    areas = egress.areas("../../etc")
    assert areas.root.parent == (tmp_path / "data").resolve() and areas.root.name.startswith("tenant-")


def test_the_hubs_own_database_is_refused_another_schema_is_not(tmp_path):
    egress = _egress(tmp_path, store=PG + "?options=-csearch_path%3Dhub")
    same = [
        PG + "?options=-csearch_path%3Dhub",
        PG.replace("127.0.0.1", "localhost") + "?options=-csearch_path%3Dhub",
    ]
    for url in same:
        with pytest.raises(EgressRefused, match="the hub's own store"):
            check_fields(DatabaseCredentials, {"url": url}, egress=egress, tenant="acme", owner="sink")
    check_fields(
        DatabaseCredentials,
        {"url": PG + "?options=-csearch_path%3Dclient"},
        egress=egress,
        tenant="acme",
        owner="sink",
    )
    with pytest.raises(EgressRefused, match="loopback, private or link-local"):
        check_fields(
            DatabaseCredentials, {"url": PG}, egress=_egress(tmp_path, allow=""), tenant="acme", owner="s"
        )
    with pytest.raises(EgressRefused, match="not a socket"):
        check_fields(
            DatabaseCredentials,
            {"url": "postgresql+psycopg://u:p@db.example/x?host=/var/run/postgresql"},
            egress=egress,
            tenant="acme",
            owner="sink",
        )


def test_a_changed_destination_is_named_and_a_same_one_is_not():
    before = {"directory": "a", "server_url": "https://x.online.tableau.com", "project": "p"}
    assert changed_destinations(TableauOptions, before, {**before, "project": "q"}) == []
    assert changed_destinations(
        TableauOptions, before, {**before, "server_url": "https://y.online.tableau.com"}
    ) == ["server_url"]
