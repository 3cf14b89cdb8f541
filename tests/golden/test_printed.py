"""Printed numbers: judging digits exactly (rounded or cut), counting significant digits, and
measuring a full-precision print's distance from an exact value in float64 ulps."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest

from gradcheck.golden.printed import float64_ulps, judge, significant_digits


def test_judge_compares_printed_digits_exactly() -> None:
    assert judge("0.90", 0.9000000000000001) == "match"
    assert judge("0.213", 0.213755) == "match-truncated"
    assert judge("-0.03809823", -0.03809823651655623) == "match-truncated"
    assert judge("0.2995023", Fraction(299502295, 10**9)) == "match"  # exact tie rounds up
    assert judge("0.29950229", Fraction(299502295, 10**9)) == "match-truncated"
    assert judge("0.308898", 0.308898) == "match"
    assert judge("0.30889", 0.3088995) == "match-truncated"
    assert judge("0.3088", 0.30895) == "discrepancy"  # neither rounded (0.3090) nor cut (0.3089)
    assert judge("1", float("nan")) == "discrepancy"


@pytest.mark.parametrize(
    ("printed", "digits"),
    [
        ("0.0250", 3),
        ("-21707153", 8),
        ("0", 1),
        ("1.00631731", 9),
        ("1e-5", 1),
        ("0.59326999210718725", 17),
    ],
)
def test_significant_digits_ignore_sign_point_and_leading_zeros(printed: str, digits: int) -> None:
    assert significant_digits(printed) == digits


def test_float64_ulps_measures_a_print_against_an_exact_value() -> None:
    exact = Fraction(Decimal("0.59326999210718725517"))
    spacing = math.ulp(0.5932699921071872)
    assert float64_ulps("0.59326999210718726", exact) < 0.1  # correctly rounded at 17 digits
    one_ulp_low = repr(0.5932699921071872 - spacing)
    assert 0.5 < float64_ulps(one_ulp_low, exact) < 1.5
    assert float64_ulps("0.5932699921071", exact) > 500  # a 13-digit print is far in ulps
