"""Asynchronous report jobs: create, poll until ready, download and decode.

Marketplace reports (Amazon Ads, settlement and inventory reports, ERP exports) take seconds
to hours. A stream creates the report, checkpoints its id at once, then calls
``wait_for_report`` and ``decode_report``; a restarted sync finds the id in its state and
polls the same report instead of asking for another.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import TerminalError, UpstreamUnavailable

__all__ = ["ReportFormat", "ReportStatus", "decode_report", "wait_for_report"]

ReportFormat = Literal["JSON", "GZIP_JSON", "CSV", "GZIP_CSV"]


@dataclass(frozen=True)
class ReportStatus:
    """Where a report is: ``done`` with a ``url`` to fetch, ``failed`` with a reason, or neither."""

    done: bool
    url: str | None = None
    failed: bool = False
    reason: str | None = None


async def wait_for_report(
    report_id: str,
    status: Callable[[str], Awaitable[ReportStatus]],
    *,
    poll_seconds: float,
    max_wait_seconds: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> ReportStatus:
    """Poll ``status`` until the report is done; return its final status.

    A failed report is a ``TerminalError``; one still not ready after ``max_wait_seconds`` is
    an ``UpstreamUnavailable`` with a ``retry_after``, so the next run polls it again.
    """
    waited = 0.0
    while True:
        current = await status(report_id)
        if current.failed:
            raise TerminalError(f"report {report_id} failed: {current.reason or 'no reason given'}")
        if current.done:
            return current
        if waited >= max_wait_seconds:
            raise UpstreamUnavailable(
                f"report {report_id} is not ready after {waited:.0f} s", retry_after=max(poll_seconds, 60.0)
            )
        await sleep(poll_seconds)
        waited += poll_seconds


def decode_report(content: bytes, fmt: ReportFormat) -> list[dict[str, Any]]:
    """Rows of a downloaded report file; a cut or garbled file is transient (fetch it again)."""
    try:
        raw = gzip.decompress(content) if fmt.startswith("GZIP_") else content
        if fmt.endswith("JSON"):
            rows = json.loads(raw)
            if not isinstance(rows, list):
                raise ValueError("a JSON report must hold a list of rows")
            return rows
        return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise UpstreamUnavailable(f"the report file is not readable {fmt}: {exc}") from None
