"""Why a documented value is a discrepancy: the cause detectors :func:`check_spec
<gradcheck.golden.judging.check_spec>` runs, in order, on every value that matches neither
rounded nor truncated. :func:`_explain` returns the first finding (the document's own
arithmetic, a swapped operator, an alternative update rule, a repeat, a copied quantity, a typo,
an arithmetic slip, or unexplained); :func:`_operand_notes` names the operands of the printed
arithmetic that are earlier prints off the true value, skipping the network's given constants
(:func:`_given_constants`, :func:`_is_given`), which are judged exactly.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from gradcheck.golden.printed import (
    decimals,
    evaluate_expression,
    exact_decimal,
    operator_swaps,
    parse_expression,
    reproduces,
    show_digits,
    typo,
)
from gradcheck.golden.quantities import Quantity, Trajectory, quantity_value, siblings
from gradcheck.golden.update_rules import RULES
from gradcheck.spec import Spec

if TYPE_CHECKING:
    from gradcheck.golden.judging import GoldenRecord


def _is_given(q: Quantity) -> bool:
    return q.kind == "param" and not q.step


def _reproduces_quantity(q: Quantity, printed: str, value: float) -> str | None:
    """:func:`~gradcheck.golden.printed.reproduces`, exact for a given constant (see
    :func:`~gradcheck.golden.judging._judge_quantity`)."""
    if _is_given(q):
        return "exact" if Decimal(printed) == exact_decimal(value) else None
    return reproduces(printed, value)


Finding = tuple[str, str, str, float | None]  # (finding, cause, rule, alternative value)


def _explain(
    spec: Spec,
    printed: str,
    expression: str | None,
    q: Quantity,
    computed: float,
    alternatives: tuple[tuple[str, float], ...],
    baseline: Trajectory,
    earlier: Sequence[GoldenRecord],
) -> Finding:
    """The first detector that explains a discrepancy, in the order of the module docstring."""
    d = decimals(printed)
    if expression is not None:
        expr, exact = expression.strip(), evaluate_expression(expression)
        operands = _operand_notes(spec, expr, earlier)
        if how := reproduces(printed, exact):
            cause = (
                f"follows from the printed intermediate values: {expr} = {show_digits(exact, d)}"
            )
            return "intermediates", f"{cause} ({how}){operands}", "", float(exact)
        for old, new, swapped, swapped_exact in operator_swaps(expr):
            if how := reproduces(printed, swapped_exact):
                cause = (
                    f"the arithmetic shows '{old}' where '{new}' reproduces the printed value: "
                    f"{swapped} = {show_digits(swapped_exact, d)} ({how})"
                )
                return "operator", cause + operands, "", float(swapped_exact)
    hits = [(name, v, how) for name, v in alternatives if (how := reproduces(printed, v))]
    if hits:
        name, v, how = hits[0]
        names = ", ".join(h[0] for h in hits)
        rule = name.split(" with ")[0]
        cause = (
            f"follows from update rule {names} ({RULES[rule][1]}): {show_digits(v, d)} ({how}); "
            f"true gradient descent gives {show_digits(computed, d)}"
        )
        return "rule", cause, names, v
    for r in earlier:
        if r.quantity == q.text and r.documented == printed and r.finding:
            cause = f"repeats {r.where or 'an earlier print'}: {r.cause.split('; ')[0]}"
            return "repeat", cause, r.rule, r.alternative
    for sibling in siblings(spec, q):
        v = quantity_value(sibling, baseline)
        if how := _reproduces_quantity(q, printed, v):
            cause = f"copied from {sibling.text} = {show_digits(v, d)} ({how})"
            return "copied", f"{cause}; {q.text} is {show_digits(computed, d)}", "", v
    if slip := typo(printed, computed):
        return "typo", f"typo: {slip}", "", None
    if expression is not None:
        exact = evaluate_expression(expression)
        cause = (
            f"arithmetic slip: {expression.strip()} = {show_digits(exact, d)}, printed {printed}"
        )
        return "slip", cause, "", float(exact)
    return "unexplained", f"unexplained: computed {show_digits(computed, d)}", "", None


def _operand_notes(spec: Spec, expression: str, earlier: Sequence[GoldenRecord]) -> str:
    """Name the operands that are earlier prints judged off the true value (given constants of
    the network, such as inputs and initial weights, are not intermediates)."""
    given = {Decimal(repr(float(v))) for v in _given_constants(spec)}
    notes: list[str] = []
    tree = parse_expression(expression, "expression")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant):
            continue
        digits = str(ast.get_source_segment(expression, node))
        if Decimal(digits) in given:
            continue
        for r in earlier:
            if r.verdict != "match" and r.documented.lstrip("-") == digits:
                label = "truncated" if r.verdict == "match-truncated" else r.finding
                note = f"{digits} = {r.quantity} ({label})"
                if note not in notes:
                    notes.append(note)
                break
    return f"; operands off the true values: {', '.join(notes)}" if notes else ""


def _given_constants(spec: Spec) -> Iterator[float]:
    for group in (*spec.initial_params(), *spec.frozen_params()):
        for array in group.values():
            yield from (float(v) for v in np.ravel(array))
    yield from (float(v) for v in np.ravel(spec.inputs()))
    yield from (float(v) for v in np.ravel(spec.targets()))
    yield spec.learning_rate
