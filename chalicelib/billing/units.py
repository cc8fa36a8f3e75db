"""Credits on the wire are JSON numbers; inside, every amount is an integer of minor units.

One credit is 10**9 minor units, fine enough for per-token rates such as 0.00000015 credits.
Conversion goes through Decimal so 0.1 credits is exactly 100_000_000 units, never 99_999_999.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

MINOR_PER_CREDIT = 10**9


def to_minor(credits: float | int | str | Decimal) -> int:
    try:
        value = Decimal(str(credits)) * MINOR_PER_CREDIT
    except InvalidOperation as exc:
        raise ValueError(f"not a number of credits: {credits!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite number of credits: {credits!r}")
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_minor(units: int) -> int | float:
    whole, rest = divmod(units, MINOR_PER_CREDIT)
    if rest == 0:
        return whole
    return float(Decimal(units) / MINOR_PER_CREDIT)
