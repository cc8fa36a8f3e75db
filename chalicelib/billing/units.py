"""Credits on the wire are JSON numbers; inside, every amount is an integer of minor units.

One credit is 10**9 minor units, fine enough for per-token rates such as 0.00000015 credits.
Conversion goes through Decimal so 0.1 credits is exactly 100_000_000 units, never 99_999_999.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

MINOR_PER_CREDIT = 10**9
# The most one amount or one account's balance may hold: 10**18 minor units, so a balance plus
# anything granted or held stays far inside SQLite's signed 64-bit INTEGER.
MAX_CREDITS = 10**9
MAX_MINOR = MAX_CREDITS * MINOR_PER_CREDIT


def to_minor(credits: float | int | str | Decimal) -> int:
    """Exact minor units; a non-zero amount smaller than one minor unit is refused, not rounded
    to 0 (a rate of 1e-12 would make a model free)."""
    try:
        value = Decimal(str(credits)) * MINOR_PER_CREDIT
    except InvalidOperation as exc:
        raise ValueError(f"not a number of credits: {credits!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite number of credits: {credits!r}")
    units = int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    if units == 0 and value != 0:
        raise ValueError(f"{credits} is below the smallest unit of credit (1e-09); use 0 or at least 1e-09")
    return units


def from_minor(units: int) -> int | float:
    whole, rest = divmod(units, MINOR_PER_CREDIT)
    if rest == 0:
        return whole
    return float(Decimal(units) / MINOR_PER_CREDIT)
