"""The hub refuses a plugin built for another SDK major version, and says so by name."""

from __future__ import annotations

import types

import fakeshop
import pytest

import sdk
from hub.plugins import load_plugins
from sdk import hookimpl


def _plugin(name, sdk_version):
    module = types.ModuleType(name)
    module.__sdk_version__ = sdk_version

    @hookimpl
    def register_sources(register):
        register(fakeshop.FakeShopSource)

    module.register_sources = register_sources
    return module


def _major():
    return int(sdk.__version__.split(".")[0])


@pytest.mark.parametrize("declared", [f"{_major() + 1}.0.0", f"{_major() - 1}.9"])
def test_plugin_for_another_sdk_major_is_refused_with_both_versions(declared):
    registry = load_plugins(entry_points=[], extra=[("oldshop", _plugin("oldshop", declared))])

    [info] = [p for p in registry.plugins if p.name == "oldshop"]
    assert info.error == (
        f"PluginError: plugin 'oldshop' was built for kpihub SDK {declared} but this hub provides "
        f"SDK {sdk.__version__}; install a release of the plugin built for SDK {_major()}.x"
    )
    assert "fakeshop" not in registry.sources, "nothing of the refused plugin is registered"
    assert registry.source("files"), "the other plugins still load"


def test_plugin_for_the_same_major_loads():
    declared = f"{_major()}.{int(sdk.__version__.split('.')[1]) + 3}"  # a newer minor: additive only
    registry = load_plugins(entry_points=[], extra=[("newshop", _plugin("newshop", declared))])

    [info] = [p for p in registry.plugins if p.name == "newshop"]
    assert info.error is None
    assert registry.source("fakeshop") is fakeshop.FakeShopSource


def test_unreadable_declaration_is_a_load_error():
    registry = load_plugins(entry_points=[], extra=[("oddshop", _plugin("oddshop", "one point oh"))])

    [info] = [p for p in registry.plugins if p.name == "oddshop"]
    assert "declares __sdk_version__ = 'one point oh', which is not a version" in info.error
    assert "fakeshop" not in registry.sources
