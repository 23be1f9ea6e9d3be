"""The oracle's own rounding, written apart from the product's: exact fractions, rounded once."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

CENT = Decimal("0.01")


def money(value: Decimal | int) -> Decimal:
    """An amount at two decimals, as the files print it (exact: amounts have at most two)."""
    exact = Decimal(value).quantize(CENT)
    assert exact == value, f"{value} has more than two decimals"
    return exact


def rounded(value: Fraction) -> Decimal:
    """``value`` to two decimals, half away from zero."""
    hundredths = abs(value) * 100
    whole = hundredths.numerator // hundredths.denominator
    if hundredths - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(-whole if value < 0 else whole) * CENT


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    return rounded(Fraction(part) * 100 / Fraction(whole)) if whole else None
