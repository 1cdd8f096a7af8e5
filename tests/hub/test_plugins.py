"""Loading plugins: defaults, entry points, broken and duplicate plugins, the allow-list."""

from __future__ import annotations

import asyncio
import importlib.metadata as md
import json
import sys
import types

import fakeshop
import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.plugins import load_plugins
from sdk import MetricDefinition, MetricProvider, NotFound, Sink, Source, TableBatch, hookimpl


def _entry_point(name, value):
    return md.EntryPoint(name=name, value=value, group="kpihub")


def _module(name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def test_defaults_and_entry_point_plugins_load(monkeypatch):
    monkeypatch.setitem(sys.modules, "fakeshop_ep", fakeshop)
    registry = load_plugins(entry_points=[_entry_point("fakeshop", "fakeshop_ep")])
    by_name = {p.name: p for p in registry.plugins}
    assert by_name["files"].origin == "default"
    assert by_name["files"].registered == {"sources": ["files"]}
    assert by_name["fakeshop"].origin == "entry_point"
    assert by_name["fakeshop"].hooks == ["register_sources"]
    assert set(registry.sources) == {"files", "fakeshop"}
    assert registry.errors == []


def test_broken_plugin_is_recorded_and_skipped():
    registry = load_plugins(
        entry_points=[
            _entry_point("broken", "kpihub_no_such_module_xyz"),
            _entry_point("fakeshop", "fakeshop"),
        ]
    )
    broken = next(p for p in registry.plugins if p.name == "broken")
    assert (
        broken.error and "ModuleNotFoundError" in broken.error and "kpihub_no_such_module_xyz" in broken.error
    )
    assert "fakeshop" in registry.sources, "a broken plugin must not stop the others"


def test_plugin_whose_hook_raises_is_recorded():
    @hookimpl
    def register_sources(register):
        raise RuntimeError("boom in hook")

    registry = load_plugins(
        entry_points=[], extra=[("explodes", _module("explodes", register_sources=register_sources))]
    )
    assert "boom in hook" in next(p for p in registry.plugins if p.name == "explodes").error
    assert "files" in registry.sources


def test_duplicate_name_names_both_plugins():
    clone = _module("clone", register_sources=hookimpl(lambda register: register(fakeshop.FakeShopSource)))
    registry = load_plugins(entry_points=[], extra=[("fakeshop", fakeshop), ("clone", clone)])
    error = next(p for p in registry.plugins if p.name == "clone").error
    assert "'fakeshop'" in error and "'clone'" in error
    assert registry.sources["fakeshop"] is fakeshop.FakeShopSource


def test_plain_secret_field_is_refused():
    class Leaky(Source):
        name = "leaky"
        platform = "leaky"

        class Credentials(Source.Credentials):
            api_token: str

        def streams(self):
            return []

    leaky = _module("leaky", register_sources=hookimpl(lambda register: register(Leaky)))
    registry = load_plugins(entry_points=[], extra=[("leaky", leaky)])
    error = next(p for p in registry.plugins if p.name == "leaky").error
    assert "api_token" in error and "SecretStr" in error
    assert "leaky" not in registry.sources


def test_allow_list_limits_entry_points():
    eps = [_entry_point("fakeshop", "fakeshop"), _entry_point("broken", "kpihub_no_such_module_xyz")]
    registry = load_plugins(load_plugins="fakeshop", entry_points=eps)
    assert [p.name for p in registry.plugins] == ["files", "metrics", "fakeshop"]
    assert load_plugins(load_plugins="", entry_points=eps).sources.keys() == {"files"}


def test_unknown_source_names_the_installed_ones():
    registry = load_plugins(entry_points=[])
    with pytest.raises(NotFound, match=r"no source plugin named 'amazn' is installed \(installed: files\)"):
        registry.source("amazn")


def test_cli_plugins_json_lists_installed_entry_points(fake_dist, monkeypatch):
    broken = fake_dist / "kpihub_broken-0.1.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nName: kpihub-broken\nVersion: 0.1\n")
    (broken / "entry_points.txt").write_text("[kpihub]\nbroken = kpihub_broken_missing\n")
    monkeypatch.delenv("KPIHUB_LOAD_PLUGINS", raising=False)

    result = CliRunner().invoke(app, ["plugins", "--json"])

    assert result.exit_code == 0, result.output
    listed = {p["name"]: p for p in json.loads(result.stdout)}
    assert listed["files"]["origin"] == "default"
    assert listed["fakeshop"]["version"] == "1.0.0"
    assert listed["fakeshop"]["registered"] == {"sources": ["fakeshop"]}
    assert "kpihub_broken_missing" in listed["broken"]["error"]


