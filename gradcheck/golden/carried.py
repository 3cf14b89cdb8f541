"""Earlier prints carried on: what the document gets for a quantity if it computes it from the
numbers it printed before, through the network (:class:`~gradcheck.golden.precise.Pass` with
those values in place of the computed ones).

``knock-on``: carrying an earlier error on gives the print, and the rounded prints alone do not;
``intermediates``: the rounded prints alone give it. Each names the earlier prints that matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from gradcheck.golden.findings import (
    Context,
    Entry,
    Finding,
    group_of,
    reproduces_quantity,
    root,
)
from gradcheck.golden.hypotheses import ALONE_DIGITS
from gradcheck.golden.precise import (
    Key,
    number,
    override_key,
    to_fraction,
    value_of,
)
from gradcheck.golden.printed import (
    decimals,
    exact_decimal,
    show_digits,
    significant_digits,
)
from gradcheck.spec import SpecError

if TYPE_CHECKING:
    from gradcheck.golden.judging import GoldenRecord

__all__ = ["carried_intermediates", "knock_on"]


def _carried(ctx: Context, e: Entry) -> tuple[dict[Key, Any], set[Key], dict[Key, int]]:
    """Overrides at ``e``'s step from every earlier print (the latest of each), the keys that
    are errors, and the record behind each key."""
    own = override_key(ctx.spec, e.q)
    values: dict[Key, Any] = {}
    source: dict[Key, int] = {}
    for i, r in enumerate(ctx.records[: e.index]):
        at = override_key(ctx.spec, ctx.entries[i].q)
        if at is None or at[0] != e.q.step or (own is not None and at == own):
            continue
        values[at[1]] = number(r.documented)
        source[at[1]] = i
    errors = {k for k, i in source.items() if ctx.errors[i]}
    return values, errors, source


def _value(ctx: Context, e: Entry, overrides: Mapping[Key, Any]) -> Fraction | None:
    try:
        v = value_of(ctx.spec, e.q, ctx.groups(e.q.step), overrides)
    except (ArithmeticError, ValueError, SpecError):
        return None
    return to_fraction(v)


def _mattering(ctx: Context, e: Entry, overrides: dict[Key, Any], keys: set[Key]) -> list[Key]:
    """The keys whose removal breaks the reproduction."""
    out = []
    for k in keys:
        rest = {kk: v for kk, v in overrides.items() if kk != k}
        v = _value(ctx, e, rest)
        if v is None or not reproduces_quantity(e.q, e.printed, v):
            out.append(k)
    return out


def _rounded(r: GoldenRecord) -> bool:
    return Decimal(r.documented) != exact_decimal(r.computed)


def knock_on(ctx: Context, e: Entry) -> Finding | None:
    """Carrying an earlier error on (with the other earlier prints, or the errors alone, or one
    error alone, earliest first) gives the print, and the rounded prints without it do not: name
    the errors that matter. One error alone covers a document that computed on from its own
    unrounded values after a slip, while a later print of the same chain is off again."""
    values, errors, source = _carried(ctx, e)
    if not errors or significant_digits(e.printed) < ALONE_DIGITS:
        return None
    each = (
        [{k: values[k]} for k in sorted(errors, key=lambda k: source[k])] if len(errors) > 1 else []
    )
    for overrides in (values, {k: values[k] for k in errors}, *each):
        v = _value(ctx, e, overrides)
        if v is None or not reproduces_quantity(e.q, e.printed, v):
            continue
        fixed = {k: x for k, x in overrides.items() if k not in errors}
        w = _value(ctx, e, fixed)
        if w is not None and reproduces_quantity(e.q, e.printed, w):
            return None  # the rounded prints alone give it: intermediates, not a knock-on
        keys = _mattering(ctx, e, overrides, errors & set(overrides)) or sorted(
            errors & set(overrides), key=str
        )
        culprits = sorted({source[k] for k in keys})
        began = [i for i in culprits if ctx.records[i].finding not in ("knock-on", "repeat")]
        culprits = began or culprits  # name where the error began, not what carried it
        named = "; ".join(root(ctx, i) for i in culprits)
        d = decimals(e.printed)
        cause = (
            f"knock-on from {named}: carried on, it gives {show_digits(v, d)} "
            f"({reproduces_quantity(e.q, e.printed, v)}); {e.q.text} is {show_digits(e.true, d)}"
        )
        return Finding("knock-on", cause, alternative=float(v), group=group_of(ctx, culprits[0]))
    return None


def carried_intermediates(ctx: Context, e: Entry) -> Finding | None:
    """Carrying the earlier prints that are no errors on gives the print: name those that
    matter (each alone, else every one that is not the exact value)."""
    values, errors, source = _carried(ctx, e)
    fixed = {k: x for k, x in values.items() if k not in errors}
    if not fixed or significant_digits(e.printed) < ALONE_DIGITS:
        return None
    v = _value(ctx, e, fixed)
    if v is None or not (how := reproduces_quantity(e.q, e.printed, v)):
        return None
    keys = _mattering(ctx, e, fixed, set(fixed)) or [
        k
        for k in fixed
        if Decimal(ctx.records[source[k]].documented)
        != exact_decimal(ctx.records[source[k]].computed)
    ]
    d = decimals(e.printed)
    used = ", ".join(
        f"{ctx.records[source[k]].quantity} = {ctx.records[source[k]].documented}"
        for k in sorted(keys, key=lambda k: source[k])
    )
    cause = (
        f"follows from the printed intermediate values: {used}, carried on, give "
        f"{show_digits(v, d)} ({how}); {e.q.text} is {show_digits(e.true, d)}"
    )
    return Finding("intermediates", cause, alternative=float(v))
