"""Answers that are not Power BI's (a proxy's page, JSON without the dataset's id) end the push
with a TerminalError naming what was missing, never a KeyError, and never quoting the body."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from plugins.powerbi import PowerBISink
from plugins.powerbi.simulator import PowerBISimulator
from sdk import TableSchema, TerminalError
from sdk.simulator import running

DIM = TableSchema("dim_metric", {"metric_id": "str", "name_en": "str"}, ("metric_id",), rows=3)
PAGE = b"<html><body>Proxy sign-in for intranet-secret-host</body></html>"
HTML = {"content-type": "text/html; charset=utf-8"}


def _json(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


# What the API answers to GET datasets and to POST datasets (create), and what the error says.
ANSWERS = {
    "listing without ids": (
        _json({"value": [{"name": "kpihub"}]}),
        _json({"id": "d1"}, 201),
        "listing the workspace's datasets without a 'value' list of objects with 'id' "
        "(HTTP 200, application/json, a JSON object)",
    ),
    "listing as a web page": (
        httpx.Response(200, content=PAGE, headers=HTML),
        _json({"id": "d1"}, 201),
        "listing the workspace's datasets without a 'value' list of objects with 'id' "
        "(HTTP 200, text/html, not JSON)",
    ),
    "created without an id": (
        _json({"value": []}),
        _json({"name": "kpihub", "defaultRetentionPolicy": "None"}, 201),
        "creating the dataset without the new dataset's 'id' (HTTP 201, application/json, a JSON object)",
    ),
    "created as a web page": (
        _json({"value": []}),
        httpx.Response(200, content=PAGE, headers=HTML),
        "creating the dataset without the new dataset's 'id' (HTTP 200, text/html, not JSON)",
    ),
}


@pytest.mark.parametrize("case", list(ANSWERS))
def test_an_answer_without_the_dataset_id_is_a_terminal_error_naming_it(case):
    listing, created, expected = ANSWERS[case]
    seen = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return listing if request.method == "GET" else created

    sim = PowerBISimulator()
    creds = sim.credentials()
    with running(sim) as origin:  # Entra's token endpoint; the API is the mock transport
        sink = PowerBISink(
            PowerBISink.Options(
                tenant=creds["tenant"], workspace_id=creds["workspace_id"], identity_url=origin
            ),
            PowerBISink.Credentials(client_id=creds["client_id"], client_secret=creds["client_secret"]),
            transport=httpx.MockTransport(api),
        )

        async def prepare():
            try:
                await sink.prepare([DIM])
            finally:
                await sink.aclose()

        with pytest.raises(TerminalError) as caught:
            asyncio.run(prepare())
    message = str(caught.value)
    assert message == (
        f"Power BI answered {expected}; check that the sink's api_url is the Power BI REST API "
        "and that no proxy answers in its place"
    )
    assert "intranet-secret-host" not in message and creds["client_secret"] not in message
    # A listing that cannot be read never leads to creating a second dataset.
    assert seen == (["GET"] if case.startswith("listing") else ["GET", "POST"])
