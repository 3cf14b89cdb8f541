"""Printed numbers matched to quantities: the ``[[documented]]`` entries a scan proposes.

A number *matches* a candidate (:mod:`gradcheck.golden.candidates`) when the candidate's value
rounded half up or cut at the printed decimals gives the print (a given constant: only its exact
value), trying true gradient descent before any step first, then later steps, then the
alternative update rules. Matches about the same thing with the same value are one reading;
several readings are told apart by the label (:func:`~gradcheck.golden.candidates.reach`: the
plainest name, and of names as plain the one nearest the number), and
where the label does not, the number is listed as ambiguous, never guessed.

A result or a labelled number that matches nothing is still proposed when its label names a
quantity plainly and either the print is within :data:`NEAR` of it or the document's own
arithmetic on the line gives it (``near``, ``arithmetic``: the judge will call it a
discrepancy, which is the point), and a bare print whose label names a sibling of what it
matches (``∂E/∂w3 = <dE/dw1's value>``) is proposed as the labelled quantity (``copy``). A print
that repeats an earlier proposal's is that quantity again (``repeat``). A given constant is not
proposed, but a wrong one stated by name (``... = w_8 = 0.5``) is, as ``param:`` (``stated``).
An operand is proposed only the first time the document prints that string, and may match
within :data:`CLOSE` when it has six or more significant digits (a slip in a copied operand).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from gradcheck.golden.candidates import KIND_ORDER, Candidate, lone_units, normalise, reach
from gradcheck.golden.expressions import parse
from gradcheck.golden.printed import decimals, exact_decimal, reproduces, significant_digits
from gradcheck.golden.readings import float64_value
from gradcheck.golden.scan import Number
from gradcheck.spec import Spec, SpecError

__all__ = [
    "CLOSE",
    "NEAR",
    "NEAR_NAMED",
    "Listed",
    "Proposal",
    "ScanResult",
    "propose",
]

NEAR = 0.02
"""Relative distance within which a plainly labelled print is proposed as its label's quantity
(:data:`NEAR_NAMED` where the label is a derivative or a subscripted name)."""
NEAR_NAMED = 0.05
CLOSE = 1e-4
"""Relative distance within which an operand of six or more significant digits matches."""
ARITHMETIC = 1e-6
"""Relative distance within which the document's arithmetic on a line gives a quantity."""


@dataclass(frozen=True)
class Proposal:
    """A proposed entry: ``how`` it was matched (``value``, ``near``, ``arithmetic``, ``copy``,
    ``repeat``, ``stated``, ``close``), ``rule`` the update rule that reproduces it, if not true
    gradient descent."""

    number: Number
    quantity: str
    how: str
    rule: str = ""

    def entry(self) -> dict[str, str]:
        n = self.number
        out = {"quantity": self.quantity, "printed": n.printed, "where": f"{n.where}: {n.context}"}
        if n.expression is not None and n.role != "operand" and self.how != "stated":
            out["expression"] = n.expression
        return out


@dataclass(frozen=True)
class Listed:
    """A number not proposed, in one bucket (:data:`gradcheck.golden.scanning.BUCKETS`):
    ``given`` (``candidates`` the constant), ``operand`` (of a proposed expression),
    ``repeat``, ``ambiguous`` (its readings) or ``unmatched`` (the nearest quantities)."""

    number: Number
    status: str
    candidates: tuple[str, ...] = ()


