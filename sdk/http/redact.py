"""Masking secrets in what is logged or raised: URLs, headers and free text."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "Redactor", "redact_library_logs"]

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


class _UrlArgsFilter(logging.Filter):
    """Masks sensitive query parameters in the URLs a library logs as arguments.

    httpx logs every request at INFO as ``HTTP Request: GET <full URL>``; platforms that pass
    keys, tokens and signatures in the query string (TikTok Shop, Shopee) would otherwise have
    them written to any log that shows INFO.
    """

    _redactor = Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("?" in str(arg) for arg in record.args):
            record.args = tuple(self._mask(arg) for arg in record.args)
        return True

    def _mask(self, arg: object) -> object:
        text = str(arg)
        if "://" in text and "?" in text:
            return self._redactor.url(text)
        return arg


_URL_FILTER = _UrlArgsFilter()


def redact_library_logs(*names: str) -> None:
    """Install the URL-masking filter on the named loggers (idempotent); httpx's by default."""
    for name in names or ("httpx",):
        logger = logging.getLogger(name)
        if _URL_FILTER not in logger.filters:
            logger.addFilter(_URL_FILTER)
