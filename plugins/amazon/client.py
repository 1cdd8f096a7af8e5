"""HTTP clients for SP-API and Amazon Ads: LWA tokens, documented rate budgets, error mapping.

SP-API needs only an LWA access token in ``x-amz-access-token`` (SigV4 is not required since
October 2023). Ads wants ``Authorization: Bearer`` plus the client id and, per profile, a
scope header. Both share the LWA app's budgets across every seller connected with that app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from sdk import KpihubError, UpstreamUnavailable
from sdk.http import ApiClient, Auth, OAuthRefresh, RateBudgets, RateLimit, TokenSet, decode_report

from .marketplaces import ADS_HOSTS, LWA_TOKEN_URL, SP_API_HOSTS
from .options import AmazonCredentials, AmazonOptions

if TYPE_CHECKING:
    from .source import AmazonSource

__all__ = ["ADS_LIMITS", "BUDGETS", "SP_API_LIMITS", "AmazonClients"]

BUDGETS = RateBudgets()
"""Process-wide: every connection using the same LWA app draws on the same buckets."""

SP_API_LIMITS = {
    "searchOrders": RateLimit(0.0056, 20),
    "getOrders": RateLimit(0.0167, 20),
    "getOrderItems": RateLimit(0.5, 30),
    "listFinancialEvents": RateLimit(0.5, 30),
    "getInventorySummaries": RateLimit(2, 2),
}
"""Documented default usage plans (rate per second, burst), from Amazon's API models."""

ADS_LIMITS = {"*": RateLimit(5, 10)}
"""Ads limits are dynamic and undocumented; a conservative seed, corrected by 429/Retry-After."""

_RATE_HEADER = "x-amzn-RateLimit-Limit"


class AmazonClients:
    """The SP-API and Ads clients of one connection, sharing one LWA token."""

    def __init__(
        self,
        source: AmazonSource,
        options: AmazonOptions,
        credentials: AmazonCredentials,
        *,
        budgets: RateBudgets | None = None,
    ) -> None:
        transport = source.context.transport
        self._source = source
        self.lwa = OAuthRefresh(
            token_url=options.lwa_url or LWA_TOKEN_URL,
            client_id=credentials.lwa_client_id,
            client_secret=credentials.lwa_client_secret.get_secret_value(),
            refresh_token=credentials.refresh_token.get_secret_value(),
            header="x-amz-access-token",
            scheme=None,
            persist=self._persist,
        )
        app = credentials.lwa_client_id
        self.sp_api = ApiClient(
            options.sp_api_url or SP_API_HOSTS[options.region],
            app=app,
            budgets=budgets or BUDGETS,
            limits=_scaled(SP_API_LIMITS, options.rate_limit_scale),
            auth=self.lwa,
            transport=transport,
            rate_header=_RATE_HEADER,
            headers={"user-agent": "kpihub-amazon/1.0 (Language=Python)"},
        )
        self.ads_auth = _AdsAuth(self.lwa, credentials.lwa_client_id)
        self.ads = ApiClient(
            options.ads_url or ADS_HOSTS[options.region],
            app=app,
            budgets=budgets or BUDGETS,
            limits=_scaled(ADS_LIMITS, options.rate_limit_scale),
            auth=self.ads_auth,
            transport=transport,
            redactor=self.sp_api.redactor,
        )
        # Report files come from pre-signed URLs fetched without auth headers; a cut or garbled
        # file is a transient failure like any other, so it goes through the same retries.
        self.download = ApiClient(
            "https://reports.invalid",
            app=app,
            budgets=budgets or BUDGETS,
            limits=_DOWNLOAD_LIMITS,
            transport=transport,
            timeout=120,
            classify=_unreadable_report,
            redactor=self.sp_api.redactor,
        )

    async def _persist(self, tokens: TokenSet) -> None:
        """LWA refresh tokens do not rotate; persist only if Amazon ever sends a new one."""
        credentials = self._source.credentials
        if tokens.refresh_token and tokens.refresh_token != credentials.refresh_token.get_secret_value():
            save = self._source.context.save_credentials
            updated = credentials.model_copy(update={"refresh_token": SecretStr(tokens.refresh_token)})
            if save is not None:
                await save(updated)
            self._source.credentials = updated

    def stats(self) -> dict[str, int]:
        merged = self.sp_api.stats + self.ads.stats + self.download.stats
        return {**merged, "tokens_issued": self.lwa.refreshes}

    async def aclose(self) -> None:
        await self.sp_api.aclose()
        await self.ads.aclose()
        await self.download.aclose()


_DOWNLOAD_LIMITS = {"*": RateLimit(20, 20)}


def _unreadable_report(response: httpx.Response, body: Any) -> KpihubError | None:
    """A cut download is retried like a failed one: the classify hook runs inside the retries."""
    if response.status_code != 200:
        return None
    try:
        decode_report(response.content, "GZIP_JSON")
    except UpstreamUnavailable as exc:
        return exc
    return None


def _scaled(limits: dict[str, RateLimit], scale: float) -> dict[str, RateLimit]:
    return {name: RateLimit(limit.rate * scale, limit.burst) for name, limit in limits.items()}


class _AdsAuth(Auth):
    """Ads: the same LWA token as a bearer, plus the client id header."""

    def __init__(self, lwa: OAuthRefresh, client_id: str) -> None:
        self._lwa = lwa
        self._client_id = client_id

    async def prepare(self, request: httpx.Request) -> None:
        scratch = httpx.Request("GET", "http://token.invalid")
        await self._lwa.prepare(scratch)
        request.headers["Authorization"] = f"Bearer {scratch.headers['x-amz-access-token']}"
        request.headers["Amazon-Advertising-API-ClientId"] = self._client_id

    async def refresh(self, client: httpx.AsyncClient) -> bool:
        return await self._lwa.refresh(client)

    def is_auth_failure(self, response: httpx.Response) -> bool:
        return response.status_code == 401

    def secrets(self) -> list[str]:
        return self._lwa.secrets()
