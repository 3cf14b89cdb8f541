"""Why a documented value is a discrepancy: the detectors, strongest evidence first.

:func:`explain` runs them in the order of :data:`DETECTORS` and returns the first finding:

1. ``float64``: a print of 15 or more significant digits a few float64 ulps from the exact value;
2. the document's own shown arithmetic reproduces the print: ``float64`` (only in float64, as code
   computes it), ``formula`` (its operands are right and the true value differs: a wrong
   formula), ``knock-on`` (an operand is an earlier error, and correcting it changes the print)
   or ``intermediates`` (rounded operands carried on); ``operator`` when only a swapped operator
   reproduces it;
3. ``repeat``: the same print of the same quantity was explained before (the best-evidenced
   earlier finding is cited);
4. ``knock-on``: carrying an earlier error on through the network reproduces it;
5. a hypothesis that explains a group (:mod:`gradcheck.golden.hypotheses`), the largest group
   first: ``rule``, ``loss``, ``factor``, ``learning-rate``, ``formula``, ``transposed``;
6. ``intermediates``: carrying the document's earlier prints on reproduces it;
7. ``copied``: it is another quantity's value; 8. ``typo``: a one-edit slip that is evidence
   (:mod:`gradcheck.golden.typos`); 9. ``slip``: the shown arithmetic gives something else;
10. ``unexplained``.

Every cause is a sentence that names the numbers it uses.
"""

from __future__ import annotations

from gradcheck.golden.arithmetic import shown_arithmetic
from gradcheck.golden.carried import carried_intermediates, knock_on
from gradcheck.golden.expressions import unparse
from gradcheck.golden.findings import (
    FLOAT64_ULPS,
    Context,
    Detector,
    Entry,
    Finding,
    reproduces_quantity,
)
from gradcheck.golden.hypotheses import Hit
from gradcheck.golden.printed import (
    decimals,
    float64_ulps,
    reproduces,
    show_digits,
)
from gradcheck.golden.quantities import quantity_value, siblings
from gradcheck.golden.readings import exact_value
from gradcheck.golden.typos import typo

__all__ = ["DETECTORS", "FINDING_ORDER", "explain"]


def _float64(ctx: Context, e: Entry) -> Finding | None:
    """A full-precision print within float64's own error of the exact value."""
    if e.exact is None:
        return None
    ulps = float64_ulps(e.printed, e.exact)
    ours = float64_ulps(repr(e.computed), e.exact)
    if ulps > max(FLOAT64_ULPS, 4 * ours):
        return None
    d = decimals(e.printed)
    same = (
        "; gradcheck's float64 result prints the same digits"
        if reproduces(e.printed, e.computed)
        else ""
    )
    cause = (
        f"float64 rounding: printed {e.printed}, exactly {show_digits(e.exact, d)}, "
        f"{ulps:.1f} float64 ulps apart{same}"
    )
    return Finding("float64", cause, alternative=e.computed)


def _repeat(ctx: Context, e: Entry) -> Finding | None:
    """The same print of the same quantity, explained before: cite the best-evidenced one."""
    same = [
        i
        for i, r in enumerate(ctx.records[: e.index])
        if r.quantity == e.q.text and r.documented == e.printed and r.finding
    ]
    if not same:
        return None
    rank = {name: k for k, name in enumerate(FINDING_ORDER)}
    i = min(same, key=lambda k: (rank.get(ctx.records[k].finding, len(rank)), k))
    r = ctx.records[i]
    cause = f"repeats {r.where or 'an earlier print'}: {r.cause.split('; ')[0]}"
    group = r.group or f"{r.finding} at {ctx.where(i)}"
    return Finding("repeat", cause, r.rule, r.alternative, group, error=ctx.errors[i])


