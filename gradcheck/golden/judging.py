"""Golden cases: every number a document prints about a network, recomputed and judged.

Each documented value names a quantity (:mod:`gradcheck.golden.quantities` has the grammar) and
keeps the string exactly as printed. It is recomputed with true gradient descent
(:mod:`gradcheck.hand.backprop`) and judged on the printed digits (:mod:`gradcheck.golden.printed`),
never with a float tolerance:

* ``match``: the computed value rounded (half up) to the printed decimals equals the print;
* ``match-truncated``: equal only when the computed value is cut at the printed decimals;
* ``discrepancy``: anything else (and any print of a given constant, ``param:`` at step 0,
  that is not its exact value). Its ``cause`` comes from the detectors of
  :mod:`gradcheck.golden.causes`, strongest evidence first: float64 rounding, the document's own
  shown arithmetic, a repeat, a knock-on from an earlier error, a hypothesis that explains a
  group (:mod:`gradcheck.golden.hypotheses`), carried-on intermediate prints, a copy, a typo, an
  arithmetic slip, or ``unexplained``.

A print of 15 or more significant digits claims more than float64 holds: it is judged against
the value recomputed in high precision (:mod:`gradcheck.golden.precise`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal

from gradcheck.golden.causes import explain
from gradcheck.golden.expressions import Expression, parse, unparse
from gradcheck.golden.findings import Context, Entry, is_given
from gradcheck.golden.hypotheses import Judged, Search, rule_runs
from gradcheck.golden.precise import PreciseTrajectory, to_fraction, value_of
from gradcheck.golden.printed import (
    HIGH_PRECISION_DIGITS,
    Verdict,
    decimals,
    exact_decimal,
    judge,
    reproduces,
    show_digits,
    significant_digits,
)
from gradcheck.golden.quantities import (
    Quantity,
    Trajectory,
    parse_quantity,
    quantity_value,
    resolve_quantity,
    siblings,
)
from gradcheck.golden.readings import evaluate_expression, exact_value, float64_value
from gradcheck.golden.typos import typo
from gradcheck.golden.update_rules import (
    RULES,
    NotApplicable,
    code_layout_grads,
    output_first_grads,
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

    ``computed`` is true gradient descent in float64; ``exact`` its digits in high precision
    when the print has 15 or more significant digits (and was judged against them);
    ``alternative`` is the value the explaining hypothesis gives (rule, copied quantity or the
    document's arithmetic), ``alternatives`` every update rule's value where it differs from
    ``computed``; ``group`` names the root cause the finding shares with others (a hypothesis,
    or the earlier error a knock-on comes from).
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
    group: str = ""
    exact: str = ""

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["alternatives"] = dict(self.alternatives)
        return d


def _judge_entry(e: Entry) -> Verdict:
    """:func:`judge` against the exact value where the print claims more than float64 holds,
    except that a given constant of the network (``param:`` before any step, such as an initial
    weight) is exact: any other print of it is a discrepancy, since cutting 0.55 to "0.5" is not
    a truncation but a different number."""
    if is_given(e.q):
        return "match" if Decimal(e.printed) == exact_decimal(e.computed) else "discrepancy"
    return judge(e.printed, e.true)


# -- judging every documented value of a spec ------------------------------------------------
def check_spec(spec: Spec) -> list[GoldenRecord]:
    """Every documented value of ``spec`` recomputed by true gradient descent, judged, and for
    each discrepancy the strongest-evidenced finding (:mod:`gradcheck.golden.causes`).

    Always computed in float64, and a print of 15 or more significant digits in high precision
    too: a document's ninth digit is a claim about its arithmetic, not about the dtype the spec
    trains in."""
    parsed = _entries(spec)
    if spec.model.dtype != "float64":
        spec = parse_spec({**spec.model.model_dump(), "dtype": "float64"}, spec.path)
    baseline = Trajectory(spec, hand_grads)
    precise = PreciseTrajectory(spec)
    entries = []
    for i, (doc, q, expression) in enumerate(parsed):
        exact = None
        if significant_digits(doc.printed) >= HIGH_PRECISION_DIGITS and not is_given(q):
            exact = to_fraction(value_of(spec, q, precise.groups(q.step)))
        entries.append(Entry(i, doc, q, expression, quantity_value(q, baseline), exact))
    verdicts = [_judge_entry(e) for e in entries]
    rules = rule_runs(spec)
    judged = [
        Judged(e.index, e.q, e.printed, e.doc.where, e.computed, is_given(e.q))
        for e, v in zip(entries, verdicts, strict=True)
        if v == "discrepancy"
    ]
    ctx = Context(spec, baseline, Search(spec, baseline, judged, rules), entries)
    for e, verdict in zip(entries, verdicts, strict=True):
        d = decimals(e.printed)
        digits = show_digits(e.exact, d) if e.exact is not None else ""
        head = (spec.name, e.q.text, e.doc.where, e.printed, e.computed, verdict)
        if verdict != "discrepancy":
            note = _match_note(spec, e, verdict, baseline)
            ctx.records.append(GoldenRecord(*head, "", d, note=note, exact=digits))
            ctx.errors.append(False)
            continue
        alternatives = tuple(
            (name, v)
            for name, run in rules.items()
            if (v := _try_value(e.q, run)) not in (None, e.computed)
        )
        f = explain(ctx, e)
        record = GoldenRecord(
            *head, f.cause, d, f.finding, f.rule, f.alternative, alternatives, "", f.group, digits
        )
        ctx.records.append(record)
        ctx.errors.append(f.is_error)
    return ctx.records


def verdict_counts(records: Sequence[GoldenRecord]) -> dict[str, dict[str, int]]:
    """Counts per verdict per network, every verdict present."""
    out: dict[str, dict[str, int]] = {}
    for r in records:
        counts = out.setdefault(
            r.network, dict.fromkeys(("match", "match-truncated", "discrepancy"), 0)
        )
        counts[r.verdict] += 1
    return out


def _entries(spec: Spec) -> list[tuple[Documented, Quantity, Expression | None]]:
    problems: list[str] = []
    entries: list[tuple[Documented, Quantity, Expression | None]] = []
    for i, doc in enumerate(spec.documented):
        try:
            q = resolve_quantity(spec, doc.quantity, f"documented[{i}].quantity")
            expression = None
            if doc.expression is not None:
                field = f"documented[{i}].expression"
                expression = parse(doc.expression, field)
                exact_value(expression, field=field)  # a value that does not exist: say so now
            entries.append((doc, q, expression))
        except SpecError as exc:  # collect every bad entry, then report them in one line
            problems.append(str(exc))
    if problems:
        raise SpecError(f"{spec.path}: " + "; ".join(problems))
    return entries


def _try_value(q: Quantity, run: Trajectory) -> float | None:
    try:
        return quantity_value(q, run)
    except (NotApplicable, SpecError):  # a rule that needs a learning rate the spec lacks
        return None


def _match_note(spec: Spec, e: Entry, verdict: Verdict, run: Trajectory) -> str:
    """What a match leaves unsaid: the document's own arithmetic does not give its print (or
    gives it only in float64), or a truncated match is exactly another quantity's value."""
    notes = []
    if e.expression is not None:
        value, d = exact_value(e.expression), decimals(e.printed)
        if not reproduces(e.printed, value):
            shown = f"the printed arithmetic {unparse(e.expression)} gives {show_digits(value, d)}"
            f64 = float64_value(e.expression)
            if f64 is not None and reproduces(e.printed, f64):
                notes.append(f"{shown}; in float64, as code computes it, {f64!r}: the print")
            else:
                notes.append(f"{shown}; the print follows from unrounded values")
    if verdict == "match-truncated":
        for sibling in siblings(spec, e.q):
            if exact_decimal(quantity_value(sibling, run)) == Decimal(e.printed):
                notes.append(f"the print is exactly the value of {sibling.text}")
    return "; ".join(notes)
