"""Notification channels for alerts, through apprise: webhook (json://), DingTalk, Feishu,
WeCom, email and every other service apprise knows.

Channel URLs often carry a token or a password, so they are validated here, stored only as
vault ciphertext and shown only masked (apprise's own privacy rendering, without the query
string).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

from sdk import ConfigError
from sdk.http import Redactor

from ..redaction import display_url
from ..vault import Vault

__all__ = ["check_channels", "deliver", "mask", "open_channels", "seal_channels"]


@cache
def _loaded() -> bool:
    # apprise imports its service modules on first use; one of them imports the deprecated
    # ``imghdr`` module, a warning about apprise itself that nobody here can act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        apprise.Apprise.instantiate("json://localhost")
    return True


def mask(url: str) -> str:
    """``url`` as anyone may see it: apprise's privacy rendering (which hides tokens it knows
    in hosts and user parts), then only its scheme and host, since a path often is the token
    (``json://host/hooks/<token>``)."""
    _loaded()
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        return f"{scheme}://…"
    rendered: str = plugin.url(privacy=True)  # type: ignore[no-untyped-call]
    return display_url(rendered)


def check_channels(urls: Sequence[str]) -> list[str]:
    """The URLs, each checked to be one apprise can send to; a ``ConfigError`` otherwise.

    The error names the channel by position and scheme only: the URL may hold a token.
    """
    _loaded()
    for index, url in enumerate(urls, 1):
        if not isinstance(url, str) or apprise.Apprise.instantiate(url) is None:
            scheme = url.split("://", 1)[0] if isinstance(url, str) and "://" in url else "no scheme"
            raise ConfigError(
                f"channel {index} ({scheme}) is not a notification URL apprise understands; "
                "see https://github.com/caronc/apprise/wiki for json://, dingtalk://, feishu://, "
                "wecombot://, mailto:// and others"
            )
    return list(urls)


def seal_channels(vault: Vault, urls: Sequence[str]) -> str | None:
    """The ciphertext to store for ``urls`` (None when there are none)."""
    return vault.encrypt({"urls": check_channels(urls)}) if urls else None


def open_channels(vault: Vault, ciphertext: str | None, *, rule: str) -> list[str]:
    if not ciphertext:
        return []
    urls: list[str] = vault.decrypt(ciphertext, what=f"channels of alert rule {rule!r}")["urls"]
    return urls


def _parts(url: str) -> Iterator[str]:
    """Every piece of a channel URL that may be a secret: credentials, tokens in host or path."""
    split = urlsplit(url)
    yield from (split.username or "", split.password or "", split.hostname or "")
    yield from (unquote(p) for p in split.path.split("/"))
    yield from (v for _, v in parse_qsl(split.query))


class _Redacting(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redactor.text(record.getMessage()), ()
        return True


@contextmanager
def _redacted_logs(urls: Sequence[str]) -> Iterator[None]:
    """apprise logs the endpoints it posts to (tokens included) at debug level: mask them."""
    logger = logging.getLogger("apprise")
    guard = _Redacting(Redactor(part for url in urls for part in _parts(url)))
    logger.addFilter(guard)
    try:
        yield
    finally:
        logger.removeFilter(guard)


def deliver(urls: Sequence[str], *, title: str, body: str) -> bool:
    """Send one message to every channel; True only if every channel accepted it."""
    _loaded()
    sender = apprise.Apprise()
    with _redacted_logs(urls):
        for url in urls:
            sender.add(url)
        return bool(sender.notify(title=title, body=body))
