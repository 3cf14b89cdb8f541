"""Printed numbers: judging digits exactly (rounded or cut), naming one-edit slips only where one
fits, and the expression evaluator's exact arithmetic and whitelist."""

from __future__ import annotations

from fractions import Fraction

import pytest

from gradcheck.golden.printed import evaluate_expression, judge, typo
from gradcheck.spec import SpecError


def test_typo_detector_stays_quiet_for_correct_and_far_values() -> None:
    assert typo("0.125", 0.125) is None
    assert typo("0.1250", 0.125) is None
    assert typo("0.987", 0.123) is None
    assert typo("0.5", 0.55) is None  # a truncated print is not a typo
    assert typo("0.13", 0.125) is None  # rounded half up


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


# -- the expression evaluator ----------------------------------------------------------------
def test_expressions_evaluate_exactly_in_decimal() -> None:
    assert evaluate_expression("2 * 0.162 + 3 * 0.218") == Fraction(978, 1000)
    assert evaluate_expression("0.1 + 0.2") == Fraction(3, 10)
    assert evaluate_expression("(0.214 - 1.0) ** 2 / 2") == Fraction(308898, 10**6)
    assert evaluate_expression("-(0.01 - 0.75136507)") == Fraction(74136507, 10**8)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "x + 1",
        "abs(-1)",
        "(1).real",
        "[1][0]",
        "1 if 1 else 2",
        "1 < 2",
        "2 ^ 3",
        "2 ** 99",
        "2 ** 0.5",
        "'1'",
        "True + 1",
        "lambda: 1",
        "1 +",
    ],
)
def test_expression_evaluator_rejects_anything_but_arithmetic(text: str) -> None:
    with pytest.raises(SpecError, match="expression"):
        evaluate_expression(text)
