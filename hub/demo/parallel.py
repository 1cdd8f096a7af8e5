"""Each sink's push in a process of its own, so a 2-core machine uses both cores.

The pushes are independent and almost all Python (reading rows, converting them, writing
them), so in one process they take turns on one core. A child opens the demo's store with its
own connections and pushes one sink; its progress and its result come back through a queue.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sdk import KpihubError

from ..publish import PushResult

__all__ = ["PushProgress", "push_in_processes"]

PushProgress = Callable[[str, int, int | None], None]
"""Called as rows reach a sink: the sink/table label, rows just accepted, rows to send."""
_POLL = 0.1


def _push_one(workdir: str, name: str, tenant: str, full: bool, messages: Any) -> None:
    """A child's work: push sink ``name`` of the demo store in ``workdir``."""
    from ..context import HubContext
    from ..publish import push_sink
    from .run import settings_for

    started = time.perf_counter()
    ctx = HubContext(settings_for(Path(workdir)))

    def progress(table: str, rows: int, total: int | None) -> None:
        messages.put(("progress", name, table, rows, total))

    try:
        pushed = asyncio.run(
            push_sink(
                ctx.ready_store,
                ctx.vault,
                ctx.registry,
                name,
                tenant=tenant,
                full=full,
                progress=progress,
                egress=ctx.egress,
            )
        )
        messages.put(("done", name, pushed, round(time.perf_counter() - started, 2)))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        try:
            pickle.dumps(exc)
            error: BaseException = exc
        except Exception:  # noqa: BLE001 - an exception that does not pickle goes back as text
            error = KpihubError(f"{type(exc).__name__}: {exc}")
        messages.put(("failed", name, error, 0.0))
    finally:
        ctx.close()


def push_in_processes(
    workdir: Path,
    tenant: str,
    names: list[str],
    full: dict[str, bool],
    progress: PushProgress | None,
    timings: dict[str, float],
) -> dict[str, PushResult]:
    """Push every sink of ``names`` at once, one process each; raises the first failure."""
    # spawn, not fork: the simulators' threads may hold locks a forked child would inherit held.
    context = multiprocessing.get_context("spawn")
    messages: Any = context.Queue()
    children = {
        name: context.Process(
            target=_push_one,
            args=(str(workdir), name, tenant, full.get(name, False), messages),
            name=f"kpihub-push-{name}",
            daemon=True,
        )
        for name in names
    }
    for child in children.values():
        child.start()
    results: dict[str, PushResult] = {}
    failures: list[BaseException] = []
    finished: set[str] = set()
    quiet = 0
    try:
        while len(finished) < len(names):
            try:
                kind, name, payload, seconds = _next(messages)
            except queue.Empty:
                # A child that ended without a word (killed, out of memory) would be waited for
                # forever: after a second of silence from the queue, it is a failure.
                gone = [n for n, c in children.items() if not c.is_alive() and n not in finished]
                quiet = quiet + 1 if gone else 0
                if quiet * _POLL >= 1.0:
                    raise KpihubError(
                        f"the push of {', '.join(gone)} stopped without a result (its process ended)"
                    ) from None
                continue
            if kind == "progress":
                if progress is not None:
                    table, rows, total = payload
                    progress(f"{name}/{table}", rows, total)
                continue
            finished.add(name)
            if kind == "done":
                results[name] = payload
                timings[f"push {name}"] = seconds
            else:
                failures.append(payload)
    finally:
        for child in children.values():
            child.join(timeout=10)
            if child.is_alive():
                child.terminate()
        messages.close()
    if failures:
        raise failures[0]
    return {name: results[name] for name in names}


def _next(messages: Any) -> tuple[str, str, Any, float]:
    message = messages.get(timeout=_POLL)
    if message[0] == "progress":
        _, name, table, rows, total = message
        return "progress", name, (table, rows, total), 0.0
    kind, name, payload, seconds = message
    return kind, name, payload, seconds
