"""Hypotheses about how a document got its numbers: each a whole network or procedure that
differs from the spec's in one respect, searched over its candidates and tried on every
discrepancy, so that one explains a group at once.

The candidates: the alternative update rules (:mod:`gradcheck.golden.update_rules`), with frozen
biases trained too; every other declared loss (looked up in :data:`gradcheck.layers.LOSSES`, so a
newly declared loss is a candidate at once); the loss times a constant (2 or 1/2: a sum of
squares with or without its 1/2; the batch size; the output width); the output layer's
activation derivative left out or applied twice (a wrong formula); a square weight matrix
transposed; and learning rates read off the document's own updates.

A hypothesis counts for a print only as evidence: its value must move the print away from the
true value by at least one printed digit; one that explains a single print needs that print to
have :data:`ALONE_DIGITS` significant digits; and a learning rate fitted to the document must
reproduce more printed digits of the departure than it has itself, by
:data:`FITTED_EVIDENCE_DIGITS` (any wrong update is "the step of *some* learning rate").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from gradcheck.golden.precise import Formula, as_groups, value_of
from gradcheck.golden.printed import decimals, exact_decimal, reproduces, significant_digits
from gradcheck.golden.quantities import LOSS_SCALED_KINDS, Quantity, Trajectory, quantity_value
from gradcheck.golden.update_rules import RULES, NotApplicable, with_trained_biases
from gradcheck.hand import hand_grads
from gradcheck.layers import GRADIENT_DESCENT, LOSSES
from gradcheck.spec import Spec, SpecError, parse_spec

__all__ = [
    "ALONE_DIGITS",
    "FITTED_EVIDENCE_DIGITS",
    "Hit",
    "Hypothesis",
    "Judged",
    "Search",
    "rule_runs",
]

FITTED_EVIDENCE_DIGITS = 2.0
ALONE_DIGITS = 3
"""A hypothesis that explains a single print needs that print to have this many significant
digits (there are a dozen candidates: one of them meets a two-digit print by chance)."""
_CHEAP_STEPS = 1  # hypotheses are tried past this step only if they explain an earlier print


@dataclass(frozen=True)
class Judged:
    """One documented value as judged against the spec: what the search needs of it."""

    index: int
    q: Quantity
    printed: str
    where: str
    computed: float
    given: bool  # a constant of the network (param at step 0): reproduced only exactly


@dataclass(frozen=True)
class Hypothesis:
    """``says``: what it supposes, for people; ``value(q)``: q under it (None: not defined);
    ``fitted_digits``: significant digits chosen to fit the document (0: a fixed candidate)."""

    name: str
    family: str
    says: str
    value: Callable[[Quantity], float | None]
    fitted_digits: int = 0


@dataclass(frozen=True)
class Hit:
    hypothesis: Hypothesis
    value: float
    members: tuple[int, ...]  # the entries it explains, in document order
    how: str


def departure_digits(printed: str, computed: float) -> float:
    """How many printed digits the print's departure from the true value has: 0.170 for
    0.162576 departs by 0.0074, printed to 3 decimals: 0.87 digits."""
    gap = abs(float(Decimal(printed)) - computed)
    return decimals(printed) + math.log10(gap) if gap > 0 else 0.0


def rule_runs(spec: Spec) -> dict[str, Trajectory]:
    """Every alternative update rule's trajectory, also with the frozen biases trained."""
    variants = {"": spec}
    trained = with_trained_biases(spec)
    if trained is not None:
        variants[" with trained biases"] = trained
    return {
        name + suffix: Trajectory(variant, fn)
        for suffix, variant in variants.items()
        for name, (fn, _) in RULES.items()
        if (name, suffix) != (GRADIENT_DESCENT, "")
    }


def _on(run: Trajectory) -> Callable[[Quantity], float | None]:
    def value(q: Quantity) -> float | None:
        try:
            return quantity_value(q, run)
        except (NotApplicable, SpecError):  # a rule that needs a learning rate the spec lacks
            return None

    return value


