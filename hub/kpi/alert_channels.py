"""Notification channels for alerts, through apprise: webhook (json://), DingTalk, Feishu,
WeCom, email and every other service apprise knows.

Channel URLs often carry a token or a password, so they are validated here, stored only as
vault ciphertext and shown only masked (apprise's own privacy rendering, without the query
string).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import cache

import apprise

from sdk import ConfigError

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
    """``url`` with its secrets replaced by apprise's privacy rendering, query string dropped."""
    _loaded()
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        return f"{scheme}://…"
    rendered: str = plugin.url(privacy=True)  # type: ignore[no-untyped-call]
    return rendered.split("?", 1)[0]


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


def deliver(urls: Sequence[str], *, title: str, body: str) -> bool:
    """Send one message to every channel; True only if every channel accepted it."""
    _loaded()
    sender = apprise.Apprise()
    for url in urls:
        sender.add(url)
    return bool(sender.notify(title=title, body=body))