def _hypothesis(ctx: Context, e: Entry) -> Finding | None:
    """The hypothesis that explains the largest group this print is in; said in full once, at
    the first print it explains, and named at the others."""
    hits = ctx.search.best(e.index)
    if not hits:
        return None
    hit = hits[0]
    h, d = hit.hypothesis, decimals(e.printed)
    before = [i for i, r in enumerate(ctx.records) if (r.group, r.finding) == (h.name, h.family)]
    value = f"{show_digits(hit.value, d)} ({hit.how})"
    rule, name, says = h.name, h.name, h.says
    if h.family == "rule":
        order = [c.name for c in ctx.search.candidates]
        rules = sorted(
            (x.hypothesis.name for x in hits if x.hypothesis.family == "rule"), key=order.index
        )
        also = [r for r in rules if r != h.name]
        rule, name = ", ".join(rules), f"update rule {h.name}"
        says = f"{name} ({h.says})" + (f", as does {', '.join(also)}" if also else "")
    spec_gives = "true gradient descent gives" if h.family == "rule" else "the spec gives"
    if before:
        head = f"follows from {name}, as at {ctx.where(before[0])}: {value}"
        note = ""
    else:
        head = f"follows from {says}: {value}"
        note = _group_note(ctx, hit)
    cause = f"{head}; {spec_gives} {show_digits(e.computed, d)}{note}"
    return Finding(h.family, cause, rule, hit.value, group=h.name, error=False)  # systematic


def _group_note(ctx: Context, hit: Hit) -> str:
    if len(hit.members) < 2:
        return ""
    wheres = ", ".join(dict.fromkeys(ctx.where(i) for i in hit.members))
    return f"; it explains {len(hit.members)} prints, at {wheres}"


def _copied(ctx: Context, e: Entry) -> Finding | None:
    d = decimals(e.printed)
    for sibling in siblings(ctx.spec, e.q):
        v = quantity_value(sibling, ctx.baseline)
        if how := reproduces_quantity(e.q, e.printed, v):
            cause = (
                f"copied from {sibling.text} = {show_digits(v, d)} ({how}); "
                f"{e.q.text} is {show_digits(e.computed, d)}"
            )
            return Finding("copied", cause, alternative=v)
    return None


def _typo(ctx: Context, e: Entry) -> Finding | None:
    """A one-edit slip from the shown arithmetic's value, else from the true value."""
    if e.expression is not None:
        shown = exact_value(e.expression)
        if slip := typo(e.printed, shown, f"its arithmetic {unparse(e.expression)} gives"):
            return Finding("typo", f"typo: {slip}", alternative=float(shown))
    if slip := typo(e.printed, e.true):
        return Finding("typo", f"typo: {slip}")
    return None


def _slip(ctx: Context, e: Entry) -> Finding | None:
    if e.expression is None:
        return None
    exact = exact_value(e.expression)
    d = decimals(e.printed)
    cause = (
        f"arithmetic slip: {unparse(e.expression)} = {show_digits(exact, d)}, printed {e.printed}"
    )
    return Finding("slip", cause, alternative=float(exact))


def _unexplained(ctx: Context, e: Entry) -> Finding:
    d = decimals(e.printed)
    return Finding(
        "unexplained", f"unexplained: computed {show_digits(e.true, d)}, printed {e.printed}"
    )


DETECTORS: tuple[Detector, ...] = (
    _float64,
    shown_arithmetic,
    _repeat,
    knock_on,
    _hypothesis,
    carried_intermediates,
    _copied,
    _typo,
    _slip,
)
FINDING_ORDER = (
    "float64",
    "formula",
    "knock-on",
    "intermediates",
    "operator",
    "rule",
    "loss",
    "factor",
    "learning-rate",
    "transposed",
    "copied",
    "typo",
    "slip",
    "unexplained",
)
"""Findings from the most to the least evidence, for citing the best of several prints."""


def explain(ctx: Context, e: Entry) -> Finding:
    """The first detector's finding (the module docstring has the order)."""
    for detect in DETECTORS:
        if (found := detect(ctx, e)) is not None:
            return found
    return _unexplained(ctx, e)
