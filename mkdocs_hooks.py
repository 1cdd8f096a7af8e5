"""mkdocs hook: drop navigation entries whose page does not exist (yet).

Several teams write pages of this site; the navigation names them all, and a page that has not
been written is left out rather than failing ``mkdocs build --strict``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _present(entries: list[Any], docs: Path) -> list[Any]:
    kept: list[Any] = []
    for entry in entries:
        if isinstance(entry, str):
            if (docs / entry).is_file():
                kept.append(entry)
            continue
        [(title, value)] = entry.items()
        if isinstance(value, list):
            children = _present(value, docs)
            if children:
                kept.append({title: children})
        elif (docs / value).is_file():
            kept.append(entry)
    return kept


def on_config(config: Any) -> Any:
    if config.nav:
        config.nav = _present(config.nav, Path(config.docs_dir))
    return config
