"""Request size limits, enforced before any route reads a body.

Every write carries a small JSON document (a mapping override, an alert rule, options); a
multi-megabyte one is a mistake or an attack, and would be parsed, validated and copied into
the audit log. Uploads (target workbooks, files for a files connection) get their own, larger
limits. A body over its limit is refused with 413 as soon as the limit is crossed, whether
the client declared its length or streams it in chunks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["DEFAULT_BODY_LIMIT", "UPLOAD_LIMITS", "BodyLimit"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_BODY_LIMIT = 256 * 1024
"""A JSON write: a mapping override of the whole standard model is under 50 KB."""
UPLOAD_LIMITS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^/api/v1/targets/xlsx$"), 11 * 2**20),  # the route itself refuses past 10 MB
    (re.compile(r"^/api/v1/reconciliations$"), 11 * 2**20),  # a report (10 MB) and its map
    (re.compile(r"^/api/v1/files/"), 50 * 2**20),
)
"""Routes that take a file, with their limit."""


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: 413 for a request body larger than its route's limit."""

    def __init__(self, app: App, *, default: int = DEFAULT_BODY_LIMIT) -> None:
        self.app = app
        self.default = default

    def limit(self, path: str) -> int:
        return next((limit for pattern, limit in UPLOAD_LIMITS if pattern.match(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracking)
        except _TooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": {
                "status": 413,
                "code": "payload_too_large",
                "message": f"the request body is larger than this route accepts ({limit:,} bytes); send less",
                "fields": [],
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
