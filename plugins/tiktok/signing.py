"""TikTok Shop's request signature: one message builder for the connector and its simulator.

The string signed is, exactly as TikTok documents it (Partner API "sign" algorithm, 202309):
the request path, then every query parameter except ``sign`` and ``access_token`` as
``key + value`` sorted by key, then the body bytes as sent (for any request that is not
``multipart/form-data``; the connector sends only JSON), all wrapped in the app secret at
both ends. The signature is the lower-case hex HMAC-SHA256 of that string keyed by the
secret (``sdk.http.HmacQuerySignature`` computes it; ``sdk.simulator.verify_query_signature``
checks it).
"""

from __future__ import annotations

from sdk.http import SignedMessage

__all__ = ["UNSIGNED_PARAMS", "signed_message"]

UNSIGNED_PARAMS = frozenset({"sign", "access_token"})


def signed_message(app_secret: str) -> SignedMessage:
    """The builder of the string TikTok signs, for the app whose secret is ``app_secret``."""

    def message(path: str, params: list[tuple[str, str]], body: bytes) -> str:
        kept = sorted((key, value) for key, value in params if key not in UNSIGNED_PARAMS)
        # A body that is not UTF-8 cannot come from this connector; decoding it with
        # replacement still makes any changed byte change the string, so a simulator refuses it.
        text = body.decode("utf-8", errors="replace")
        return app_secret + path + "".join(key + value for key, value in kept) + text + app_secret

    return message
