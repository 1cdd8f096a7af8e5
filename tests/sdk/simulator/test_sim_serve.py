"""Serving on loopback: ``running`` from a thread, ``serve`` from a process announcing itself."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from sdk.simulator import Simulator, running

ROOT = Path(__file__).parents[3]

TOY = textwrap.dedent(
    """
    from starlette.responses import JSONResponse
    from sdk.simulator import Simulator, route

    class Hello(Simulator):
        name = "hello"

        def __init__(self):
            super().__init__()
            self.tokens.register_client("app", "secret")
            self.grant = self.tokens.grant("app", "seller-1")

        def credentials(self):
            return {**super().credentials(), "refresh_token": self.grant.refresh_token}

        @route("/hello")
        async def hello(self, request):
            return JSONResponse({"seller": self.principal_of(request).subject})
    """
)


def hello_class() -> type[Simulator]:
    namespace: dict = {}
    exec(compile(TOY, "<toy>", "exec"), namespace)
    return namespace["Hello"]


def test_running_answers_real_http_on_loopback():
    sim = hello_class()()
    with running(sim) as origin:
        assert origin.startswith("http://127.0.0.1:")
        headers = {"authorization": f"Bearer {sim.grant.access_token}"}
        with httpx.Client(base_url=sim.base_urls(origin)["api"], timeout=5) as client:
            assert client.get("/hello", headers=headers).json() == {"seller": "seller-1"}
            assert client.get("/hello").status_code == 401
    assert sim.stats["hello"].requests == 2
    with httpx.Client(timeout=1) as client:
        try:
            client.get(origin + "/hello")
        except httpx.ConnectError:
            pass
        else:
            raise AssertionError("the server still answers after running() ended")


def test_serve_prints_base_urls_and_credentials_first_then_serves():
    code = TOY + "\nfrom sdk.simulator import serve\nserve(Hello(), port=0)\n"
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        first = json.loads(process.stdout.readline())
        base_url = first["base_urls"]["api"]
        assert base_url.startswith("http://127.0.0.1:") and not base_url.endswith(":0")
        assert first["credentials"]["clients"] == {"app": "secret"}
        refresh_token = first["credentials"]["refresh_token"]
        assert refresh_token
        with httpx.Client(base_url=base_url, timeout=5) as client:
            assert client.get("/hello").status_code == 401
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
        process.stdout.close()
        process.stderr.close()
    assert "Traceback" not in stderr, stderr
