"""Printed numbers: a document's digits judged exactly, its slips named, its arithmetic redone.

A printed string is compared with a value on its own decimals with :mod:`decimal`, never with a
float tolerance: rounded half up or cut (:func:`judge`, :func:`reproduces`). :func:`typo` names a
one-edit slip between them; :func:`evaluate_expression` redoes a document's arithmetic exactly
from an :mod:`ast` whitelist (never ``eval``), and :func:`operator_swaps` tries it with each
operator replaced.
"""

from __future__ import annotations

import ast
import copy
import operator
from collections.abc import Callable, Iterator, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Literal

from gradcheck.spec import SpecError

__all__ = [
    "Verdict",
    "decimals",
    "evaluate_expression",
    "exact_decimal",
    "judge",
    "operator_swaps",
    "parse_expression",
    "reproduces",
    "show_digits",
    "typo",
]

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


# -- one-edit slips --------------------------------------------------------------------------
def _one_swap(p: str, s: str) -> bool:
    diff = [i for i in range(len(p)) if p[i] != s[i]]
    if len(diff) != 2 or diff[1] != diff[0] + 1:
        return False
    i, j = diff
    return p[i] == s[j] and p[j] == s[i]


def _drops_digit(longer: str, shorter: str) -> bool:
    return any(
        longer[i].isdigit() and longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer))
    )


def _without_point(s: str) -> str:
    sign, digits = ("-", s[1:]) if s.startswith("-") else ("", s)
    return sign + (digits.replace(".", "").lstrip("0") or "0")


_TYPOS: tuple[tuple[str, Callable[[int], Sequence[int]], Callable[[str, str], bool]], ...] = (
    ("the sign is flipped", lambda d: (d,), lambda p, s: p != s and p.lstrip("-") == s.lstrip("-")),
    (
        "the decimal point is missing",
        lambda d: range(1, 20) if d == 0 else (),
        lambda p, s: "." in s and _without_point(s) == p,
    ),
    (
        "two adjacent digits are swapped",
        lambda d: (d,),
        lambda p, s: len(p) == len(s) and _one_swap(p, s),
    ),
    (
        "a digit is dropped",
        lambda d: (d + 1,),
        lambda p, s: len(s) == len(p) + 1 and _drops_digit(s, p),
    ),
    (
        "one digit differs",
        lambda d: (d,),
        lambda p, s: len(p) == len(s) and sum(a != b for a, b in zip(p, s, strict=True)) == 1,
    ),
    ("a digit is inserted", lambda d: (d - 1,) if d else (), lambda p, s: _drops_digit(p, s)),
)


def typo(printed: str, value: float | Fraction) -> str | None:
    """Name the one-edit slip (sign, decimal point, swapped/dropped/changed/inserted digit) that
    turns the computed digits, rounded or truncated, into the printed string; None if none."""
    v, d = exact_decimal(value), decimals(printed)
    if not v.is_finite() or reproduces(printed, value):
        return None
    for what, places, fits in _TYPOS:
        for k in places(d):
            for how, mode in (("rounded", ROUND_HALF_UP), ("truncated", ROUND_DOWN)):
                s = f"{_at(v, k, mode):f}"
                if fits(printed, s):
                    if what == "the decimal point is missing" and s.lstrip("-").startswith("0."):
                        what = "'0.' is missing"
                    return f"{what}: computed {s} ({how} to {k} decimals)"
    return None


# -- the document's own arithmetic -----------------------------------------------------------
_BINOPS: dict[type[ast.operator], tuple[str, Callable[[Fraction, Fraction], Fraction]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
}
_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.USub, ast.UAdd, ast.Pow)


def parse_expression(text: str, field: str) -> ast.Expression:
    """Parse arithmetic over numbers only: + - * / ( ) and ``**`` with an exponent 0..9."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise SpecError(f"{field}: not arithmetic: {text!r}") from None
    for node in ast.walk(tree):
        ok = isinstance(node, _NODES) or type(node) in _BINOPS
        if isinstance(node, ast.Constant):
            ok = type(node.value) in (int, float)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            e = node.right
            ok = isinstance(e, ast.Constant) and type(e.value) is int and 0 <= e.value <= 9
        if not ok:
            raise SpecError(
                f"{field}: {type(node).__name__} is not allowed in {text!r}; "
                "only numbers, + - * /, ** with a small integer exponent, and parentheses"
            )
    return tree


def _evaluate(node: ast.AST, text: str) -> Fraction:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, text)
    if isinstance(node, ast.Constant):  # exact decimal value of the digits as written
        return Fraction(Decimal(str(ast.get_source_segment(text, node))))
    if isinstance(node, ast.UnaryOp):
        inner = _evaluate(node.operand, text)
        return -inner if isinstance(node.op, ast.USub) else inner
    assert isinstance(node, ast.BinOp)  # parse_expression admits nothing else
    left, right = _evaluate(node.left, text), _evaluate(node.right, text)
    if isinstance(node.op, ast.Pow):
        return left ** int(right)
    return _BINOPS[type(node.op)][1](left, right)


def evaluate_expression(text: str, field: str = "expression") -> Fraction:
    """Exact value of a document's arithmetic, e.g. ``"2 * 0.162 + 3 * 0.218"`` -> 489/500.

    Parsed with :mod:`ast` and a node whitelist (never ``eval``); names, calls, attributes and
    anything but numbers, + - * / ** and parentheses raise :class:`SpecError`."""
    return _evaluate(parse_expression(text, field), text.strip())


def operator_swaps(text: str) -> Iterator[tuple[str, str, str, Fraction]]:
    """(printed op, other op, expression with it, exact value): every op of one kind swapped
    at once, then each single op."""
    text = text.strip()
    tree = parse_expression(text, "expression")
    sites = [n for n in ast.walk(tree) if isinstance(n, ast.BinOp) and type(n.op) in _BINOPS]
    kinds = list(dict.fromkeys(type(n.op) for n in sites))
    groups = [[i for i, n in enumerate(sites) if type(n.op) is k] for k in kinds]
    groups += [[i] for i in range(len(sites))] if len(sites) > 1 else []
    for group in groups:
        for new in _BINOPS:
            old = type(sites[group[0]].op)
            if new is old:
                continue
            variant = copy.deepcopy(tree)
            variant_sites = [
                n for n in ast.walk(variant) if isinstance(n, ast.BinOp) and type(n.op) in _BINOPS
            ]
            for i in group:
                variant_sites[i].op = new()
            try:
                value = _evaluate(variant, text)
            except ZeroDivisionError:
                continue
            yield _BINOPS[old][0], _BINOPS[new][0], ast.unparse(variant), value
