"""Rules about the code itself: hooks documented and tested, layers held, exports complete."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sdk
from hub import hookspecs

ROOT = Path(__file__).parents[1]
TESTS = Path(__file__).parent


def _hookspecs():
    return [
        (name, func)
        for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(func, "kpihub_spec")
    ]


def test_there_are_hookspecs():
    assert {name for name, _ in _hookspecs()} == {
        "register_sources",
        "register_sinks",
        "register_metric_providers",
    }


@pytest.mark.parametrize("name", [name for name, _ in _hookspecs()])
def test_every_hookspec_is_documented(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert "Receives" in doc and "Called" in doc, f"{name}: say what it receives and when it is called"
    assert "Example::" in doc and "@hookimpl" in doc, f"{name}: give an example implementation"


@pytest.mark.parametrize("name", [name for name, _ in _hookspecs()])
def test_every_hookspec_is_tested(name):
    used = [
        path
        for path in TESTS.rglob("*.py")
        if path.name != Path(__file__).name and re.search(rf"\bdef {name}\(|\b{name}\b", path.read_text())
    ]
    assert used, f"no test implements or calls the {name} hook"


def _isort_key(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


def test_sdk_all_is_sorted_and_complete():
    assert sdk.__all__ == sorted(sdk.__all__, key=_isort_key)
    assert len(set(sdk.__all__)) == len(sdk.__all__)
    public = set()
    for module in (sdk.errors, sdk.hooks, sdk.metrics, sdk.options, sdk.records, sdk.sink, sdk.source):
        assert module.__all__ == sorted(module.__all__, key=_isort_key), module.__name__
        public |= set(module.__all__)
    assert set(sdk.__all__) - {"__version__"} == public
    for name in sdk.__all__:
        assert hasattr(sdk, name), name


def test_import_layers_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    result = subprocess.run([lint, str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def test_sdk_imports_no_heavy_dependency():
    code = (
        "import sys, sdk; "
        "heavy = {'fastapi', 'sqlalchemy', 'apscheduler', 'alembic', 'hub'} & set(sys.modules); "
        "print(sorted(heavy)); sys.exit(bool(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_transform_is_documented():
    from hub.mapping import transform_names

    doc = (ROOT / "docs" / "mapping.md").read_text()
    missing = [name for name in transform_names() if f"`{name}`" not in doc]
    assert missing == [], f"document these transforms in docs/mapping.md: {missing}"
