"""Serving a simulator on loopback: as a process (``serve``) or from a test (``running``).

``serve`` binds the socket itself, so ``port=0`` gets a free port whose real number is known
before anything is printed. Once uvicorn is accepting connections, the first line on stdout
is one JSON object, ``{"base_urls": {...}, "credentials": {...}}``, for whoever started the
process (a benchmark, another language's test) to read. uvicorn is imported only here, only
when serving.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, TextIO

from .app import Simulator

if TYPE_CHECKING:
    import uvicorn

__all__ = ["running", "serve"]


def serve(simulator: Simulator, host: str = "127.0.0.1", port: int = 0, *, out: TextIO | None = None) -> None:
    """Serve ``simulator`` on ``host:port`` until interrupted (Ctrl-C or SIGTERM).

    The first line written to ``out`` (stdout by default) once it listens is the JSON object
    with the simulator's ``base_urls`` on the bound origin and its ``credentials``.
    """
    sock = _bind(host, port)
    origin = _origin(host, sock.getsockname()[1])
    server = _server(simulator)
    stream = out or sys.stdout

    async def main() -> None:
        serving = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        if server.started:
            announcement = {"base_urls": simulator.base_urls(origin), "credentials": simulator.credentials()}
            print(json.dumps(announcement), file=stream, flush=True)
        await serving

    try:
        with suppress(KeyboardInterrupt):
            asyncio.run(main())
    finally:
        sock.close()


@contextmanager
def running(simulator: Simulator, *, host: str = "127.0.0.1", timeout: float = 10.0) -> Iterator[str]:
    """Serve ``simulator`` from a background thread on a free loopback port; yields its origin.

    Leaving the block stops the server and waits for its thread, so nothing outlives a test.
    """
    sock = _bind(host, 0)
    origin = _origin(host, sock.getsockname()[1])
    server = _server(simulator)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"{simulator.name}-simulator", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {simulator.name} simulator did not start within {timeout} s")
            time.sleep(0.005)
        yield origin
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _origin(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _server(simulator: Simulator) -> uvicorn.Server:
    import uvicorn

    config = uvicorn.Config(
        simulator.app,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
    )
    return uvicorn.Server(config)
