"""Masking credentials in what the hub shows or keeps: errors, run records, audit entries.

A plugin's error may quote a database URL with its password, a webhook URL whose path is its
token, or a signed query string. ``scrub`` masks all of those in free text, plus any secret
value the caller knows; ``display_url`` shows a channel or endpoint URL by its host alone.
Apply them wherever text leaves the hub's control: API answers, run records, the audit log,
the CLI's output.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from pydantic import SecretStr

from sdk import CredentialSpec, secret_field_names
from sdk.http import MASK, Redactor

__all__ = ["credential_secrets", "display_url", "scrub"]

# scheme://user:password@ — the password, up to the @ of the authority.
_USERINFO = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)(?P<secret>[^\s@/]+)(?=@)", re.IGNORECASE)
# Any URL, to mask its sensitive query parameters and long path segments.
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
# A path segment this long and this random is a token (webhook keys, bot ids), not a name.
_TOKENISH = re.compile(r"^[A-Za-z0-9_\-]{20,}$")
_REDACTOR = Redactor()


def _mask_url(match: re.Match[str]) -> str:
    url = _REDACTOR.url(match.group(0))
    parts = url.split("/")
    # scheme:, '', authority, path... — a token-like segment is masked; names are kept.
    return "/".join(
        part if i < 3 or not _TOKENISH.match(part) or part.isdigit() else MASK for i, part in enumerate(parts)
    )


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL passwords, sensitive query values, token-like URL path segments and
    each of ``secrets`` (values of four characters or more) replaced by ``***``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: m.group("head") + MASK, text)
    return _URL.sub(_mask_url, text)


def credential_secrets(credentials: CredentialSpec) -> list[str]:
    """The secret values of a plugin's credentials, and the password inside any that is a URL."""
    found: list[str] = []
    for name in secret_field_names(type(credentials)):
        value = getattr(credentials, name)
        plain = value.get_secret_value() if isinstance(value, SecretStr) else ""
        if plain:
            found.append(plain)
            password = urlsplit(plain).password if "://" in plain else None
            if password:
                found.append(password)
    return found


def display_url(url: str) -> str:
    """A URL as it may be shown to anyone who may see the object: scheme and host, the rest
    masked (a channel's path or query is often its token)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    host = parts.hostname or ""
    with contextlib.suppress(ValueError):  # a port that is no number: apprise's masking of a token
        host += f":{parts.port}" if parts.port else ""
    rest = "/" + MASK if (parts.path.strip("/") or parts.query or parts.username) else ""
    return f"{parts.scheme}://{host}{rest}" if parts.scheme else MASK
