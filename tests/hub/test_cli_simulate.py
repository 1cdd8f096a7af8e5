"""``kpihub simulate`` serves a plugin's simulator on loopback and announces how to reach it."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
from typer.testing import CliRunner

from hub.cli import app


def test_simulate_amazon_on_loopback():
    command = [sys.executable, "-c", "from hub.cli import main; main()", "simulate", "amazon", "--seed", "5"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        announcement = json.loads(process.stdout.readline())
        urls, credentials = announcement["base_urls"], announcement["credentials"]
        assert urls["sp_api"].startswith("http://127.0.0.1:")
        seller = credentials["sellers"][0]
        token = httpx.post(
            urls["lwa"] + "/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": seller["refresh_token"],
                "client_id": credentials["lwa_client_id"],
                "client_secret": credentials["lwa_client_secret"],
            },
        ).json()["access_token"]
        orders = httpx.get(
            urls["sp_api"] + "/orders/v0/orders",
            params={
                "MarketplaceIds": next(iter(seller["marketplaces"])),
                "LastUpdatedAfter": "2020-01-01T00:00:00Z",
            },
            headers={"x-amz-access-token": token},
        )
        assert orders.status_code == 200 and orders.json()["payload"]["Orders"]
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_simulate_a_plugin_without_a_simulator():
    result = CliRunner().invoke(app, ["simulate", "files"])
    assert result.exit_code == 2
    assert "ships no simulator" in result.stderr
