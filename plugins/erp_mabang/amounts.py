"""Mabang's two money columns per amount, checked against each other before anything is mapped.

Each amount comes twice, as text with four decimals: ``X`` converted to CNY and ``XOrigin`` in
the order's currency (``currencyId``), with ``X = XOrigin x currencyRate``. The default
mappings read the ``…Origin`` side; a record whose two sides disagree, or whose ``…Origin``
amounts have no currency, would be mapped on a guess, so it is quarantined with the reason.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = ["ORDER_AMOUNTS", "amount_problems"]

ORDER_AMOUNTS = ("itemTotal", "orderFee", "taxFee", "shippingFee", "discountFee", "platformFee")
"""The order-level amounts sent in both currencies."""

_CENT = Decimal("0.0001")
# Both sides are rounded to four places, so they may differ by the rounding of the product.
_TOLERANCE = Decimal("0.0002")


def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def amount_problems(record: dict[str, Any], names: tuple[str, ...], *, where: str = "") -> list[str]:
    """Why ``record``'s amounts ``names`` (plain and ``…Origin``) cannot be trusted; empty if they can."""
    problems: list[str] = []
    has_origin = [name for name in names if _number(record.get(f"{name}Origin")) is not None]
    if has_origin and not record.get("currencyId"):
        problems.append(f"{where}{', '.join(n + 'Origin' for n in has_origin)} given without currencyId")
    rate = _number(record.get("currencyRate"))
    if rate is None:
        return problems
    for name in has_origin:
        origin = _number(record[f"{name}Origin"])
        converted = _number(record.get(name))
        if origin is None or converted is None:
            continue
        expected = (origin * rate).quantize(_CENT, ROUND_HALF_UP)
        if abs(converted - expected) > _TOLERANCE:
            problems.append(
                f"{where}{name} {record.get(name)} (CNY) is not {name}Origin {record.get(name + 'Origin')} "
                f"x currencyRate {record.get('currencyRate')} = {expected}: the account reports its "
                "amounts differently; map them explicitly in an override"
            )
    return problems
