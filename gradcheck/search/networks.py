"""The smallest failing network: a candidate's failures among generated networks shrunk by
Hypothesis to a minimal counterexample (what ``gradcheck verify --examples N`` and ``gradcheck
report`` print beside the failing draws).

Hypothesis's ``find`` draws from the same distribution as the sample (the strategy
:func:`~gradcheck.generate.strategies.networks`, with the sample's bounds) until a network fails,
then shrinks it (fewer layers, narrower, a smaller batch, simpler numbers). A shrink is a local
minimum, and a rare failure may not turn up in the search: the smallest failing draw of the
sample (by parameters) stands in then, marked not shrunk.

A network counts as failing for the search only where the failure is the candidate's: it raised
or returned a broken result, or an entry is a :data:`CANDIDATE_FAILING` status. An
``oracle-disagreement`` (hand agrees with finite differences, JAX with neither) says nothing
about the candidate, and a shrink that drifted onto one (a trial's dropout bug shrank to a
batch_norm network with no dropout at all, on an oracle's rounding) would hand the user a
network that is not their bug. The search is derandomized: the same command shrinks to the same
network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample

from gradcheck.checking.candidates import CANDIDATE_FAILURES
from gradcheck.checking.statuses import FAILING
from gradcheck.checking.verdict import NetworkVerdict
from gradcheck.checking.verification import verify
from gradcheck.generate.strategies import Case, networks
from gradcheck.spec import GradientFn

__all__ = ["CANDIDATE_FAILING", "SEARCHED", "Smallest", "smallest_failure"]

SEARCHED = 200  # networks Hypothesis draws looking for a failure before it shrinks one
_TRIED = 20  # the sample's smallest failing draws verified again to find the candidate's
CANDIDATE_FAILING = FAILING - {"oracle-disagreement"}  # the failing statuses a candidate can cause


class Smallest(NamedTuple):
    """The smallest failing network found, its verdict, and whether Hypothesis shrank it."""

    case: Case
    verdict: NetworkVerdict
    shrunk: bool

    def to_dict(self) -> dict[str, Any]:
        """``network`` (one line), ``summary`` (its verdict), ``shrunk``: the JSON fields."""
        return {
            "network": self.case.describe(),
            "summary": self.verdict.summary(),
            "shrunk": self.shrunk,
        }


def smallest_failure(
    candidate: GradientFn,
    failing: Sequence[Case],
    drawn: dict[str, Any],
    examples: int = SEARCHED,
    **options: Any,
) -> Smallest:
    """A minimal network on which ``candidate`` fails (``verify``'s ``options``, a raising
    candidate failing its network), drawn as ``networks(**drawn)`` and shrunk, or the one of
    ``failing`` (the sample's failing draws) with the fewest parameters where that is smaller or
    the search finds none."""

    def fails(case: Case) -> bool:
        verdict = verify(candidate, *case, catch=CANDIDATE_FAILURES, **options)
        return bool(verdict.problem) or any(verdict.counts[s] for s in CANDIDATE_FAILING)

    search = settings(
        max_examples=examples,
        database=None,
        derandomize=True,
        deadline=None,
        phases=(Phase.generate, Phase.shrink),  # no explain phase: a verify per step
        suppress_health_check=list(HealthCheck),
    )
    # the smallest failing draw that is the candidate's failure (of the smallest few, each one
    # verified again), a disagreement of an oracle only where none of them is
    ordered = sorted(failing, key=lambda c: c.spec.n_params)
    smallest = next((c for c in ordered[:_TRIED] if fails(c)), ordered[0] if ordered else None)
    try:
        case, shrunk = find(networks(**drawn), fails, settings=search), True
    except NoSuchExample:
        if smallest is None:
            raise
        case, shrunk = smallest, False
    if smallest is not None and smallest.spec.n_params < case.spec.n_params:
        case, shrunk = smallest, False  # a frozen group drawn in the sample may leave fewer
    verdict = verify(candidate, *case, catch=CANDIDATE_FAILURES, **options)
    return Smallest(case, verdict, shrunk)
