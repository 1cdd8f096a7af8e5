"""Amazon Ads routes of the simulator: profiles and Sponsored Products reporting v3."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sdk.simulator import Reject, route

from ._sim_core import DEFAULT_LIMITS, AmazonCore
from ._sim_reports import Report, check_request, report_rows
from ._sim_truth import sp_campaign_rows
from ._sim_wire import AmazonShop, SellerAccount, dumps

__all__ = ["URL_TTL", "AdsRoutes"]

URL_TTL = 3600.0
"""Simulated seconds a report's download URL stays valid."""
_REPORT_TYPE = "application/vnd.createasyncreportrequest.v3+json"


def _s3_error(code: str, message: str) -> bytes:
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return f"{head}<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()


class AdsRoutes(AmazonCore):
    """``listProfiles``, ``createReport``, ``getReport`` and ``downloadReport``."""

    def _ads_seller(self, request: Request) -> SellerAccount:
        seller = self._seller(request)
        if request.headers.get("amazon-advertising-api-clientid") != self.client_id:
            raise Reject(
                JSONResponse(
                    {"code": "UNAUTHORIZED", "details": "Invalid Amazon-Advertising-API-ClientId"}, 401
                )
            )
        return seller

    def _ads_shop(self, request: Request) -> AmazonShop:
        seller = self._ads_seller(request)
        scope = request.headers.get("amazon-advertising-api-scope", "")
        shop = self._profiles.get(int(scope)) if scope.isdigit() else None
        if shop is None or shop.seller_id != seller.seller_id:
            details = f"Not authorized to access scope {scope or '(missing)'}"
            raise Reject(JSONResponse({"code": "UNAUTHORIZED", "details": details}, 401))
        return shop

    @route("/ads/v2/profiles", name="listProfiles", rate_limit=DEFAULT_LIMITS["listProfiles"])
    async def list_profiles(self, request: Request) -> Response:
        seller = self._ads_seller(request)
        profiles = [
            {
                "profileId": shop.profile_id,
                "countryCode": shop.marketplace.site,
                "currencyCode": shop.spec.currency,
                "timezone": shop.spec.timezone,
                "dailyBudget": 999999999.0,
                "accountInfo": {
                    "id": seller.seller_id,
                    "type": "seller",
                    "marketplaceStringId": mid,
                    "name": shop.spec.name or shop.shop_id,
                    "validPaymentMethod": True,
                },
            }
            for mid, shop in seller.shops.items()
        ]
        return JSONResponse(profiles)

    @route(
        "/ads/reporting/reports",
        methods=["POST"],
        name="createReport",
        rate_limit=DEFAULT_LIMITS["createReport"],
    )
    async def create_report(self, request: Request) -> Response:
        shop = self._ads_shop(request)
        if request.headers.get("content-type", "").split(";")[0].strip() != _REPORT_TYPE:
            detail = f"Content-Type must be {_REPORT_TYPE}"
            return JSONResponse({"code": "415", "detail": detail}, 415)
        try:
            body = json.loads(await request.body())
            wanted = check_request(body)
        except ValueError as invalid:
            return JSONResponse({"code": "400", "detail": str(invalid)}, 400)
        key = f"{shop.profile_id}:{json.dumps(body, sort_keys=True, separators=(',', ':'))}"
        for report in self.reports.values():
            if report.key == key and not report.downloaded:
                return JSONResponse(
                    {"code": "425", "detail": f"The Request is a duplicate of : {report.report_id}"}, 425
                )
        self.reports_created += 1
        report_id = str(
            uuid.UUID(
                bytes=hashlib.blake2b(f"{key}:{self.reports_created}".encode(), digest_size=16).digest(),
                version=4,
            )
        )
        report = Report(report_id, shop.profile_id, shop.shop_id, key, wanted, self.world_now())
        self.reports[report_id] = report
        return JSONResponse(report.as_json(None))

    @route("/ads/reporting/reports/{report_id}", name="getReport", rate_limit=DEFAULT_LIMITS["getReport"])
    async def get_report(self, request: Request) -> Response:
        shop = self._ads_shop(request)
        report = self.reports.get(request.path_params["report_id"])
        if report is None or report.profile_id != shop.profile_id:
            return JSONResponse({"code": "404", "detail": "Report not found"}, 404)
        report.polls += 1
        if report.content is None and report.polls > self.report_pending_polls:
            self._generate(report, shop)
        elif report.content is not None:  # each status answer signs the URL afresh
            self._sign(report)
        url = (
            f"{str(request.base_url).rstrip('/')}{self.base_paths['ads']}/download/{report.report_id}.json.gz"
        )
        return JSONResponse(report.as_json(url))

    def _generate(self, report: Report, shop: AmazonShop) -> None:
        rows = report_rows(
            sp_campaign_rows(self.amazon_world, shop, 7),
            sp_campaign_rows(self.amazon_world, shop, 14),
            report.request,
        )
        report.content = gzip.compress(dumps(rows), mtime=0)
        report.generated_at = self.world_now()
        self._sign(report)

    def _sign(self, report: Report) -> None:
        report.url_expires_at = self.world_now() + dt.timedelta(seconds=URL_TTL)
        report.expires_sim = self.now() + URL_TTL

    @route("/ads/download/{report_id}.json.gz", name="downloadReport")
    async def download_report(self, request: Request) -> Response:
        report = self.reports.get(request.path_params["report_id"])
        if report is None or report.content is None:
            return Response(
                _s3_error("NoSuchKey", "The specified key does not exist."), 404, media_type="application/xml"
            )
        if self.now() > report.expires_sim:
            return Response(
                _s3_error("AccessDenied", "Request has expired"), 403, media_type="application/xml"
            )
        report.downloaded = True
        return Response(report.content, media_type="application/octet-stream")
