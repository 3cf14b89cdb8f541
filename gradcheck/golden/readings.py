"""A document's arithmetic read two ways: exactly, and in float64 as its code computes it.

:func:`exact_value` takes the digits as written, exactly, with :class:`~fractions.Fraction`
(transcendental functions and real powers to 60 significant digits with mpmath);
:func:`float64_value` rounds every number and every step to float64, left to right as the tree
says. :func:`operator_swaps` reads it with an operator replaced.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

from mpmath import MPContext

from gradcheck.golden.expressions import (
    BinOp,
    Call,
    Constant,
    Expression,
    Literal,
    Negate,
    Node,
    children,
    parse,
    unparse,
)
from gradcheck.spec import SpecError

__all__ = [
    "as_written",
    "evaluate_expression",
    "exact_value",
    "float64_value",
    "operator_swaps",
    "to_fraction",
]

_EXACT_POWER = 64  # larger integer powers go through mpmath, not a huge Fraction
_LIMIT = Fraction(10) ** 300  # an exact value past this is not a document's number
_CTX = MPContext()
_CTX.dps = 60


class _Undefined(ArithmeticError):
    """Division by zero, a logarithm of a non-positive number, a value out of range."""


def _mp(x: Fraction) -> object:
    return _CTX.mpf(x.numerator) / x.denominator


def to_fraction(x: object) -> Fraction:
    """An mpmath number as the exact binary fraction it holds."""
    if not _CTX.isfinite(x):
        raise _Undefined("not a finite number")
    sign, man, exp, _ = _CTX.mpf(x)._mpf_  # mpmath's raw (sign, mantissa, exponent, bits)
    if man == 0:
        return Fraction(0)
    if abs(exp) > 4000:
        raise _Undefined("out of range")
    magnitude = Fraction(int(man)) * Fraction(2) ** int(exp)
    return -magnitude if sign else magnitude


def _checked(x: Fraction) -> Fraction:
    if abs(x) > _LIMIT:
        raise _Undefined("out of range")
    return x


_EXACT_FUNCTIONS: dict[str, Callable[[object], object]] = {
    "exp": _CTX.exp,
    "ln": _CTX.ln,
    "log": _CTX.ln,
    "sqrt": _CTX.sqrt,
    "sigmoid": lambda x: 1 / (1 + _CTX.exp(-x)),  # type: ignore[operator]
    "tanh": _CTX.tanh,
}


def _exact_call(name: str, x: Fraction) -> Fraction:
    if name in ("ln", "log") and x <= 0:
        raise _Undefined(f"{name} of {x}")
    if name == "sqrt" and x < 0:
        raise _Undefined(f"sqrt of {x}")
    if name == "exp" and x > 690:
        raise _Undefined("out of range")
    return to_fraction(_EXACT_FUNCTIONS[name](_mp(x)))


def _exact_power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator == 1 and abs(exponent) <= _EXACT_POWER:
        if base == 0 and exponent < 0:
            raise _Undefined("0 to a negative power")
        return _checked(base ** int(exponent))
    if base < 0 and exponent.denominator != 1:
        raise _Undefined("a negative number to a non-integer power")
    if base == 0:
        if exponent <= 0:
            raise _Undefined("0 to a non-positive power")
        return Fraction(0)
    magnitude = float(exponent) * math.log10(abs(float(base))) if float(base) else 0.0
    if magnitude > 300:
        raise _Undefined("out of range")
    return to_fraction(_CTX.power(_mp(base), _mp(exponent)))


Leaf = Callable[[Literal], Fraction]


def _exact(node: Node, leaf: Leaf) -> Fraction:
    if isinstance(node, Literal):
        return leaf(node)
    if isinstance(node, Constant):
        return to_fraction(_CTX.e)
    if isinstance(node, Negate):
        return -_exact(node.operand, leaf)
    if isinstance(node, Call):
        return _exact_call(node.name, _exact(node.argument, leaf))
    a, b = _exact(node.left, leaf), _exact(node.right, leaf)
    if node.op == "+":
        return a + b
    if node.op == "-":
        return a - b
    if node.op == "*":
        return _checked(a * b)
    if node.op == "/":
        if b == 0:
            raise _Undefined("division by zero")
        return _checked(a / b)
    return _exact_power(a, b)


def as_written(node: Literal) -> Fraction:
    """A literal's exact value: its decimal digits, not the nearest float."""
    return Fraction(Decimal(node.text))


