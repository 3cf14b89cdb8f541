"""The document's own shown arithmetic as evidence: whether it gives the print (exactly, or only
in float64 as code computes it), and if it does, why the print is still wrong.

With its operands at their true values (an operand that is an earlier print stands for that
quantity; a given constant or an integer is exact; any other number is a rounding of something,
worth one unit in its last digit) the arithmetic either gives the true value, and the print
follows from the operands (``intermediates``; ``knock-on`` when correcting an operand that is an
earlier error changes the print), or it does not, and the formula is wrong (``formula``). When
it does not give the print, ``operator`` is the arithmetic with one operator swapped that does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from gradcheck.golden.expressions import Expression, Literal, literals, unparse
from gradcheck.golden.findings import (
    FLOAT64_ULPS,
    Context,
    Entry,
    Finding,
    given_constants,
    group_of,
    root,
)
from gradcheck.golden.printed import (
    HIGH_PRECISION_DIGITS,
    at_places,
    decimals,
    float64_ulps,
    reproduces,
    show_digits,
    significant_digits,
)
from gradcheck.golden.readings import as_written, exact_value, float64_value, operator_swaps

__all__ = ["shown_arithmetic"]


@dataclass(frozen=True)
class _Operand:
    literal: Literal
    true: Fraction
    corrected: Fraction | None  # an earlier error's value had the document not erred
    record: int | None
    unknown: bool  # neither a given constant nor an earlier print: a rounding of something


def _operands(ctx: Context, e: Entry, expr: Expression) -> list[_Operand]:
    given = {Decimal(repr(v)) for v in given_constants(ctx.spec)}
    out = []
    for lit in literals(expr):
        written = as_written(lit)
        integer = "." not in lit.text and "e" not in lit.text.lower()
        if integer or Decimal(lit.text) in given:
            out.append(_Operand(lit, written, None, None, False))
            continue
        i = _record_printing(ctx, e.index, lit.text)
        if i is None:
            out.append(_Operand(lit, written, None, None, True))
            continue
        r = ctx.records[i]
        sign = -1 if r.documented.startswith("-") else 1
        true = Fraction(sign * r.computed)
        corrected = None
        if ctx.errors[i]:
            value = (
                r.alternative if r.finding == "slip" and r.alternative is not None else r.computed
            )
            corrected = Fraction(at_places(sign * value, decimals(r.documented)))
        out.append(_Operand(lit, true, corrected, i, False))
    return out


def _record_printing(ctx: Context, before: int, digits: str) -> int | None:
    """The earlier record printed as ``digits`` (sign aside): the first one judged off the true
    value, else the latest."""
    same = [i for i, r in enumerate(ctx.records[:before]) if r.documented.lstrip("-") == digits]
    off = [i for i in same if ctx.records[i].verdict != "match"]
    return off[0] if off else (same[-1] if same else None)


def _with(expr: Expression, values: Mapping[int, Fraction]) -> Fraction:
    return exact_value(expr, lambda lit: values.get(lit.position, as_written(lit)))


def shown_arithmetic(ctx: Context, e: Entry) -> Finding | None:
    """What the shown arithmetic says about the print (the module docstring); None when the
    entry shows none, or it gives neither the print nor with a swapped operator."""
    expr = e.expression
    if expr is None:
        return None
    d, printed = decimals(e.printed), e.printed
    exact, f64 = exact_value(expr), float64_value(expr)
    shown = unparse(expr)
    how = reproduces(printed, exact)
    if how is None:
        full = significant_digits(printed) >= HIGH_PRECISION_DIGITS  # else float64 is no matter
        in_float64 = f64 is not None and reproduces(printed, f64) is not None
        if full and (in_float64 or float64_ulps(printed, exact) <= FLOAT64_ULPS):
            cause = (
                f"follows from the document's float64 arithmetic: {shown} is {f64!r} in "
                f"float64, exactly {show_digits(exact, d)}"
            )
            return Finding("float64", cause, alternative=f64)
        swapped = _operator(e, expr)
        if swapped is None:
            return None
        notes = _operand_notes(ctx, _operands(ctx, e, expr))
        return Finding("operator", swapped.cause + notes, alternative=swapped.alternative)
    operands = _operands(ctx, e, expr)
    notes = _operand_notes(ctx, operands)
    head = f"{shown} = {show_digits(exact, d)} ({how})"
    at_true = _with(expr, {o.literal.position: o.true for o in operands})
    band = Fraction(0)
    for o in operands:
        if o.unknown:
            unit = Fraction(1, 10 ** decimals(o.literal.text))
            band += abs(_with(expr, {o.literal.position: o.true + unit}) - exact)
    slack = band + Fraction(abs(float(e.true))) * Fraction(1, 10**9) + Fraction(1, 10**15)
    if abs(at_true - Fraction(e.true)) > slack:
        cause = (
            f"wrong formula: the shown arithmetic {head} gives the print, but with its operands "
            f"at their true values it gives {show_digits(at_true, d)}, not "
            f"{e.q.text} = {show_digits(e.true, d)}{notes}"
        )
        return Finding("formula", cause, alternative=float(exact))
    culprits = _culprits(expr, operands, printed)
    if culprits:
        fixed = ", ".join(  # an operand written twice is named once
            dict.fromkeys(
                f"{o.literal.text} -> {show_digits(o.corrected or 0, decimals(o.literal.text) - 3)}"
                for o in culprits
            )
        )
        roots = "; ".join(
            dict.fromkeys(root(ctx, o.record) for o in culprits if o.record is not None)
        )
        corrected = _with(
            expr, {o.literal.position: o.corrected for o in culprits if o.corrected is not None}
        )
        cause = (
            f"knock-on from {roots}: {head}; corrected ({fixed}) it gives "
            f"{show_digits(corrected, d)}{notes}"
        )
        first = culprits[0].record
        return Finding("knock-on", cause, alternative=float(exact), group=group_of(ctx, first))
    cause = f"follows from the printed intermediate values: {head}{notes}"
    return Finding("intermediates", cause, alternative=float(exact))


def _culprits(expr: Expression, operands: list[_Operand], printed: str) -> list[_Operand]:
    """The earlier errors among the operands whose correction changes the print: each alone,
    else all of them together."""
    fixes = {o.literal.position: o.corrected for o in operands if o.corrected is not None}
    errors = [o for o in operands if o.literal.position in fixes]
    each = [
        o
        for o in errors
        if not reproduces(printed, _with(expr, {o.literal.position: fixes[o.literal.position]}))
    ]
    if each or not errors:
        return each
    return errors if not reproduces(printed, _with(expr, fixes)) else []


def _operator(e: Entry, expr: Expression) -> Finding | None:
    d = decimals(e.printed)
    for old, new, swapped, value in operator_swaps(expr):
        if how := reproduces(e.printed, value):
            cause = (
                f"the arithmetic shows '{old}' where '{new}' reproduces the printed value: "
                f"{swapped} = {show_digits(value, d)} ({how})"
            )
            return Finding("operator", cause, alternative=float(value))
    return None


def _operand_notes(ctx: Context, operands: list[_Operand]) -> str:
    """The operands that are earlier prints judged off the true value."""
    notes: list[str] = []
    for o in operands:
        if o.record is None or ctx.records[o.record].verdict == "match":
            continue
        r = ctx.records[o.record]
        label = "truncated" if r.verdict == "match-truncated" else r.finding
        note = f"{o.literal.text} = {r.quantity} ({label})"
        if note not in notes:
            notes.append(note)
    return f"; operands off the true values: {', '.join(notes)}" if notes else ""
