"""``kpihub serve`` and ``kpihub apikey``: the hub as a service."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from sdk import ConfigError

from ..api import create_app
from ..api.access import Scope, create_api_key
from ..scheduler import HubScheduler, Runner
from .app import app, console, guarded, hub_context

__all__ = ["apikey", "serve", "worker"]

apikey = typer.Typer(help="API keys for the admin API.", no_args_is_help=True)
app.add_typer(apikey, name="apikey")


@apikey.command("create")
@guarded
def apikey_create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant the key belongs to; created if new.")],
    role: Annotated[str, typer.Option("--role", help="admin, manager, operator, agency or viewer.")],
    shops: Annotated[
        str | None, typer.Option("--shops", help="Comma-separated shop ids the key is limited to.")
    ] = None,
    platforms: Annotated[
        str | None, typer.Option("--platforms", help="Comma-separated platforms the key is limited to.")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="A label to recognise the key by.")] = "cli",
) -> None:
    """Create an API key and print it once (only its hash is stored): how the first admin gets in."""

    def split(value: str | None) -> list[str]:
        return [part.strip() for part in (value or "").split(",") if part.strip()]

    with hub_context() as ctx, ctx.ready_store.begin() as conn:
        key_id, key = create_api_key(
            conn,
            tenant=tenant,
            name=name,
            role=role,
            scope=Scope(shops=split(shops), platforms=split(platforms)),
            actor="cli",
        )
    console.print(
        f"API key {key_id} for tenant {tenant!r} ({role}); shown once, store it now:", highlight=False
    )
    console.print(key, highlight=False, markup=False)


@app.command()
@guarded
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Serve the API only; another process schedules.")
    ] = False,
    scheduler_only: Annotated[
        bool, typer.Option("--scheduler-only", help="Run the scheduler only, without the API.")
    ] = False,
    reconcile_seconds: Annotated[
        float, typer.Option("--reconcile-seconds", min=0.5, help="How often schedule changes are picked up.")
    ] = 15.0,
) -> None:
    """Serve the admin API and run the scheduler, together or apart."""
    if no_scheduler and scheduler_only:
        raise ConfigError("--no-scheduler and --scheduler-only exclude each other; pass one")
    with hub_context() as ctx:
        ctx.ready_store  # noqa: B018 - fail now, with `kpihub init` in the message, not at the first request
        runner = Runner(ctx)
        scheduler = None if no_scheduler else HubScheduler(runner, reconcile_seconds=reconcile_seconds)
        if scheduler_only:
            assert scheduler is not None
            _run_scheduler(scheduler)
            return
        import uvicorn

        api = create_app(ctx, runner=runner, scheduler=scheduler)
        console.print(f"kpihub serving on http://{host}:{port} (scheduler {'off' if no_scheduler else 'on'})")
        uvicorn.run(api, host=host, port=port, log_level="info")


def _run_scheduler(scheduler: HubScheduler) -> None:
    """Run until SIGINT/SIGTERM, then let the runs in progress finish."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler.start()
    console.print("kpihub scheduler running; stop with Ctrl-C")
    stop.wait()
    scheduler.shutdown(wait=True)


@app.command()
@guarded
def worker(
    lease_seconds: Annotated[
        float,
        typer.Option("--lease-seconds", min=1.0, help="Lease time to live: how long a dead worker blocks."),
    ] = 300.0,
    redelivery_seconds: Annotated[
        float,
        typer.Option(
            "--redelivery-seconds",
            min=1.0,
            help="When a run taken but never finished goes back to the queue (Redis visibility timeout).",
        ),
    ] = 3600.0,
) -> None:
    """Take scheduled runs from the broker (KPIHUB_BROKER_URL, queue KPIHUB_QUEUE) and run them."""
    from ..scheduler.celery_executor import QueuedRunner, celery_app, run_worker

    with hub_context() as ctx:
        celery_app(ctx.settings.broker_url, ctx.settings.queue)  # a missing broker URL fails here, plainly
        ctx.ready_store  # noqa: B018 - fail now, with `kpihub init` in the message
        runner = QueuedRunner(ctx, lease_ttl=lease_seconds)
        console.print(f"kpihub worker taking runs from queue {ctx.settings.queue!r}", highlight=False)
        code = run_worker(
            runner, ctx.settings.broker_url, ctx.settings.queue, redelivery_seconds=redelivery_seconds
        )
    raise typer.Exit(code)