def _variant(spec: Spec, **changes: Any) -> Spec | None:
    data = spec.model.model_dump()
    data.update(changes)
    try:
        return parse_spec(data, spec.path)
    except SpecError:  # e.g. a loss that needs another output activation
        return None


def _with_lr(spec: Spec, lr: float) -> Spec | None:
    return _variant(spec, optimizer={**spec.model.optimizer.model_dump(), "learning_rate": lr})


def _round_sig(x: float, digits: int) -> float:
    return float(f"{x:.{digits - 1}e}")


class Search:
    """The candidates for one spec, tried lazily on the discrepancies (``judged``)."""

    def __init__(
        self,
        spec: Spec,
        baseline: Trajectory,
        judged: Sequence[Judged],
        rules: dict[str, Trajectory],
    ) -> None:
        self.spec, self.baseline, self.judged = spec, baseline, list(judged)
        self.rules = rules
        self.candidates = self._candidates()
        self._hits: dict[int, list[Hit]] | None = None

    # -- candidates --------------------------------------------------------------------------
    def _candidates(self) -> list[Hypothesis]:
        spec = self.spec
        found = [
            Hypothesis(name, "rule", RULES[name.split(" with ")[0]][1], _on(run))
            for name, run in self.rules.items()
        ]
        for loss, info in LOSSES.items():
            variant = _variant(spec, loss=loss) if loss != spec.loss else None
            if variant is not None:
                says = f"the loss {loss} ({info.formula}) instead of {spec.loss}"
                found.append(
                    Hypothesis(f"loss {loss}", "loss", says, _on(Trajectory(variant, hand_grads)))
                )
        found += [self._factor(c) for c in self._factors()]
        act = spec.activations[-1]
        for power, how in ((0, "left out of"), (2, "applied twice in")):
            says = f"{act}'(net) {how} the output layer's delta (a wrong formula)"
            name = f"{act}' {how.removesuffix(' of').removesuffix(' in')}"
            found.append(Hypothesis(name, "formula", says, self._formula(power)))
        for i, layer in enumerate(spec.model.layers):
            w = getattr(layer, "weights", None) if layer.kind == "dense" else None
            if w is not None and len(w) == len(w[0]) > 1:
                flipped = [list(r) for r in zip(*w, strict=True)]
                layers = [ly.model_dump() for ly in spec.model.layers]
                layers[i]["weights"] = flipped
                variant = _variant(spec, layers=layers)
                if variant is not None:
                    says = f"layer {i + 1}'s weights transposed (each weight in the other's place)"
                    found.append(
                        Hypothesis(
                            f"layer {i + 1} transposed",
                            "transposed",
                            says,
                            _on(Trajectory(variant, hand_grads)),
                        )
                    )
        return found + self._learning_rates()

    def _factors(self) -> list[Fraction]:
        n_out, batch = self.spec.sizes[-1], len(self.spec.model.samples)
        raw = [Fraction(2), Fraction(batch), Fraction(n_out)]
        out = {c for r in raw for c in (r, 1 / r) if c != 1}
        return sorted(out, key=lambda c: (c.numerator + c.denominator, c))

    def _factor(self, c: Fraction) -> Hypothesis:
        spec, scale = self.spec, float(c)
        lr = spec.model.optimizer.learning_rate
        scaled = _with_lr(spec, lr * scale) if lr is not None else None
        run = Trajectory(scaled, hand_grads) if scaled is not None else None

        def value(q: Quantity) -> float | None:
            on = self.baseline if not q.needs_learning_rate else run
            if on is None:
                return None
            v = quantity_value(q, on)
            return v * scale if q.kind in LOSS_SCALED_KINDS else v

        says = (
            f"the loss {c} times the spec's ({spec.loss}: {LOSSES[spec.loss].formula}), which "
            f"scales it, every derivative of it and every gradient by {c}"
        )
        return Hypothesis(f"loss x {c}", "factor", says, value)

    def _formula(self, power: int) -> Callable[[Quantity], float | None]:
        groups: list[Any] = []

        def value(q: Quantity) -> float | None:
            if q.step > 0:
                return None
            if not groups:
                groups.extend(as_groups(self.spec, self.baseline.params(0)))
            return float(value_of(self.spec, q, groups, formula=Formula(power)))

        return value

    def _learning_rates(self) -> list[Hypothesis]:
        spec, lr = self.spec, self.spec.model.optimizer.learning_rate
        if lr is None:
            return []
        rates: set[float] = set()
        for j in self.judged:
            if j.q.kind != "updated" or j.q.alone:
                continue
            now = quantity_value(Quantity("", "param", (), j.q.param, j.q.step, 0), self.baseline)
            grad = quantity_value(Quantity("", "grad", (), j.q.param, j.q.step, 0), self.baseline)
            if grad:
                implied = (now - float(Decimal(j.printed))) / grad
                if implied > 0:
                    rates |= {_round_sig(implied, k) for k in (1, 2, 3)}
        found = []
        for rate in sorted(rates - {lr}):
            variant = _with_lr(spec, rate)
            if variant is None:
                continue
            run = Trajectory(variant, hand_grads)

            def value(q: Quantity, run: Trajectory = run) -> float | None:
                return quantity_value(q, run) if q.needs_learning_rate else None

            says = f"a learning rate of {rate:g} (the spec's is {lr:g})"
            digits = len(f"{rate:.3e}".split("e")[0].replace(".", "").rstrip("0"))
            found.append(
                Hypothesis(f"learning rate {rate:g}", "learning-rate", says, value, digits)
            )
        return found

    # -- hits --------------------------------------------------------------------------------
    def _reproduces(self, j: Judged, v: float) -> str | None:
        if j.given:
            return "exact" if Decimal(j.printed) == exact_decimal(v) else None
        return reproduces(j.printed, v)

    def _try(self, h: Hypothesis, j: Judged) -> tuple[float, str] | None:
        v = h.value(j.q)
        if v is None or v == j.computed or not math.isfinite(v):
            return None
        how = self._reproduces(j, v)
        return (v, how) if how else None

    def hits(self) -> dict[int, list[Hit]]:
        """Per discrepancy (by entry index), the hypotheses that explain it, with evidence."""
        if self._hits is not None:
            return self._hits
        found: dict[int, list[Hit]] = {j.index: [] for j in self.judged}
        for h in self.candidates:
            cheap = [j for j in self.judged if j.q.step <= _CHEAP_STEPS]
            dear = [j for j in self.judged if j.q.step > _CHEAP_STEPS]
            tried = {j.index: r for j in cheap if (r := self._try(h, j))}
            if self._evidence(h, tried) or h.family == "rule":  # rules: the record lists them
                tried |= {j.index: r for j in dear if (r := self._try(h, j))}
            members = self._evidence(h, tried)
            for i in members:
                found[i].append(Hit(h, tried[i][0], members, tried[i][1]))
        self._hits = found
        return found

    def _evidence(self, h: Hypothesis, tried: dict[int, tuple[float, str]]) -> tuple[int, ...]:
        by_index = {j.index: j for j in self.judged}
        digits = {
            i: (
                float(decimals(by_index[i].printed) + 1)
                if by_index[i].given
                else departure_digits(by_index[i].printed, by_index[i].computed)
            )
            for i in tried
        }
        if h.fitted_digits:
            total = sum(digits.values()) - h.fitted_digits
            return tuple(sorted(tried)) if total >= FITTED_EVIDENCE_DIGITS else ()
        members = tuple(sorted(i for i in tried if digits[i] >= 1.0))
        if len(members) == 1 and significant_digits(by_index[members[0]].printed) < ALONE_DIGITS:
            return ()  # one print of two digits matches some candidate by chance
        return members

    def best(self, index: int) -> list[Hit]:
        """The hits of entry ``index``, the hypothesis explaining the largest group first
        (ties: the candidates' order)."""
        order = {id(h): k for k, h in enumerate(self.candidates)}
        hits = self.hits().get(index, [])
        return sorted(hits, key=lambda h: (-len(h.members), order[id(h.hypothesis)]))
