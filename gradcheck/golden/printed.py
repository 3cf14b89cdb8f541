"""Printed numbers: a document's digits judged exactly, at the precision they claim.

A printed string is compared with a value on its own decimals with :mod:`decimal`, never with a
float tolerance: rounded half up or cut (:func:`judge`, :func:`reproduces`). A print of
:data:`HIGH_PRECISION_DIGITS` or more significant digits claims more than float64 holds, so it is
judged against an exact value, and :func:`float64_ulps` measures how far off it is in units of
float64's spacing. One-edit slips between a print and a value are in
:mod:`gradcheck.golden.typos`.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Literal

__all__ = [
    "HIGH_PRECISION_DIGITS",
    "Verdict",
    "at_places",
    "decimals",
    "exact_decimal",
    "float64_ulps",
    "judge",
    "reproduces",
    "show_digits",
    "significant_digits",
]

HIGH_PRECISION_DIGITS = 15
"""A print with this many significant digits or more is judged against the exact value: float64
holds 15 to 17, so gradcheck's own float64 result may be off in the last of them."""

Verdict = Literal["match", "match-truncated", "discrepancy"]


def exact_decimal(value: float | Fraction) -> Decimal:
    """A float as its shortest repr (no binary tail to truncate into), a fraction to 60 digits."""
    if isinstance(value, Fraction):
        with localcontext() as ctx:
            ctx.prec = 60
            return Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(repr(float(value)))


def decimals(printed: str) -> int:
    """Decimals printed: ``"0.250"`` -> 3, ``"12"`` -> 0."""
    exponent = Decimal(printed).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def significant_digits(printed: str) -> int:
    """Significant digits printed: ``"0.0250"`` -> 3, ``"-21707153"`` -> 8, ``"0"`` -> 1."""
    digits = printed.lstrip("+-").split("e")[0].split("E")[0].replace(".", "").lstrip("0")
    return max(1, len(digits))


def at_places(value: float | Fraction, places: int, rounded: bool = True) -> Decimal:
    """``value`` rounded half up (or cut) at ``places`` decimals."""
    return _at(exact_decimal(value), places, ROUND_HALF_UP if rounded else ROUND_DOWN)


def float64_ulps(printed: str, exact: Fraction) -> float:
    """How far the print is from ``exact``, in units of float64's spacing at ``exact``."""
    spacing = math.ulp(float(exact)) or math.ulp(0.0)
    return float(abs(Fraction(Decimal(printed)) - exact)) / spacing


def _at(value: Decimal, places: int, mode: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        return value.quantize(Decimal(1).scaleb(-places), rounding=mode)


def reproduces(printed: str, value: float | Fraction) -> str | None:
    """'rounded' or 'truncated' if ``value`` gives the printed string at its decimals, else None."""
    v, d, p = exact_decimal(value), decimals(printed), Decimal(printed)
    if not v.is_finite():
        return None
    if _at(v, d, ROUND_HALF_UP) == p:
        return "rounded"
    return "truncated" if _at(v, d, ROUND_DOWN) == p else None


def judge(printed: str, value: float | Fraction) -> Verdict:
    """``match`` if rounding gives the print, ``match-truncated`` if only cutting does."""
    how = reproduces(printed, value)
    return "match" if how == "rounded" else "match-truncated" if how else "discrepancy"


def show_digits(value: float | Fraction, places: int) -> str:
    """``value`` with three digits more than printed, trailing zeros dropped."""
    v = exact_decimal(value)
    if not v.is_finite():
        return str(v).lower()
    text = f"{_at(v, places + 3, ROUND_HALF_UP):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
