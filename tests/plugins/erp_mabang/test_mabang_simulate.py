"""``kpihub simulate mabang`` (or ``erp_mabang``) serves the Mabang gateway on loopback."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from plugins.erp_mabang.client import MabangClient
from sdk.http import RateBudgets


def test_simulate_mabang_on_loopback():
    # `mabang` is the platform; the plugin is `erp_mabang`: either name finds the simulator.
    command = [sys.executable, "-c", "from hub.cli import main; main()", "simulate", "mabang", "--seed", "3"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        announcement = json.loads(process.stdout.readline())
        urls, credentials = announcement["base_urls"], announcement["credentials"]
        assert urls["v2"].startswith("http://127.0.0.1:") and urls["v2"].endswith("/api/v2")
        client = MabangClient(
            base_url=urls["v2"],
            app_key=credentials["app_key"],
            app_secret=credentials["app_secret"],
            version="2",
            requests_per_second=10,
            budgets=RateBudgets(),
        )

        async def shops():
            try:
                return await client.call("sys-get-shop-list", {})
            finally:
                await client.aclose()

        listed = asyncio.run(shops())["data"]
        assert {shop["shopId"] for shop in listed} == set(credentials["shops"])
    finally:
        process.terminate()
        process.communicate(timeout=10)