def test_cli_plugins_table(fake_dist):
    result = CliRunner().invoke(app, ["plugins"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "fakeshop" in result.stdout and "register_sources" in result.stdout


class MemorySink(Sink):
    name = "memory"

    def __init__(self, options, credentials):
        super().__init__(options, credentials)
        self.tables = {}

    async def push(self, batch: TableBatch, *, full: bool) -> int:
        target = self.tables.setdefault(batch.table, {})
        if full:
            target.clear()
        for row in batch.rows:
            target[tuple(row[k] for k in batch.key)] = row
        return len(batch.rows)


class TinyMetrics(MetricProvider):
    name = "tiny"

    def definitions(self):
        return [
            MetricDefinition(
                metric_id="orders",
                name_en="Orders",
                name_zh="订单数",
                family="sales",
                kind="simple",
                unit="count",
                direction="higher_is_better",
                formula="count(order_id)",
                table="orders",
                column="order_id",
                aggregate="count",
            )
        ]


def test_sinks_and_metric_providers_register():
    @hookimpl
    def register_sinks(register):
        register(MemorySink)

    @hookimpl
    def register_metric_providers(register):
        register(TinyMetrics())

    plugin = _module(
        "extras", register_sinks=register_sinks, register_metric_providers=register_metric_providers
    )
    registry = load_plugins(entry_points=[], extra=[("extras", plugin)])
    info = next(p for p in registry.plugins if p.name == "extras")
    assert info.hooks == ["register_metric_providers", "register_sinks"]
    assert info.registered == {"sinks": ["memory"], "metric_providers": ["tiny"]}
    assert registry.sink("memory") is MemorySink
    assert [d.metric_id for d in registry.metric_providers["tiny"].definitions()] == ["orders"]

    sink = MemorySink(MemorySink.Options(), MemorySink.Credentials())
    batch = TableBatch(
        "kpi_fact",
        {"metric_id": "str", "value": "decimal"},
        ["metric_id"],
        [{"metric_id": "gmv", "value": 1}],
    )
    assert asyncio.run(sink.push(batch, full=False)) == 1
    assert asyncio.run(sink.push(batch, full=False)) == 1
    assert sink.tables == {"kpi_fact": {("gmv",): {"metric_id": "gmv", "value": 1}}}


def test_wrong_kind_of_registration_is_a_load_error():
    @hookimpl
    def register_metric_providers(register):
        register(TinyMetrics)  # the class, not an instance

    plugin = _module("confused", register_metric_providers=register_metric_providers)
    registry = load_plugins(entry_points=[], extra=[("confused", plugin)])
    error = next(p for p in registry.plugins if p.name == "confused").error
    assert "not a MetricProvider instance" in error
    assert set(registry.metric_providers) == {"kpihub"}  # only the hub's default catalogue


def test_unknown_hook_disables_only_that_plugin():
    @hookimpl
    def register_sourcez(register):
        pass

    typo = _module("typo", register_sourcez=register_sourcez)
    registry = load_plugins(entry_points=[], extra=[("typo", typo), ("fakeshop", fakeshop)])
    error = next(p for p in registry.plugins if p.name == "typo").error
    assert "register_sourcez" in error and "does not define" in error
    assert set(registry.sources) == {"files", "fakeshop"}


def test_plugin_that_exits_at_import_is_recorded(monkeypatch):
    class Exiting(types.ModuleType):
        def __getattr__(self, name):
            raise SystemExit(3)

    monkeypatch.setitem(sys.modules, "kpihub_exiting", Exiting("kpihub_exiting"))
    registry = load_plugins(entry_points=[_entry_point("exiting", "kpihub_exiting:plugin")])
    assert "SystemExit" in next(p for p in registry.plugins if p.name == "exiting").error
    assert "files" in registry.sources


def test_same_entry_point_name_from_two_distributions(fake_dist):
    other = fake_dist / "kpihub_fakeshop_fork-2.0.dist-info"
    other.mkdir()
    (other / "METADATA").write_text("Metadata-Version: 2.1\nName: kpihub-fakeshop-fork\nVersion: 2.0\n")
    (other / "entry_points.txt").write_text("[kpihub]\nfakeshop = fakeshop\n")
    registry = load_plugins()
    rows = [p for p in registry.plugins if p.name == "fakeshop"]
    assert len(rows) == 2
    [failed] = [p for p in rows if p.error]
    assert "kpihub-fakeshop" in failed.error and "kpihub-fakeshop-fork" in failed.error
    assert registry.sources["fakeshop"] is fakeshop.FakeShopSource
