"""Every ``kpihub`` command written in the README and docs/ names a real command and real options.

Commands are read from fenced code blocks (a line that starts with ``kpihub`` or ``$ kpihub``,
several joined by ``&&`` or ``|``), split as a shell would, and walked down the CLI's own
command tree: each word before the options must be a command or group there, and each
``--option`` must be one the command declares. Placeholders in brackets (``[--json]``,
``--only CHECK …``) are read as the options they show. The quick start's two commands run for
real in tests/hub/test_demo.py and CI; this keeps every other command from rotting when the CLI
changes.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main

from hub.cli import app

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?$(.*?)^```", re.M | re.S)


def _continued(block: str) -> list[str]:
    """The block's lines, a line ending in a backslash joined with the next (the joined line
    keeps the first one's place, the lines it swallowed become empty)."""
    lines = block.splitlines()
    for i in range(len(lines) - 1):
        if lines[i].rstrip().endswith("\\"):
            lines[i + 1] = lines[i].rstrip()[:-1] + " " + lines[i + 1]
            lines[i] = ""
    return lines


def _commands(page: Path) -> list[tuple[int, str]]:
    found = []
    text = page.read_text(encoding="utf-8")
    for block in FENCE.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        for offset, line in enumerate(_continued(block.group(1))):
            line = line.strip().removeprefix("$ ").split(" #", 1)[0]
            for part in re.split(r"\s(?:&&|\|\||\||;)\s", line):
                part = part.strip()
                if part.startswith("kpihub "):
                    found.append((first_line + offset, part))
    return found


COMMANDS = [
    pytest.param(page, line, text, id=f"{page.name}:{line}")
    for page in PAGES
    for line, text in _commands(page)
]


def _words(text: str) -> list[str]:
    # Redirections and placeholders are the shell's and the reader's, not the command's.
    text = re.sub(r"[<>]\s*\S+", " ", text).replace("[", " ").replace("]", " ").replace("…", " ")
    return shlex.split(text)[1:]


def _is_group(command: Any) -> bool:
    # Typer carries its own copy of click: a group is what has subcommands.
    return isinstance(getattr(command, "commands", None), dict)


def test_the_docs_show_commands():
    assert len(COMMANDS) > 50


@pytest.mark.parametrize(("page", "line", "text"), COMMANDS)
def test_the_command_and_its_options_exist(page, line, text):
    command: Any = typer.main.get_command(app)
    words = _words(text)
    path = ["kpihub"]
    while words and _is_group(command) and not words[0].startswith("-"):
        sub = command.commands.get(words[0])
        assert sub is not None, f"{page.name}:{line}: `{' '.join(path)}` has no command {words[0]!r}"
        path.append(words.pop(0))
        command = sub
    assert not _is_group(command) or words == ["--help"], (
        f"{page.name}:{line}: `{' '.join(path)}` needs a subcommand"
    )
    declared = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    declared.add("--help")
    for word in words:
        if word.startswith("--"):
            name = word.split("=", 1)[0]
            assert name in declared, f"{page.name}:{line}: `{' '.join(path)}` has no option {name}"
