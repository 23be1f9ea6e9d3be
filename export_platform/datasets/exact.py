"""Exact arithmetic for derived figures: ratios and shares of money worked out on whole cents with
integer division, rounded once, half away from zero.

Polars' decimal division truncates to the operands' scale, so dividing and then rounding would round
twice (33.59499...% came out as 33.60 when the quotient was first cut to four decimals). Every ratio
of the datasets and of the report summaries goes through here instead.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import polars as pl

HUNDREDTH = Decimal("0.01")


def cents(amount: pl.Expr) -> pl.Expr:
    """A money column (two decimals) as whole cents, wide enough for any product taken from it."""
    return (amount * 100).cast(pl.Int128)


def rounded_quotient(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator`` of two integer columns, rounded half away from zero to a whole
    number; null where the denominator is 0."""
    magnitude = (2 * numerator.abs() + denominator.abs()) // (2 * denominator.abs())
    negative = (numerator < 0) != (denominator < 0)
    return pl.when(denominator != 0).then(pl.when(negative).then(magnitude * -1).otherwise(magnitude))


def from_cents(whole_cents: pl.Expr) -> pl.Expr:
    """Whole cents (or hundredths of a percent) back to a two-decimal number, exactly."""
    return (whole_cents.cast(pl.Decimal(38, 0)) * HUNDREDTH).cast(pl.Decimal(18, 2))


def percent_of(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator`` as a percentage with two decimals, rounded once, half away from
    zero; null where the denominator is 0. Both are money columns."""
    return from_cents(rounded_quotient(cents(numerator) * 10_000, cents(denominator)))


def average_of(total: pl.Expr, count: pl.Expr) -> pl.Expr:
    """``total / count`` in cents, rounded once, half away from zero; null where the count is 0."""
    return from_cents(rounded_quotient(cents(total), count.cast(pl.Int128)))


def percent(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """The same rule as ``percent_of`` for one pair of exact numbers (a summary cell)."""
    if not denominator:
        return None
    return round_half_away(Fraction(numerator) * 100 / Fraction(denominator))


def round_half_away(value: Fraction) -> Decimal:
    """An exact fraction to two decimals, half away from zero."""
    hundredths = abs(value) * 100
    whole = int(hundredths + Fraction(1, 2))
    return (Decimal(-whole if value < 0 else whole)) * HUNDREDTH
