"""Shopee hosts and regions: where to call, and what a shop's region implies for its rows."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HOSTS", "OFFICIAL_HOSTS", "REGIONS", "Region", "region"]

HOSTS: dict[str, str] = {
    "global": "https://partner.shopeemobile.com",
    "china": "https://openplatform.shopee.cn",
    "brazil": "https://openplatform.shopee.com.br",
    "sandbox": "https://openplatform.sandbox.test-stable.shopee.sg",
    "sandbox_china": "https://openplatform.sandbox.test-stable.shopee.cn",
}
"""Production hosts (servers near Singapore, Chinese Mainland, the US) and the sandbox ones.

A test partner id works only against a sandbox host, a live one only in production.
"""
OFFICIAL_HOSTS = tuple(url.removeprefix("https://") for url in HOSTS.values())
"""The hosts a connection's ``base_url`` may name: Shopee's own."""


@dataclass(frozen=True)
class Region:
    """A Shopee site: its two-letter region code, currency and time zone."""

    code: str
    currency: str
    timezone: str


REGIONS: dict[str, Region] = {
    r.code: r
    for r in (
        Region("SG", "SGD", "Asia/Singapore"),
        Region("MY", "MYR", "Asia/Kuala_Lumpur"),
        Region("TH", "THB", "Asia/Bangkok"),
        Region("PH", "PHP", "Asia/Manila"),
        Region("VN", "VND", "Asia/Ho_Chi_Minh"),
        Region("ID", "IDR", "Asia/Jakarta"),
        Region("TW", "TWD", "Asia/Taipei"),
        Region("BR", "BRL", "America/Sao_Paulo"),
        Region("MX", "MXN", "America/Mexico_City"),
        Region("CO", "COP", "America/Bogota"),
        Region("CL", "CLP", "America/Santiago"),
    )
}
"""Shopee sites by region code."""


def region(code: str) -> Region:
    try:
        return REGIONS[code.upper()]
    except KeyError:
        raise KeyError(f"unknown Shopee region {code!r}; known: {', '.join(sorted(REGIONS))}") from None
