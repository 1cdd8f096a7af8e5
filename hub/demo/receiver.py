"""A local webhook receiver: where the demo's alert rule delivers, through apprise's ``json://``.

It stands in for the seller's DingTalk/Feishu/WeCom bot or their own endpoint. Each POST is
kept in memory and appended as one JSON line to a file, so what was delivered can be read
after the demo has ended.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["Receiver", "webhook_receiver"]


class Receiver:
    """The deliveries received so far, and the apprise URL that reaches this receiver."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def channel(self) -> str:
        return f"json://127.0.0.1:{self.port}/kpihub-alerts"

    def keep(self, path: str, body: bytes) -> None:
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = body.decode("utf-8", "replace")
        entry = {"path": path, "payload": payload}
        with self._lock:
            self.received.append(entry)
            with self.log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            receiver.keep(self.path, self.rfile.read(length))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return  # the demo prints its own summary

    return Handler


@contextmanager
def webhook_receiver(log: Path) -> Iterator[Receiver]:
    """Serve a receiver on a free loopback port from a thread; stop it on leaving."""
    receiver = Receiver(0, log)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