@dataclass
class ScanResult:
    found: list[Number]
    proposals: list[Proposal] = field(default_factory=list)
    listed: list[Listed] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many numbers are ``proposed`` or listed with ``status``."""
        if status == "proposed":
            return len({id(p.number) for p in self.proposals})
        return sum(1 for x in self.listed if x.status == status)


def _tier(c: Candidate) -> int:
    if c.given or (not c.rule and c.step == 0):
        return 0
    return 1 if not c.rule else 2


def _order(c: Candidate) -> tuple[int, int, int]:
    kind = "given" if c.given else c.kind
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return (_tier(c), rank, c.step)


def _alias(a: Candidate, b: Candidate) -> bool:
    """The same thing (subject, step, sample) with the same value."""
    same = (a.subject, a.step, a.sample) == (b.subject, b.step, b.sample)
    return same and abs(a.value - b.value) <= 1e-12 * max(1.0, abs(b.value))


def _classes(found: list[Candidate]) -> list[list[Candidate]]:
    """Readings: candidates about the same thing (subject, step, sample) with the same value."""
    out: list[list[Candidate]] = []
    for c in sorted(found, key=_order):
        for group in out:
            if _alias(group[0], c):
                group.append(c)
                break
        else:
            out.append([c])
    return out


class _Matcher:
    def __init__(self, spec: Spec, cands: list[Candidate]) -> None:
        self.cands = cands
        self.outputs = spec.sizes[-1]
        self.alone = lone_units(spec)

    def rank(self, c: Candidate, label: str) -> tuple[int, int]:
        """``(tier, end)`` of :func:`~gradcheck.golden.candidates.reach`: how plainly ``label``
        names ``c``, then how near the number (the label's end) that name is."""
        return reach(c, label, self.outputs, self.alone)

    def exact(self, printed: str) -> list[Candidate]:
        """Candidates the print reproduces, from the first tier that has any."""
        x, d = float(printed), decimals(printed)
        span = 1.01 * 10.0**-d
        found = [
            c
            for c in self.cands
            if abs(c.value - x) <= span
            and (
                Decimal(printed) == exact_decimal(c.value)
                if c.given
                else reproduces(printed, c.value) is not None
            )
        ]
        for tier in (0, 1, 2):
            at = [c for c in found if _tier(c) == tier]
            if at:
                return at
        return []

    def near(self, value: float, tolerance: float) -> list[Candidate]:
        found = [
            c
            for c in self.cands
            if not c.given and abs(c.value - value) <= tolerance * max(abs(c.value), 1e-12)
        ]
        for tier in (0, 1, 2):
            at = [c for c in found if _tier(c) == tier]
            if at:
                return at
        return []

    def choose(self, found: list[Candidate], labels: Sequence[str]) -> list[Candidate]:
        """The best reading of each class the labels leave, best first."""
        classes = _classes(found)
        for label in labels:
            scores = {c: self.rank(c, normalise(label)) for c in found}
            top = max(scores.values(), default=(0, -1))
            kept = [[c for c in g if scores[c] == top] for g in classes]
            best = top[0]
            weak = best == 1 and not any(g[0].given for g in kept if g)
            if best > 1 or (best == 1 and not (weak and any(g[0].given for g in classes))):
                return [g[0] for g in kept if g]
        given = [g for g in classes if g[0].given]
        return [g[0] for g in given or classes]

    def named(self, labels: Sequence[str], least: int = 2) -> tuple[list[Candidate], int]:
        """Derived candidates a label names plainly (tier ``least`` or more; of names as plain,
        the one nearest the number), best label first, and how plainly."""
        for label in labels:
            text = normalise(label)
            scores = {c: self.rank(c, text) for c in self.cands if not c.given}
            top = max(scores.values(), default=(0, -1))
            if top[0] >= least:
                return [c for c, s in scores.items() if s == top], top[0]
        return [], 0


def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance * max(abs(a), 1e-9)


def _value_of(expression: str | None) -> float | None:
    if expression is None:
        return None
    try:
        return float64_value(parse(expression))  # None where float64 has no value
    except SpecError:  # not the expression language after all: no evidence
        return None


def propose(spec: Spec, found: list[Number], cands: list[Candidate]) -> ScanResult:
    """Proposals, ambiguities and unmatched numbers of a document (module docstring)."""
    m, result = _Matcher(spec, cands), ScanResult(found)
    seen: set[str] = set()
    earlier: dict[str, list[str]] = {}
    params = {normalise(p): p for p in spec.param_names}
    for n in found:
        if n.role == "operand":
            _operand(m, n, seen, result)
            continue
        labels = [n.lhs, n.named] if n.role == "result" else [n.lhs]
        picked = _pick(m, n, labels, earlier, result)
        if picked is not None:
            result.proposals.append(picked)
            earlier.setdefault(n.printed, []).append(picked.quantity)
        seen.add(n.printed.lstrip("-"))
        named = n.named if normalise(n.named) != normalise(n.lhs) else ""
        stated = params.get(normalise(named)) if named else None
        if stated is not None and n.role == "result":
            value = next(c.value for c in cands if c.text == f"param:{stated}")
            if Decimal(n.printed) != exact_decimal(value):
                result.proposals.append(Proposal(n, f"param:{stated}", "stated"))
    return result


def _pick(
    m: _Matcher, n: Number, labels: list[str], earlier: dict[str, list[str]], result: ScanResult
) -> Proposal | None:
    found = m.exact(n.printed)
    shown = _value_of(n.expression)
    if found and shown is not None:  # derived on the line: not a given, and what it computes
        found = [c for c in found if not c.given] or found
        found = [c for c in found if _close(c.value, shown, ARITHMETIC)] or found
    if n.role == "mention" and significant_digits(n.printed) < 3:
        found = [c for c in found if _close(c.value, float(n.printed), 1e-9)]
        if not found:  # a short number in prose that is nothing exactly: nothing to propose
            result.listed.append(Listed(n, "unmatched", _nearest(m, n)))
            return None
    if found:
        readings = m.choose(found, labels)
        if len(readings) > 1:
            result.listed.append(Listed(n, "ambiguous", tuple(c.text for c in readings)))
            return None
        (c,) = readings
        label = normalise(labels[0])
        named = [  # a copy: the label names another quantity more plainly than the matched one
            x
            for x in m.named(labels[:1], least=3)[0]
            if (x.kind, x.step, x.rule) == (c.kind, c.step, c.rule)
            and not _alias(x, c)
            and m.rank(x, label) > m.rank(c, label)
        ]
        if n.expression is None and not c.given and len(named) == 1:
            return Proposal(n, named[0].text, "copy")
        if c.given:
            result.listed.append(Listed(n, "given", (c.text,)))
            return None
        return Proposal(n, c.text, "value", c.rule)
    if n.printed in earlier and len(set(earlier[n.printed])) == 1:
        return Proposal(n, earlier[n.printed][0], "repeat")
    named, plainly = m.named(labels)
    for how, target, tolerance in (
        ("near", float(n.printed), NEAR_NAMED if plainly == 3 else NEAR),
        ("arithmetic", shown, ARITHMETIC),
    ):
        if target is None or not named:
            continue
        close = [c for c in m.near(target, tolerance) if c in named]
        readings = [g[0] for g in _classes(close)]
        if len(readings) == 1:
            return Proposal(n, readings[0].text, how, readings[0].rule)
    result.listed.append(Listed(n, "unmatched", _nearest(m, n)))
    return None


def _nearest(m: _Matcher, n: Number) -> tuple[str, ...]:
    """The three quantities nearest the print, within :data:`NEAR`."""
    x = float(n.printed)
    return tuple(c.text for c in sorted(m.near(x, NEAR), key=lambda c: abs(c.value - x))[:3])


def _operand(m: _Matcher, n: Number, seen: set[str], result: ScanResult) -> None:
    found = m.exact(n.printed)
    if significant_digits(n.printed) < 3:  # too short to say what it is unless it is exact
        found = [c for c in found if _close(c.value, float(n.printed), 1e-9)]
    if not found and significant_digits(n.printed) >= 6:
        found = m.near(float(n.printed), CLOSE)
    readings = [g[0] for g in _classes(found)]
    key = n.printed.lstrip("-")
    negated = [] if found or not n.printed.startswith("-") else m.exact(key)
    given = tuple(c.text for c in found if c.given)
    repeat = key in seen or negated
    seen.add(key)
    if given or repeat:
        result.listed.append(Listed(n, "given" if given else "repeat", given))
        return
    if not readings:
        result.listed.append(Listed(n, "unmatched"))
    elif len(readings) > 1:
        result.listed.append(Listed(n, "ambiguous", tuple(c.text for c in readings)))
    else:
        how = "value" if reproduces(n.printed, readings[0].value) else "close"
        result.proposals.append(Proposal(n, readings[0].text, how, readings[0].rule))
