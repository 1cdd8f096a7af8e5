"""Microsoft Entra client credentials through msal, as an SDK ``Auth`` for the REST client.

msal talks to the identity endpoint through an injected HTTP client: an httpx client that,
when ``identity_url`` is set, sends the requests meant for the authority host there instead
(a local fake identity endpoint in tests and demos). msal caches the token and asks for a new
one when it expires; after a 401 the cached token is dropped and a fresh one requested.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msal  # type: ignore[import-untyped]

from sdk import CredentialError, UpstreamUnavailable
from sdk.http import Auth

__all__ = ["SCOPE", "EntraAuth", "MsalHttpClient"]

SCOPE = "https://analysis.windows.net/powerbi/api/.default"


class MsalHttpClient:
    """msal's ``http_client`` over httpx; URLs on ``authority_host`` go to ``identity_url``."""

    def __init__(
        self,
        authority_host: str,
        identity_url: str | None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._from = authority_host.rstrip("/")
        self._to = identity_url.rstrip("/") if identity_url else None
        # Redirects are not followed: every hop must pass the hub's egress guard (the transport).
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)

    def _url(self, url: str) -> str:
        if self._to and url.startswith(self._from):
            return self._to + url[len(self._from) :]
        return url

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> httpx.Response:
        return self._http.post(self._url(url), params=params, data=data, headers=headers)

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> httpx.Response:
        return self._http.get(self._url(url), params=params, headers=headers)

    def close(self) -> None:
        self._http.close()


class EntraAuth(Auth):
    """Bearer tokens for the Power BI REST API from a confidential client (service principal)."""

    def __init__(
        self,
        *,
        tenant: str,
        client_id: str,
        client_secret: str,
        authority_host: str,
        identity_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._secret = client_secret
        self._http = MsalHttpClient(authority_host, identity_url, transport=transport)
        self._app: msal.ConfidentialClientApplication | None = None
        self._authority = f"{authority_host.rstrip('/')}/{tenant}"
        self._client_id = client_id
        self._token: str | None = None
        self.acquired = 0
        """Tokens obtained from the identity endpoint (not from msal's cache)."""

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            try:
                self._app = msal.ConfidentialClientApplication(
                    self._client_id,
                    client_credential=self._secret,
                    authority=self._authority,
                    http_client=self._http,
                    instance_discovery=False,
                )
            except ValueError as exc:
                raise CredentialError(
                    f"cannot reach the Microsoft Entra tenant at {self._authority}: {exc}"
                ) from None
        return self._app

    def _acquire(self) -> str:
        try:
            result = self._application().acquire_token_for_client(scopes=[SCOPE])
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"cannot reach Microsoft Entra: {type(exc).__name__}") from None
        if "access_token" not in result:
            reason = str(result.get("error_description") or result.get("error") or "no token").splitlines()[0]
            raise CredentialError(
                "Microsoft Entra refused the Power BI sink's client credentials "
                f"({result.get('error')}: {reason}); check the client id and secret"
            )
        if result.get("token_source") == "identity_provider":
            self.acquired += 1
        token = str(result["access_token"])
        self._token = token
        return token

    async def prepare(self, request: httpx.Request) -> None:
        token = await asyncio.to_thread(self._acquire)
        request.headers["Authorization"] = f"Bearer {token}"

    async def refresh(self, client: httpx.AsyncClient) -> bool:
        app = self._application()
        await asyncio.to_thread(app.remove_tokens_for_client)
        return True

    def is_auth_failure(self, response: httpx.Response) -> bool:
        # Power BI answers 403 for a workspace the app is not a member of: not a token problem.
        return response.status_code == 401

    def secrets(self) -> list[str]:
        return [self._secret, *([self._token] if self._token else [])]

    def close(self) -> None:
        self._http.close()
