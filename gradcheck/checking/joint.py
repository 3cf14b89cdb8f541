"""Entries at a kink judged together, not only one by one.

Each entry at a kink passes alone when hand lies in its own bracket (``lower - k <= h <= upper
+ k``). A backprop picks one value in each unit's subdifferential, and that one choice fixes
every entry the unit reaches, so the values are valid only together: ``h = base + sum_g c_g``
with each ``c_g`` a point of the convex hull of 0 and group ``g``'s changes (a sample's
combinations of pieces, :class:`~gradcheck.oracles.KinkHull`), every entry within its slack
``k``. Whether such a point exists is a linear programme (scipy's HiGHS), each entry's row
scaled by its slack so the solver's tolerance is relative to it. Where none exists, the
entries at the kink that some choice moves are each ``backprop-bug`` and the verdict says why:
a max-pool backward that drops a tied window's gradient in a bias-free layer lies in every
entry's bracket and is caught only so.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gradcheck.checking.statuses import STATUSES
from gradcheck.checking.verdict import GroupCheck
from gradcheck.oracles import KinkHull

__all__ = ["joint_check", "jointly_possible"]

# Each entry's slack, scaled to 1, gets this much more: a backprop's one fixed choice puts hand on
# a vertex of the hull, on its boundary, where the solver's own tolerance decides (with presolve
# on, HiGHS called 28 of 2,000 such vertices infeasible, rows scaled by slacks of 1e-8; with it
# off, none). A dropped or doubled share misses by far more.
_ROOM = 0.01
_ALONE = STATUSES.index("non-differentiable here")
_BUG = STATUSES.index("backprop-bug")


def jointly_possible(hand: np.ndarray, slack: np.ndarray, hull: KinkHull) -> bool:
    """Some ``base + sum_g c_g`` (``c_g`` in the hull of 0 and group ``g``'s rows) lies within
    ``slack`` (and :data:`_ROOM` of it more) of ``hand`` in every entry; True too where the
    solver cannot tell."""
    scale = 1.0 / np.maximum(slack, np.finfo(np.float64).tiny)
    target = (hand - hull.base) * scale
    room = 1.0 + _ROOM
    if not hull.changes:
        return bool(np.all(np.abs(target) <= room))
    moves = np.concatenate(hull.changes).T * scale[:, None]  # (entries, patterns)
    groups = np.zeros((len(hull.changes), moves.shape[1]))
    lo = 0
    for g, change in enumerate(hull.changes):  # sum of a group's weights <= 1
        groups[g, lo : lo + len(change)] = 1.0
        lo += len(change)
    status = _solve(moves, target, np.full(len(target), room), groups)
    if status not in (0, 2):  # rows of 1e7 and of 1 (a slack far below the changes) can fail it
        rows = np.maximum(np.abs(moves).max(axis=1), np.maximum(np.abs(target), room))
        status = _solve(moves / rows[:, None], target / rows, room / rows, groups)
    return status != 2  # 2: infeasible; any other outcome gives the benefit


def _solve(moves: np.ndarray, target: np.ndarray, room: np.ndarray, groups: np.ndarray) -> int:
    """HiGHS's status for ``|moves c - target| <= room``, ``groups c <= 1``, ``c >= 0``:
    0 a point found, 2 none exists, another an outcome it could not reach. Rows scaled by their
    magnitude rather than their slack (the retry): an infeasible answer still means beyond the
    slack (the solver's tolerance only widens it), a feasible one may be within its tolerance."""
    from scipy.optimize import linprog  # type: ignore[import-untyped]

    found = linprog(
        np.zeros(moves.shape[1]),
        A_ub=np.vstack([moves, -moves, groups]),
        b_ub=np.concatenate([room + target, room - target, np.ones(len(groups))]),
        bounds=(0.0, None),
        method="highs",
        options={"presolve": False},
    )
    return int(found.status)


def joint_check(checks: list[GroupCheck], hull: KinkHull) -> tuple[list[GroupCheck], str]:
    """``checks`` with the entries of ``hull`` made ``backprop-bug`` where each passes alone
    (``non-differentiable here``) but :func:`jointly_possible` finds no choice giving them
    together (those some choice moves past their slack: the others' values are fixed), and a
    note saying so (empty where nothing changed)."""
    where = {(c.layer, c.group): c for c in checks if c.kind == "entry"}
    places: list[tuple[GroupCheck, int]] = []
    for layer, group, flat in hull.entries:
        c = where.get((layer, group))
        rows = np.flatnonzero(c.rows == flat) if c is not None else np.zeros(0, dtype=int)
        if c is None or rows.size != 1 or c.status[rows[0]] != _ALONE:
            return checks, ""  # an entry left out, or already failed: nothing to add
        places.append((c, int(rows[0])))
    hand = np.array([c.columns["hand"][r] for c, r in places])
    slack = np.array([c.columns["tol_bracket"][r] for c, r in places])
    if jointly_possible(hand, slack, hull):
        return checks, ""
    # an entry no choice moves past its slack stands apart: its own bracket judged it in full
    chosen = np.concatenate(hull.changes) if hull.changes else np.zeros((0, len(places)))
    moved: np.ndarray = np.asarray((np.abs(chosen) > slack).any(axis=0))
    if not moved.any():  # each alone passed, and no choice moves any: nothing to blame
        return checks, ""
    flip: dict[int, list[int]] = {}
    for (c, r), blamed in zip(places, moved, strict=True):
        if blamed:
            flip.setdefault(id(c), []).append(r)
    out = []
    for c in checks:
        if id(c) in flip:
            status = c.status.copy()
            status[flip[id(c)]] = _BUG
            c = dataclasses.replace(c, status=status)
        out.append(c)
    note = (
        f"the {int(moved.sum())} entries at a kink each lie in their own bracket, but no one "
        "choice of pieces at the kinks gives them together"
    )
    return out, note
