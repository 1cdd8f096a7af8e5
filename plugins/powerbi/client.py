"""The push-dataset calls of the Power BI REST API, always under a workspace (``groups``)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx

from sdk import RateLimited, TerminalError
from sdk.http import ApiClient, RateBudgets, RateLimit, RetryPolicy

from .auth import EntraAuth
from .options import PowerBICredentials, PowerBIOptions

__all__ = ["PowerBIClient"]

# Power BI documents no numbers for its general REST throttle; these keep the few metadata
# calls gentle. POST rows are paced by the dataset's own limits (pacing.py) before this.
LIMITS = {"metadata": RateLimit(5.0, 10.0), "rows": RateLimit(1_000.0, 1_000.0)}
# A 429 may ask for an hour (Retry-After: 3392 has been seen): wait it out rather than fail.
RETRY = RetryPolicy(attempts=8, initial=1.0, maximum=3_600.0)
# POST rows is not idempotent: after a timeout or a 5xx nobody knows whether the rows went in,
# and sending them again could double them. Such a failure ends the push instead (the hub's
# pending mark makes the next push replace the table); only a 429, which the service answers
# before taking anything, is waited out and retried.
RATE_LIMITED_ATTEMPTS = 8


class PowerBIClient:
    """Calls for one service principal and one workspace."""

    def __init__(
        self,
        options: PowerBIOptions,
        credentials: PowerBICredentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        identity_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.auth = EntraAuth(
            tenant=options.tenant,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret.get_secret_value(),
            authority_host=options.authority_host,
            identity_url=options.identity_url,
            transport=identity_transport,
        )
        self.api = ApiClient(
            options.api_url,
            app=f"powerbi:{credentials.client_id}",
            budgets=RateBudgets(),
            limits=LIMITS,
            auth=self.auth,
            transport=transport,
            timeout=120.0,
            retry=RETRY,
        )
        self.rows_api = ApiClient(
            options.api_url,
            app=f"powerbi:{credentials.client_id}",
            budgets=RateBudgets(),
            limits=LIMITS,
            auth=self.auth,
            transport=transport,
            timeout=120.0,
            retry=RetryPolicy(attempts=1),
        )
        self.rate_limited = 0
        """POST rows answered 429 and sent again after the wait."""
        self.base = f"/v1.0/myorg/groups/{quote(options.workspace_id, safe='')}/datasets"

    async def datasets(self) -> list[dict[str, Any]]:
        """The workspace's datasets, each with its ``id``."""
        response, body = await self.api.request("GET", self.base, endpoint="metadata")
        return _listing("listing the workspace's datasets", "id", response, body)

    async def create_dataset(self, body: dict[str, Any], *, retention: str) -> str:
        """Create the push dataset ``body`` describes; returns its id."""
        response, created = await self.api.request(
            "POST",
            self.base,
            endpoint="metadata",
            params={"defaultRetentionPolicy": retention},
            json_body=body,
        )
        dataset_id = _text(created.get("id")) if isinstance(created, dict) else None
        if dataset_id is None:
            raise _unexpected("creating the dataset", "the new dataset's 'id'", response, created)
        return dataset_id

    async def tables(self, dataset_id: str) -> list[dict[str, Any]]:
        """The dataset's tables, each with its ``name``."""
        url = f"{self._dataset(dataset_id)}/tables"
        response, body = await self.api.request("GET", url, endpoint="metadata")
        return _listing("listing the dataset's tables", "name", response, body)

    async def put_table(self, dataset_id: str, table: dict[str, Any]) -> None:
        url = f"{self._dataset(dataset_id)}/tables/{quote(table['name'], safe='')}"
        await self.api.request("PUT", url, endpoint="metadata", json_body=table)

    async def post_rows(self, dataset_id: str, table: str, rows: list[dict[str, Any]]) -> None:
        url = f"{self._dataset(dataset_id)}/tables/{quote(table, safe='')}/rows"
        for attempt in range(1, RATE_LIMITED_ATTEMPTS + 1):
            try:
                await self.rows_api.request("POST", url, endpoint="rows", json_body={"rows": rows})
                return
            except RateLimited as exc:
                if attempt == RATE_LIMITED_ATTEMPTS:
                    raise
                self.rate_limited += 1
                await asyncio.sleep(exc.retry_after if exc.retry_after is not None else 2.0**attempt)

    async def delete_rows(self, dataset_id: str, table: str) -> None:
        url = f"{self._dataset(dataset_id)}/tables/{quote(table, safe='')}/rows"
        await self.api.request("DELETE", url, endpoint="metadata")

    def _dataset(self, dataset_id: str) -> str:
        return f"{self.base}/{quote(dataset_id, safe='')}"

    async def aclose(self) -> None:
        await self.api.aclose()
        await self.rows_api.aclose()
        self.auth.close()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _listing(doing: str, required: str, response: httpx.Response, body: Any) -> list[dict[str, Any]]:
    """The ``value`` list of a listing's answer, each item an object with a ``required`` text."""
    found = body.get("value") if isinstance(body, dict) else None
    if not isinstance(found, list) or not all(isinstance(i, dict) and _text(i.get(required)) for i in found):
        raise _unexpected(doing, f"a 'value' list of objects with {required!r}", response, body)
    return found


def _unexpected(doing: str, missing: str, response: httpx.Response, body: Any) -> TerminalError:
    """An answer that is not Power BI's (a proxy's page, say): named by its shape, never quoted."""
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    shape = "a JSON object" if isinstance(body, dict) else "JSON" if isinstance(body, list) else "not JSON"
    return TerminalError(
        f"Power BI answered {doing} without {missing} (HTTP {response.status_code}, {kind}, {shape}); "
        "check that the sink's api_url is the Power BI REST API and that no proxy answers in its place"
    )
