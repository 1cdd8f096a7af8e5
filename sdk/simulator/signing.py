"""Request-signature verification for simulators of platforms that sign every call."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from sdk.http.auth import SignedMessage, hmac_sha256_hex

__all__ = ["verify_query_signature"]


async def verify_query_signature(
    request: Request, *, secret: str, message: SignedMessage, sign_param: str = "sign"
) -> bool:
    """Whether ``request`` carries the HMAC-SHA256 a client signing with ``message`` would send.

    The same ``message`` builder serves ``sdk.http.HmacQuerySignature`` on the client side, so
    a simulator checks exactly what a connector signs; the body is read as sent, byte for byte.
    """
    sent = request.query_params.get(sign_param)
    if not sent:
        return False
    params = [(k, v) for k, v in request.query_params.multi_items() if k != sign_param]
    expected = hmac_sha256_hex(secret, message(request.url.path, params, await request.body()))
    return hmac.compare_digest(sent, expected)
