"""One error tree for the hub and every plugin.

::

    KpihubError
    ├── TransientError            retrying later can help; carries ``retry_after``
    │   ├── RateLimited           the platform said 429 / "too many requests"
    │   ├── QuotaExhausted        a daily (or other period) call quota is spent until ``resume_at``
    │   ├── UpstreamUnavailable   5xx, maintenance, connection refused
    │   └── UpstreamTimeout       the platform did not answer in time
    └── TerminalError             retrying will not help until someone changes something
        ├── ConfigError           bad options, bad settings, unknown names
        │   └── NotFound          a named thing (connection, plugin, tenant) does not exist
        ├── CredentialError       missing, rejected or revoked credentials
        ├── MappingError          a field mapping that cannot be applied
        ├── RecordInvalid         a mapped record that fails the standard model
        ├── PluginError           a plugin that cannot be loaded or registers badly
        └── StoreError            the store cannot be reached or is not initialised

Callers decide what to do from the class, never from message text. Messages name what is
wrong and how to fix it, and never contain a secret.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "ConfigError",
    "CredentialError",
    "KpihubError",
    "MappingError",
    "NotFound",
    "PluginError",
    "QuotaExhausted",
    "RateLimited",
    "RecordInvalid",
    "StoreError",
    "TerminalError",
    "TransientError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]


class KpihubError(Exception):
    """Root of every error kpihub raises on purpose."""

    transient: bool = False


class TransientError(KpihubError):
    """A failure that may pass: retry, after ``retry_after`` seconds when it is known."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """The platform refused the call for exceeding a rate limit."""


class QuotaExhausted(TransientError):
    """The platform's call quota for a period (e.g. a day) is spent; nothing helps before ``resume_at``.

    Unlike other transient errors it is not retried within a run: the connection's run stops,
    keeping what it committed, and the hub does not sync the connection again before
    ``resume_at`` (an aware datetime, UTC).
    """

    def __init__(self, message: str, *, resume_at: dt.datetime) -> None:
        if resume_at.tzinfo is None:
            raise ValueError("resume_at must be timezone-aware")
        resume_at = resume_at.astimezone(dt.UTC)
        retry_after = max(0.0, (resume_at - dt.datetime.now(dt.UTC)).total_seconds())
        super().__init__(message, retry_after=retry_after)
        self.resume_at = resume_at


class UpstreamUnavailable(TransientError):
    """The platform answered with a server error or could not be reached."""


class UpstreamTimeout(TransientError):
    """The platform did not answer in time."""


class TerminalError(KpihubError):
    """A failure that will repeat until someone changes configuration, data or credentials."""


class ConfigError(TerminalError):
    """Options, settings or arguments that are invalid."""


class NotFound(ConfigError):
    """A named object does not exist."""


class CredentialError(TerminalError):
    """Credentials are missing, rejected or revoked."""


class MappingError(TerminalError):
    """A field mapping is invalid or cannot be applied to a record.

    ``problems`` lists ``(field_path, reason)`` pairs so every problem is reported at once.
    """

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class RecordInvalid(TerminalError):
    """A record that does not satisfy the standard model after mapping."""


class PluginError(TerminalError):
    """A plugin that cannot be loaded or that registers something invalid."""


class StoreError(TerminalError):
    """The store cannot be reached, is not initialised, or refuses an operation."""
