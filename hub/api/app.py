"""The admin API's app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI
from pydantic import BaseModel

from .. import __version__
from ..context import HubContext
from ..scheduler import HubScheduler, Runner
from .deps import reject_nul, reject_unknown_query
from .errors import ErrorResponse, install_error_handlers
from .limits import BodyLimit
from .routes import ROUTERS

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"

# Every route may answer with these; documented once so the OpenAPI shows the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        401: "No or an unknown API key",
        403: "The key's role may not do this",
        404: "No such object for this tenant and scope",
        413: "The request body is larger than the route accepts",
        422: "Invalid input: each field at fault with the reason",
    }.items()
}


class Health(BaseModel):
    status: str
    version: str


def create_app(
    hub: HubContext | None = None,
    *,
    runner: Runner | None = None,
    scheduler: HubScheduler | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The admin API on ``hub`` (built from the settings if not given).

    With a ``scheduler`` the app starts it on startup and stops it (letting runs in progress
    finish) on shutdown. ``transport`` routes the sources' HTTP calls, e.g. to a simulator.
    """
    hub = hub if hub is not None else HubContext()
    runner = runner if runner is not None else (scheduler.runner if scheduler else Runner(hub))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=True)
            runner.join()

    app = FastAPI(
        title="kpihub admin API",
        version=__version__,
        description="Connections, field mappings, schedules, runs and access of a kpihub. "
        "Authenticate with `Authorization: Bearer <api key>`; every error has the shape of ErrorResponse.",
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.runner = runner
    app.state.scheduler = scheduler
    app.state.transport = transport
    install_error_handlers(app)
    app.add_middleware(BodyLimit)

    @app.get("/health", response_model=Health, tags=["health"], summary="Liveness and version")
    def health() -> Health:
        return Health(status="ok", version=__version__)

    for router in ROUTERS:
        app.include_router(
            router,
            prefix=API_PREFIX,
            responses=ERROR_RESPONSES,
            dependencies=[Depends(reject_nul), Depends(reject_unknown_query)],
        )
    return app