def exact_value(
    expression: Expression, leaf: Leaf = as_written, field: str = "expression"
) -> Fraction:
    """The expression's exact value (``leaf`` may give a literal another value); a value that
    does not exist (division by zero, ``ln`` of a non-positive number) is a SpecError."""
    try:
        return _exact(expression.root, leaf)
    except _Undefined as exc:
        raise SpecError(f"{field}: {exc} in {expression.text!r}") from None


def evaluate_expression(text: str, field: str = "expression") -> Fraction:
    """Exact value of a document's arithmetic, e.g. ``"2 * 0.162 + 3 * 0.218"`` -> 489/500."""
    return exact_value(parse(text, field), field=field)


def _sigmoid64(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


_FLOAT_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "exp": math.exp,
    "ln": math.log,
    "log": math.log,
    "sqrt": math.sqrt,
    "sigmoid": _sigmoid64,
    "tanh": math.tanh,
}


def _float64(node: Node) -> float:
    if isinstance(node, Literal):
        return float(node.text)
    if isinstance(node, Constant):
        return math.e
    if isinstance(node, Negate):
        return -_float64(node.operand)
    if isinstance(node, Call):
        return _FLOAT_FUNCTIONS[node.name](_float64(node.argument))
    a, b = _float64(node.left), _float64(node.right)
    if node.op == "+":
        return a + b
    if node.op == "-":
        return a - b
    if node.op == "*":
        return a * b
    if node.op == "/":
        return a / b
    return float(a**b)


def float64_value(expression: Expression) -> float | None:
    """The expression evaluated in float64 step by step, as code computes it; None where float64
    has no value (overflow, division by zero, a domain error)."""
    try:
        value = _float64(expression.root)
    except (ArithmeticError, ValueError, TypeError):
        return None
    return value if math.isfinite(value) else None


# -- a swapped operator ----------------------------------------------------------------------
_SWAPPABLE = ("+", "-", "*", "/")


def _replace_ops(node: Node, chosen: set[int], new: str, counter: list[int]) -> Node:
    if isinstance(node, BinOp):
        left = _replace_ops(node.left, chosen, new, counter)
        index = counter[0] if node.op in _SWAPPABLE else -1
        if node.op in _SWAPPABLE:
            counter[0] += 1
        right = _replace_ops(node.right, chosen, new, counter)
        if index in chosen:
            return BinOp(new, left, right, new)
        return replace(node, left=left, right=right)
    if isinstance(node, Negate):
        return Negate(_replace_ops(node.operand, chosen, new, counter))
    if isinstance(node, Call):
        return Call(node.name, _replace_ops(node.argument, chosen, new, counter))
    return node


def _sites(node: Node) -> list[BinOp]:
    """The swappable operators in the order :func:`_replace_ops` counts them (in-order)."""
    if isinstance(node, BinOp):
        here = [node] if node.op in _SWAPPABLE else []
        return _sites(node.left) + here + _sites(node.right)
    return [s for child in children(node) for s in _sites(child)]


def operator_swaps(expression: Expression) -> Iterator[tuple[str, str, str, Fraction]]:
    """(printed op, other op, expression with it, exact value): every operator of one kind
    swapped at once, then each single operator."""
    sites = _sites(expression.root)
    kinds = list(dict.fromkeys(s.op for s in sites))
    groups = [{i for i, s in enumerate(sites) if s.op == k} for k in kinds]
    groups += [{i} for i in range(len(sites))] if len(sites) > 1 else []
    for group in groups:
        old = sites[min(group)].op
        for new in _SWAPPABLE:
            if new == old:
                continue
            variant = _replace_ops(expression.root, group, new, [0])
            try:
                value = _exact(variant, as_written)
            except _Undefined:
                continue
            yield old, new, unparse(variant), value
