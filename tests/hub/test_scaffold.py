"""``kpihub new-plugin``: every kind and auth choice generates a package that installs, is
listed by ``kpihub plugins``, is lint-clean, and whose own generated tests pass unchanged.

One package is installed with a real ``pip install`` (into a target directory); the others get
the ``.dist-info`` pip would write, built from their own ``pyproject.toml``, which keeps the
matrix fast while still proving each package declares its entry point correctly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from child_pytest import run_pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.cli.scaffold import Auth, Kind, generate

AUTHS = ["bearer", "oauth-refresh", "hmac-query", "hmac-body"]
# Every auth choice for sources and sinks; a metric provider calls nothing, so it has none.
CHOICES = [*(("source", auth) for auth in AUTHS), *(("sink", auth) for auth in AUTHS), ("metrics", "bearer")]
PIP_INSTALLED = ("source", "oauth-refresh")
KINDS = {"source": "sources", "sink": "sinks", "metrics": "metric_providers"}


@dataclass
class Generated:
    name: str
    package: Path
    paths: list[Path]
    tests: subprocess.CompletedProcess[str]


def _dist_info(package: Path, site: Path) -> None:
    """The metadata pip writes for ``package``, read from its generated pyproject.toml."""
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    entries = "".join(f"{name} = {target}\n" for name, target in project["entry-points"]["kpihub"].items())
    (dist / "entry_points.txt").write_text(f"[kpihub]\n{entries}")


def _build(kind: str, auth: str, root: Path) -> Generated:
    """Generate, install, and run the package's own tests in a separate process."""
    name = f"acme_{kind}_{auth.replace('-', '_')}"
    package = root / name / "kpihub-acme"
    # The command's own function: typer's CliRunner swaps sys.stdout, so it cannot run in threads.
    generate(name, Kind(kind), Auth(auth), package)
    site = root / name / "site"
    if (kind, auth) == PIP_INSTALLED:
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(package)]
        installed = subprocess.run(pip, capture_output=True, text=True, timeout=600)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        paths = [site]
        shutil.rmtree(package / f"kpihub_{name}")  # its tests must import the installed copy
    else:
        _dist_info(package, site)
        paths = [site, package]
    tests = run_pytest([], package, paths, timeout=600)
    return Generated(name, package, paths, tests)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Every choice built at once: the packages' own test runs overlap their waits."""
    root = tmp_path_factory.mktemp("scaffold")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {choice: pool.submit(_build, *choice, root) for choice in CHOICES}
        return {choice: future.result() for choice, future in futures.items()}


@pytest.mark.parametrize(("kind", "auth"), CHOICES)
def test_generated_plugin_installs_is_listed_and_passes_its_own_tests(generated, kind, auth, monkeypatch):
    built = generated[(kind, auth)]

    for path in reversed(built.paths):
        monkeypatch.syspath_prepend(str(path))
    monkeypatch.setenv("KPIHUB_LOAD_PLUGINS", built.name)
    listed = CliRunner().invoke(app, ["plugins", "--json"])
    assert listed.exit_code == 0, listed.output
    [plugin] = [p for p in json.loads(listed.stdout) if p["name"] == built.name]
    assert plugin["error"] is None and plugin["registered"] == {KINDS[kind]: [built.name]}
    assert plugin["distribution"] == f"kpihub-{built.name.replace('_', '-')}" and plugin["version"] == "0.1.0"

    lint = subprocess.run(
        [_ruff(), "check", "--quiet", "."], cwd=built.package, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr

    tests = built.tests
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and " skipped" not in tests.stdout, tests.stdout[-2000:]


def _ruff():
    return shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad-Name"], "plugin name 'Bad-Name' is not valid: use 1-40 lower-case letters"),
        (["lazada", "--kind", "widget"], "Invalid value for '--kind'"),
        (["lazada", "--auth", "basic"], "Invalid value for '--auth'"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(tmp_path, args, message):
    result = CliRunner().invoke(app, ["new-plugin", *args, "--dir", str(tmp_path / "out")])

    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()
    assert "Traceback" not in result.output


def test_an_existing_directory_is_never_overwritten(tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")

    result = CliRunner().invoke(app, ["new-plugin", "lazada", "--dir", str(target)])

    assert result.exit_code == 2
    assert f"{target} already exists and is not empty" in " ".join(result.output.split())
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_the_generated_package_declares_the_sdk_it_was_built_with(tmp_path):
    import sdk

    CliRunner().invoke(app, ["new-plugin", "lazada", "--kind", "metrics", "--dir", str(tmp_path / "p")])

    init = (tmp_path / "p" / "kpihub_lazada" / "__init__.py").read_text()
    assert f'__sdk_version__ = "{sdk.__version__}"' in init
