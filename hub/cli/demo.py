"""``kpihub demo``: the whole product offline, in under a minute."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..demo import FULL, SMALL, DemoUI, run_demo
from ..demo.report import print_report
from ..sync import Progress
from .app import app, console, guarded
from .connection import SyncProgress
from .push import PushProgress

__all__ = ["demo"]


class ConsoleUI(DemoUI):
    """Steps on standard output; live progress per stream and per table on standard error."""

    def step(self, text: str) -> None:
        console.print(f"[bold cyan]>[/] {escape(text)}", highlight=False)

    def note(self, text: str) -> None:
        console.print(f"  {escape(text)}", highlight=False)

    def sync_progress(self) -> AbstractContextManager[Progress | None]:
        return SyncProgress()

    def push_progress(self) -> AbstractContextManager[Callable[[str, int, int | None], None] | None]:
        return PushProgress()


@app.command()
@guarded
def demo(
    workdir: Annotated[
        Path, typer.Option("--workdir", help="Where the store, key and outputs go (created if missing).")
    ] = Path("kpihub-demo"),
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the demo seller; same seed, same numbers.")
    ] = 7,
    small: Annotated[
        bool, typer.Option("--small", help="A smaller seller (30 days, 60 SKUs): the same steps, quicker.")
    ] = False,
) -> None:
    """Run the whole product offline: simulated shops -> sync -> KPIs -> targets -> alerts -> sinks."""
    result = run_demo(workdir, seed, ConsoleUI(), size=SMALL if small else FULL)
    print_report(console, result)
    if not result.succeeded:
        raise typer.Exit(1)
