"""Golden cases: every number a document prints about a network, recomputed and judged.

Each documented value names a quantity (:mod:`gradcheck.golden.quantities` has the grammar) and
keeps the string exactly as printed. It is recomputed with true gradient descent
(:mod:`gradcheck.hand.backprop`) and judged on the printed digits (:mod:`gradcheck.golden.printed`),
never with a float tolerance:

* ``match``: the computed value rounded (half up) to the printed decimals equals the print;
* ``match-truncated``: equal only when the computed value is cut at the printed decimals;
* ``discrepancy``: anything else (and any print of a given constant, ``param:`` at step 0,
  that is not its exact value). Its ``cause`` comes from the first detector that explains it:
  the document's own arithmetic reproduces it (``intermediates``, or ``operator`` when only a
  swapped operator does); an alternative update rule reproduces it (``rule``); it repeats an
  earlier print already explained (``repeat``); it is the value of another quantity of the same
  kind (``copied``); it is a one-edit variant of the computed digits (``typo``); the document's
  own arithmetic does not give it (``slip``); otherwise ``unexplained``. The detectors are in
  :mod:`gradcheck.golden.causes`.

The alternative update rules the detectors try are hypotheses about how a document got its
numbers (:mod:`gradcheck.golden.update_rules`), not product code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal

from gradcheck.golden.causes import _explain, _is_given
from gradcheck.golden.printed import (
    Verdict,
    decimals,
    evaluate_expression,
    exact_decimal,
    judge,
    parse_expression,
    reproduces,
    show_digits,
    typo,
)
from gradcheck.golden.quantities import (
    Quantity,
    Trajectory,
    parse_quantity,
    quantity_value,
    resolve_quantity,
    siblings,
)
from gradcheck.golden.update_rules import (
    RULES,
    NotApplicable,
    code_layout_grads,
    output_first_grads,
    with_trained_biases,
)
from gradcheck.hand import hand_grads
from gradcheck.spec import Documented, Spec, SpecError, parse_spec

__all__ = [
    "RULES",
    "GoldenRecord",
    "Quantity",
    "Verdict",
    "check_spec",
    "code_layout_grads",
    "evaluate_expression",
    "judge",
    "output_first_grads",
    "parse_quantity",
    "typo",
    "verdict_counts",
]


@dataclass(frozen=True)
class GoldenRecord:
    """One documented value, recomputed and judged; ``to_dict()`` is what reports render.

    ``computed`` is true gradient descent; ``alternative`` is the value the explaining hypothesis
    gives (rule, copied quantity or the document's arithmetic), ``alternatives`` every update
    rule's value where it differs from ``computed``.
    """

    network: str
    quantity: str
    where: str
    documented: str
    computed: float
    verdict: Verdict
    cause: str
    digits: int
    finding: str = ""
    rule: str = ""
    alternative: float | None = None
    alternatives: tuple[tuple[str, float], ...] = ()
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["alternatives"] = dict(self.alternatives)
        return d


def _alternative_runs(spec: Spec) -> dict[str, Trajectory]:
    variants = {"": spec}
    trained = with_trained_biases(spec)
    if trained is not None:
        variants[" with trained biases"] = trained
    return {
        name + suffix: Trajectory(variant, fn)
        for suffix, variant in variants.items()
        for name, (fn, _) in RULES.items()
        if (name, suffix) != ("gradient-descent", "")
    }


def _judge_quantity(q: Quantity, printed: str, value: float) -> Verdict:
    """:func:`judge`, except that a given constant of the network (``param:`` before any step,
    such as an initial weight) is exact: any other print of it is a discrepancy, since cutting
    0.55 to "0.5" is not a truncation but a different number."""
    if _is_given(q):
        return "match" if Decimal(printed) == exact_decimal(value) else "discrepancy"
    return judge(printed, value)


# -- judging every documented value of a spec ------------------------------------------------
def check_spec(spec: Spec) -> list[GoldenRecord]:
    """Every documented value of ``spec`` recomputed by true gradient descent, judged, and for
    each discrepancy the first detector's finding (see the module docstring).

    Always computed in float64: a document's ninth digit is a claim about its arithmetic, not
    about the dtype the spec trains in."""
    entries = _entries(spec)
    if spec.model.dtype != "float64":
        spec = parse_spec({**spec.model.model_dump(), "dtype": "float64"}, spec.path)
    baseline = Trajectory(spec, hand_grads)
    runs = _alternative_runs(spec)
    records: list[GoldenRecord] = []
    for doc, q in entries:
        computed = quantity_value(q, baseline)
        verdict, d = _judge_quantity(q, doc.printed, computed), decimals(doc.printed)
        head = (spec.name, q.text, doc.where, doc.printed, computed, verdict)
        if verdict != "discrepancy":
            note = _match_note(spec, doc, q, verdict, baseline)
            records.append(GoldenRecord(*head, "", d, note=note))
            continue
        alternatives = tuple(
            (name, v)
            for name, run in runs.items()
            if (v := _try_value(q, run)) not in (None, computed)
        )
        finding, cause, rule, alternative = _explain(
            spec, doc.printed, doc.expression, q, computed, alternatives, baseline, records
        )
        records.append(GoldenRecord(*head, cause, d, finding, rule, alternative, alternatives))
    return records


def verdict_counts(records: Sequence[GoldenRecord]) -> dict[str, dict[str, int]]:
    """Counts per verdict per network, every verdict present."""
    out: dict[str, dict[str, int]] = {}
    for r in records:
        counts = out.setdefault(
            r.network, dict.fromkeys(("match", "match-truncated", "discrepancy"), 0)
        )
        counts[r.verdict] += 1
    return out


def _entries(spec: Spec) -> list[tuple[Documented, Quantity]]:
    problems: list[str] = []
    entries: list[tuple[Documented, Quantity]] = []
    for i, doc in enumerate(spec.documented):
        try:
            entries.append((doc, resolve_quantity(spec, doc.quantity, f"documented[{i}].quantity")))
            if doc.expression is not None:
                parse_expression(doc.expression, f"documented[{i}].expression")
        except SpecError as exc:  # collect every bad entry, then report them in one line
            problems.append(str(exc))
    if problems:
        raise SpecError(f"{spec.path}: " + "; ".join(problems))
    return entries


def _try_value(q: Quantity, run: Trajectory) -> float | None:
    try:
        return quantity_value(q, run)
    except NotApplicable:
        return None


def _match_note(spec: Spec, doc: Documented, q: Quantity, verdict: Verdict, run: Trajectory) -> str:
    """What a match leaves unsaid: the document's own arithmetic does not give its print, or a
    truncated match is exactly another quantity's value (a likely copy)."""
    notes = []
    if doc.expression is not None:
        value = evaluate_expression(doc.expression)
        if not reproduces(doc.printed, value):
            notes.append(
                f"the printed arithmetic {doc.expression.strip()} gives "
                f"{show_digits(value, decimals(doc.printed))}; "
                "the print follows from unrounded values"
            )
    if verdict == "match-truncated":
        for sibling in siblings(spec, q):
            if exact_decimal(quantity_value(sibling, run)) == Decimal(doc.printed):
                notes.append(f"the print is exactly the value of {sibling.text}")
    return "; ".join(notes)
