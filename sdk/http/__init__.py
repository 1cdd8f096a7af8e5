"""The HTTP toolkit every connector is built on: rate budgets, auth hooks, retries, paging.

``ApiClient`` wraps ``httpx.AsyncClient`` with an injectable transport; ``Auth`` subclasses
authorise and sign requests and renew tokens; ``RateBudgets`` throttles before the platform
does; paginators walk listings; ``Redactor`` keeps secrets out of logs and errors.
"""

from __future__ import annotations

from .auth import (
    Auth,
    HeaderToken,
    HmacQuerySignature,
    NoAuth,
    OAuthRefresh,
    SignedMessage,
    TokenSet,
    hmac_sha256_hex,
)
from .body import error_field, response_json
from .client import ApiClient, Classifier, RetryPolicy, parse_retry_after
from .paginate import CursorPaginator, NextTokenPaginator, PageNumberPaginator, Paginator, time_windows
from .ratelimit import RateBudgets, RateLimit, TokenBucket
from .redact import MASK, Redactor, redact_library_logs
from .reports import ReportFormat, ReportStatus, decode_report, wait_for_report

__all__ = [
    "MASK",
    "ApiClient",
    "Auth",
    "Classifier",
    "CursorPaginator",
    "HeaderToken",
    "HmacQuerySignature",
    "NextTokenPaginator",
    "NoAuth",
    "OAuthRefresh",
    "PageNumberPaginator",
    "Paginator",
    "RateBudgets",
    "RateLimit",
    "Redactor",
    "ReportFormat",
    "ReportStatus",
    "RetryPolicy",
    "SignedMessage",
    "TokenBucket",
    "TokenSet",
    "decode_report",
    "error_field",
    "hmac_sha256_hex",
    "parse_retry_after",
    "redact_library_logs",
    "response_json",
    "time_windows",
    "wait_for_report",
]

# Importing the toolkit is enough to keep httpx's request log lines free of query secrets.
redact_library_logs()
