"""What the cause detectors share: a judged entry, a finding, the context they consult.

:class:`Entry` is one documented value judged against the spec; :class:`Finding` is what a
detector concludes about a discrepancy; :class:`Context` holds the spec, its baseline run, the
hypothesis search and the records built so far, in document order. The detectors are in
:mod:`gradcheck.golden.causes` (the order), :mod:`~gradcheck.golden.arithmetic` (the document's
shown arithmetic) and :mod:`~gradcheck.golden.carried` (earlier prints carried on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from gradcheck.golden.expressions import Expression
from gradcheck.golden.hypotheses import Search
from gradcheck.golden.precise import as_groups
from gradcheck.golden.printed import exact_decimal, reproduces
from gradcheck.golden.quantities import Quantity, Trajectory
from gradcheck.spec import Documented, Spec

if TYPE_CHECKING:
    from gradcheck.golden.judging import GoldenRecord

__all__ = [
    "ERRORS",
    "FLOAT64_ULPS",
    "Context",
    "Detector",
    "Entry",
    "Finding",
    "given_constants",
    "group_of",
    "is_given",
    "reproduces_quantity",
    "root",
]

FLOAT64_ULPS = 8
"""A full-precision print this many float64 ulps from the exact value (or no farther than 4x
gradcheck's own float64 result is) is float64 rounding."""
ERRORS = frozenset({"typo", "slip", "copied", "unexplained", "knock-on", "operator", "formula"})
"""Findings that are mistakes a document carries on (rules and rounding are not)."""


@dataclass(frozen=True)
class Entry:
    """One documented value, judged: ``exact`` is the high-precision value, for a print of
    :data:`~gradcheck.golden.printed.HIGH_PRECISION_DIGITS` or more digits only."""

    index: int
    doc: Documented
    q: Quantity
    expression: Expression | None
    computed: float
    exact: Fraction | None

    @property
    def printed(self) -> str:
        return self.doc.printed

    @property
    def true(self) -> float | Fraction:
        return self.exact if self.exact is not None else self.computed


@dataclass(frozen=True)
class Finding:
    finding: str
    cause: str
    rule: str = ""
    alternative: float | None = None
    group: str = ""
    error: bool | None = None  # a mistake the document carries on; None: as the finding says

    @property
    def is_error(self) -> bool:
        return self.finding in ERRORS if self.error is None else self.error


@dataclass
class Context:
    """What the detectors consult: the spec, its baseline run, the hypothesis search, the
    entries, and the records built so far (``records[i]`` is ``entries[i]``'s)."""

    spec: Spec
    baseline: Trajectory
    search: Search
    entries: list[Entry]
    records: list[GoldenRecord] = field(default_factory=list)
    errors: list[bool] = field(default_factory=list)
    _groups: dict[int, list[Any]] = field(default_factory=dict)

    def groups(self, step: int) -> list[Any]:
        if step not in self._groups:
            self._groups[step] = as_groups(self.spec, self.baseline.params(step))
        return self._groups[step]

    def where(self, i: int) -> str:
        return self.entries[i].doc.where.split(":")[0] or f"documented[{i}]"


def is_given(q: Quantity) -> bool:
    """A constant of the network (a parameter before any step): judged exactly."""
    return q.kind == "param" and not q.step


def reproduces_quantity(q: Quantity, printed: str, value: float | Fraction) -> str | None:
    """:func:`~gradcheck.golden.printed.reproduces`, exact for a given constant."""
    if is_given(q):
        return "exact" if Decimal(printed) == exact_decimal(value) else None
    return reproduces(printed, value)


Detector = Callable[[Context, Entry], Finding | None]


def root(ctx: Context, i: int) -> str:
    """An earlier error named by its line, quantity, print and finding."""
    r = ctx.records[i]
    return f"{ctx.where(i)} ({r.quantity} printed {r.documented}, {r.finding})"


def group_of(ctx: Context, i: int | None) -> str:
    """The root cause a finding about earlier record ``i`` shares: its group, or the record."""
    if i is None:
        return ""
    r = ctx.records[i]
    return r.group or f"{r.finding} at {ctx.where(i)}"


def given_constants(spec: Spec) -> Iterator[float]:
    """Every number the spec gives: weights, biases, inputs, targets, the learning rate."""
    for group in (*spec.initial_params(), *spec.frozen_params()):
        for array in group.values():
            yield from (float(v) for v in np.ravel(array))
    yield from (float(v) for v in np.ravel(spec.inputs()))
    yield from (float(v) for v in np.ravel(spec.targets()))
    if spec.model.optimizer.learning_rate is not None:
        yield spec.model.optimizer.learning_rate
