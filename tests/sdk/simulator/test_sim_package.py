"""The simulator package: exports sorted and complete, and light to import."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import sdk.simulator

ROOT = Path(__file__).parents[3]


def _isort_key(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2), name


def test_all_is_sorted_and_complete():
    exported = sdk.simulator.__all__
    assert exported == sorted(exported, key=_isort_key)
    public = set()
    # the package's ``serve`` is the function, so modules are looked up by their full names
    for name in ("app", "faults", "serve", "signing", "sites", "tokens", "world"):
        module = importlib.import_module(f"sdk.simulator.{name}")
        assert module.__all__ == sorted(module.__all__, key=_isort_key), module.__name__
        public |= set(module.__all__)
    assert set(exported) == public
    assert all(hasattr(sdk.simulator, name) for name in exported)


def test_importing_the_toolkit_pulls_in_nothing_heavy():
    code = (
        "import sys, sdk.simulator; "
        "heavy = {'fastapi', 'sqlalchemy', 'apscheduler', 'alembic', 'hub', 'plugins', 'uvicorn'}; "
        "found = sorted(heavy & {name.split('.')[0] for name in sys.modules}); "
        "print(found); sys.exit(bool(found))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
