"""jointly_possible: whether one choice of pieces at the kinks gives hand's values together."""

from __future__ import annotations

import numpy as np

from gradcheck.checking.joint import joint_check, jointly_possible
from gradcheck.checking.statuses import STATUSES
from gradcheck.checking.verdict import GroupCheck
from gradcheck.oracles import KinkHull


def _hull(rng: np.random.Generator, n: int, groups: int) -> KinkHull:
    base = rng.integers(-16, 16, n) / 8
    changes = tuple(
        rng.integers(-16, 16, (k, n)) / 8 * (rng.random((k, n)) < 0.6)
        for k in (int(rng.integers(1, 4)) for _ in range(groups))
    )
    return KinkHull(tuple((0, "W", i) for i in range(n)), base, changes)


def test_every_vertex_and_inner_point_of_the_hull_is_possible_within_a_tiny_slack() -> None:
    """A backprop's one fixed choice lands on a vertex (the boundary): with slacks of 1e-8
    against changes of order 1, HiGHS with presolve once called 28 of 2,000 of them
    infeasible."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(2, 10))
        hull = _hull(rng, n, int(rng.integers(1, 4)))
        slack = 1e-8 * (1 + rng.random(n))
        vertex, inner = hull.base.copy(), hull.base.copy()
        for change in hull.changes:
            pick = int(rng.integers(0, len(change) + 1))
            vertex += change[pick - 1] if pick else 0.0
            inner += rng.dirichlet(np.ones(len(change) + 1))[1:] @ change
        for hand in (vertex, inner):
            assert jointly_possible(hand + slack * rng.uniform(-0.5, 0.5, n), slack, hull)


def test_values_each_in_their_bracket_but_not_together_are_impossible() -> None:
    """Four tied inputs' partials (1, 2, 0), (5, 0, 0), (0, 2, 2), (1, 1, 4): each entry's
    bracket holds 0, but every split of the gradient sums the entries to 3 or more."""
    pieces = np.array([[1.0, 2.0, 0.0], [5.0, 0.0, 0.0], [0.0, 2.0, 2.0], [1.0, 1.0, 4.0]])
    hull = KinkHull(((0, "W", 0), (0, "W", 1), (0, "W", 2)), pieces[0], (pieces[1:] - pieces[0],))
    slack = np.full(3, 1e-6)
    assert not jointly_possible(np.zeros(3), slack, hull)
    assert jointly_possible(pieces.mean(axis=0), slack, hull)  # split evenly
    assert jointly_possible(pieces[3], slack, hull)
    assert not jointly_possible(pieces[3] + 3e-6, slack, hull)  # past the slack, and its 1%


def test_only_the_entries_some_choice_moves_are_blamed() -> None:
    """Two tied inputs' partials (1, 0, 2) and (0, 1, 2): hand (0, 0, 2) has each entry in its
    bracket, but no split gives both 0s; the third entry, 2 at either piece, is fixed by no
    choice: it keeps its status and the note counts 2."""
    pieces = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 2.0]])
    hull = KinkHull(((0, "W", 0), (0, "W", 1), (0, "W", 2)), pieces[0], (pieces[1:] - pieces[0],))
    alone = STATUSES.index("non-differentiable here")
    columns = {"hand": np.array([0.0, 0.0, 2.0]), "tol_bracket": np.full(3, 1e-9)}
    check = GroupCheck(0, "W", "entry", (3,), np.arange(3), columns, np.full(3, alone))
    (judged,), note = joint_check([check], hull)
    assert [STATUSES[k] for k in judged.status] == [
        "backprop-bug",
        "backprop-bug",
        "non-differentiable here",
    ]
    assert note.startswith("the 2 entries at a kink each lie in their own bracket")
    columns["hand"] = np.array([0.5, 0.5, 2.0])  # split evenly: possible, nothing changes
    assert joint_check([check], hull) == ([check], "")
