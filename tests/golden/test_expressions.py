"""A document's arithmetic: the language web pages write (functions, real powers, × · −), exact
and float64 readings, one-line errors naming the offending character or name, and operator
swaps. Nothing is ever run as Python."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from gradcheck.golden.expressions import literals, parse, unparse
from gradcheck.golden.readings import evaluate_expression, float64_value, operator_swaps
from gradcheck.spec import SpecError


def test_expressions_evaluate_exactly_in_decimal() -> None:
    assert evaluate_expression("2 * 0.162 + 3 * 0.218") == Fraction(978, 1000)
    assert evaluate_expression("0.1 + 0.2") == Fraction(3, 10)
    assert evaluate_expression("(0.214 - 1.0) ** 2 / 2") == Fraction(308898, 10**6)
    assert evaluate_expression("(0.214 - 1.0) ^ 2 / 2") == Fraction(308898, 10**6)
    assert evaluate_expression("-(0.01 - 0.75136507)") == Fraction(74136507, 10**8)
    assert evaluate_expression("2 ** 99") == 2**99


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1/(1+e^(−0.3775))", 0.5932699921071872),  # U+2212 minus, e^x
        ("1 / (1 + exp(-0.3775))", 0.5932699921071872),
        ("sigmoid(0.3775)", 0.5932699921071872),
        ("0.75136507 × (1 − 0.75136507)", 0.75136507 * (1 - 0.75136507)),
        ("0.74136507 · 0.186815602 ÷ 2", 0.74136507 * 0.186815602 / 2),
        ("ln(e)", 1.0),
        ("log(0.75136507)", math.log(0.75136507)),
        ("sqrt(2) ^ 2", 2.0),
        ("2 ** 0.5", math.sqrt(2)),
        ("0.25 ^ -0.5", 2.0),
        ("tanh(0.5) + 1e-3", math.tanh(0.5) + 1e-3),
        ("-2 ^ 2", -4.0),  # a power binds tighter than a sign
        ("2 ^ 3 ^ 2", 512.0),  # and groups from the right
        (".5 * 4", 2.0),
    ],
)
def test_the_language_of_web_pages_evaluates(text: str, value: float) -> None:
    assert float(evaluate_expression(text)) == pytest.approx(value, rel=1e-15)


def test_transcendental_values_are_exact_to_far_more_digits_than_float64() -> None:
    exact = evaluate_expression("sigmoid(0.3775)")
    # 0.593269992107187255173654561579... (mpmath, 60 digits)
    assert abs(exact - Fraction("0.59326999210718725517365456157940")) < Fraction(1, 10**30)


def test_the_float64_reading_is_what_code_prints() -> None:
    tree = parse("0.1 + 0.2")
    assert evaluate_expression("0.1 + 0.2") == Fraction(3, 10)
    assert float64_value(tree) == 0.30000000000000004
    assert float64_value(parse("1 / 0")) is None


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("__import__('os').system('true')", ['"\'" (APOSTROPHE) at position 12']),
        ("x + 1", ["unknown name 'x'"]),
        ("abs(-1)", ["unknown function 'abs'", "exp, ln, log, sqrt, sigmoid, tanh"]),
        ("(1).real", ["'.' (FULL STOP) at position 4"]),
        ("[1][0]", ["'[' (LEFT SQUARE BRACKET) at position 1"]),
        ("1 if 1 else 2", ["unexpected 'if' at position 3"]),
        ("1 < 2", ["'<' (LESS-THAN SIGN)"]),
        ("'1'", ["APOSTROPHE"]),
        ("True + 1", ["unknown name 'True'"]),
        ("lambda: 1", ["':' (COLON)"]),
        ("1 +", ["ends too early"]),
        ("0.5 – 0.2", ["'–' (EN DASH) at position 5"]),
        ("exp 2", ["'exp' needs its argument in parentheses"]),
        ("(1 + 2", ["'(' at position 1 is never closed"]),
        ("2 (3)", ["unexpected '(' at position 3; expected an operator"]),
        ("1 / 0", ["division by zero"]),
        ("ln(-1)", ["ln of -1"]),
        ("10 ** 10 ** 10", ["out of range"]),
        ("(" * 100 + "1" + ")" * 100, ["nested deeper than"]),
    ],
)
def test_anything_else_is_one_line_naming_the_offence(text: str, names: list[str]) -> None:
    with pytest.raises(SpecError) as err:
        evaluate_expression(text, "documented[2].expression")
    message = str(err.value)
    assert message.startswith("documented[2].expression: ") and "\n" not in message
    for name in names:
        assert name in message


def test_printing_keeps_the_documents_numbers_and_symbols() -> None:
    tree = parse("0.75136507 × (1 − 0.75136507)")
    assert unparse(tree) == "0.75136507 × (1 − 0.75136507)"
    assert unparse(parse("0.055399425 + (-0.01904911)")) == "0.055399425 + (-0.01904911)"
    assert unparse(parse("(2 ^ 3) ^ 2")) == "(2 ^ 3) ^ 2"
    assert [lit.text for lit in literals(parse("2 * 0.90 + 3 * .5"))] == ["2", "0.90", "3", ".5"]


def test_operator_swaps_try_each_kind_then_each_operator() -> None:
    swaps = list(operator_swaps(parse("0.03635013 + 0.2413007086 + 0.1")))
    assert ("+", "*", "0.03635013 * 0.2413007086 * 0.1") in [s[:3] for s in swaps]
    every = {(old, new, text): value for old, new, text, value in swaps}
    product = Fraction("0.03635013") * Fraction("0.2413007086") * Fraction("0.1")
    assert every["+", "*", "0.03635013 * 0.2413007086 * 0.1"] == product
    assert ("+", "-", "0.03635013 + 0.2413007086 - 0.1") in [s[:3] for s in swaps]  # one alone
    assert list(operator_swaps(parse("1 / 0.5"))) == [
        ("/", "+", "1 + 0.5", Fraction(3, 2)),
        ("/", "-", "1 - 0.5", Fraction(1, 2)),
        ("/", "*", "1 * 0.5", Fraction(1, 2)),
    ]
