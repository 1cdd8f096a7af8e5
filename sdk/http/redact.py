"""Masking secrets in what is logged or raised: URLs, headers and free text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "Redactor"]

MASK = "***"

# Query parameters that carry credentials or signatures on the platforms we speak to.
_SENSITIVE = re.compile(r"token|sign|secret|key|password|passwd|auth|credential", re.IGNORECASE)


class Redactor:
    """Masks known secret values and sensitive query parameters.

    Secret values come from callables, so tokens that change during a sync (a refreshed
    access token) are masked too.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        fixed = [s for s in secrets if s]
        self._sources: list[Callable[[], Iterable[str]]] = [lambda: fixed]

    def add_secrets(self, source: Callable[[], Iterable[str]]) -> None:
        self._sources.append(source)

    def _secrets(self) -> list[str]:
        found = {s for source in self._sources for s in source() if s and len(s) >= 4}
        return sorted(found, key=len, reverse=True)

    def text(self, text: str) -> str:
        for secret in self._secrets():
            text = text.replace(secret, MASK)
        return text

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        query = [
            (k, MASK if _SENSITIVE.search(k) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        masked = urlunsplit(parts._replace(query=urlencode(query, safe="*")))
        return self.text(masked)
