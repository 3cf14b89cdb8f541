"""Compare a candidate gradient with both oracles and classify every disagreement.

Each scalar entry has candidate ``h``, JAX ``j`` and finite difference ``f``; hand and JAX agree
within ``tol_jax``, hand and FD within ``tol_fd``, the dtype's tolerances with the measured
rounding ``p`` of float32 (:mod:`gradcheck.checking.tolerances` has the formulas). The pattern
names the failure: hand != JAX while JAX == FD is a ``backprop-bug``; hand == JAX != FD an
``fd-artefact``. In a dtype with a measured rounding ``p > 0`` (float32; float64 has none), hand
!= JAX with both inside the FD error and ``|h - j| <= tol_jax + PRECISION_LIMIT * p`` is
``precision-limited``; in float64 it is a ``backprop-bug``. An entry whose FD stencil crosses a
relu kink is ``non-differentiable here`` when hand is a valid (sub)gradient: equal to JAX, or,
where the point sits on the kink, finite and between the one-sided derivatives ``l``, ``r`` of
the FD stencil, ``min(l, r) - c <= h <= max(l, r) + c`` with ``c = s * e_side + atol + rtol *
max(|l|, |r|, floor) + p``; otherwise it is a ``backprop-bug``. Those three are reported, not
failed.

The :class:`~gradcheck.checking.verdict.GroupCheck` records built here live in
:mod:`gradcheck.checking.verdict`; :mod:`gradcheck.checking.verification` runs the candidate and
both oracles and collects them into a verdict.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gradcheck.checking.tolerances import fd_tolerance, group_floor, jax_tolerance
from gradcheck.checking.verdict import FAILING, STATUSES, GroupCheck, Status, Tolerance
from gradcheck.oracles.finite_differences import DirectionalResult, FDResult
from gradcheck.spec import Array, Params

__all__ = [
    "ESCALATION_LIMIT",
    "PRECISION_LIMIT",
    "PROJECTION_THRESHOLD",
    "classify",
    "compare_direction",
    "compare_entries",
    "compare_group",
    "dtype_mismatch",
    "past_limit_status",
    "structure_check",
]

PROJECTION_THRESHOLD = 1000  # parameters; above it, FD checks random directions per group
ESCALATION_LIMIT = 64  # per-entry finite differences per failing group, worst entries first
PRECISION_LIMIT = 8.0  # precision-limited: |h - j| up to this many more measured allowances
_CODE = {name: code for code, name in enumerate(STATUSES)}


def classify(
    hand: np.ndarray,
    jax: np.ndarray,
    fd: np.ndarray,
    fd_error: np.ndarray,
    kink: np.ndarray,
    at_kink: np.ndarray,
    tolerance: Tolerance,
    floor: float | np.ndarray,
    precision: float | np.ndarray = 0.0,
    *,
    one_sided: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    scale: float | np.ndarray = 0.0,
    depth: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status codes and the allowed ``|h - j|``, ``|h - f|`` per entry (see the module doc).

    ``precision`` is the measured rounding error of the spec's dtype (JAX in that dtype against
    JAX in float64), added to both tolerances. A kink-crossing entry is ``non-differentiable
    here`` when hand agrees with JAX, or the point sits on the kink and hand lies between the
    ``one_sided`` derivatives ``(left, right, error bound)``; otherwise (JAX is exact off the
    kink) it is a bug. Where ``precision > 0``, hand != JAX with both inside the FD error and
    ``|h - j| <= tol_jax + PRECISION_LIMIT * precision`` is ``precision-limited``: the candidate
    rounds differently in that dtype by less than the independent oracle can resolve. Without a
    measured precision (float64) the same pattern is a ``backprop-bug``. ``scale`` and ``depth``
    give the cancellation term of the hand-vs-JAX tolerance
    (:func:`~gradcheck.checking.tolerances.jax_tolerance`).
    """
    tol_jax = jax_tolerance(jax, tolerance, floor, precision, scale, depth)
    tol_fd = fd_tolerance(fd, fd_error, tolerance, floor, precision)
    with np.errstate(invalid="ignore"):
        hj = np.abs(hand - jax) <= tol_jax
        limited = (precision > 0) & (np.abs(hand - jax) <= tol_jax + PRECISION_LIMIT * precision)
        hf = np.abs(hand - fd) <= tol_fd
        jf = np.abs(jax - fd) <= tol_fd
        subgradient = hj | (at_kink & _between(hand, one_sided, tolerance, floor, precision))
    status = np.select(
        [kink & subgradient, kink, hj & hf, hj, jf & hf & limited, jf, hf],
        [
            _CODE["non-differentiable here"],
            _CODE["backprop-bug"],
            _CODE["ok"],
            _CODE["fd-artefact"],
            _CODE["precision-limited"],
            _CODE["backprop-bug"],
            _CODE["oracle-disagreement"],
        ],
        default=_CODE["unresolved"],
    )
    return status, tol_jax, tol_fd


def _between(
    hand: np.ndarray,
    one_sided: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    tolerance: Tolerance,
    floor: float | np.ndarray,
    precision: float | np.ndarray,
) -> np.ndarray:
    """``min(l, r) - c <= h <= max(l, r) + c`` (False for NaN, and everywhere without ``l, r``)."""
    if one_sided is None:
        return np.zeros(np.shape(hand), dtype=bool)
    left, right, error = one_sided
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    slack = fd_tolerance(np.maximum(np.abs(lo), np.abs(hi)), error, tolerance, floor, precision)
    with np.errstate(invalid="ignore"):
        inside: np.ndarray = np.isfinite(hand) & (hand >= lo - slack) & (hand <= hi + slack)
    return inside


def _classify_columns(
    col: dict[str, np.ndarray],
    kink: np.ndarray,
    at_kink: np.ndarray,
    tolerance: Tolerance,
    floor: float | np.ndarray,
    precision: float | np.ndarray,
    one_sided: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    cancellation: tuple[float | np.ndarray, int] = (0.0, 1),
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`classify` on the ``hand``, ``jax``, ``fd`` and ``fd_error_estimate`` columns: the
    status codes, and the columns with ``tol_jax`` and ``tol_fd`` added. ``cancellation`` is
    ``(scale, depth)`` for :func:`~gradcheck.checking.tolerances.jax_tolerance`."""
    status, tol_jax, tol_fd = classify(
        col["hand"],
        col["jax"],
        col["fd"],
        col["fd_error_estimate"],
        kink,
        at_kink,
        tolerance,
        floor,
        precision,
        one_sided=one_sided,
        scale=cancellation[0],
        depth=cancellation[1],
    )
    return status, {**col, "tol_jax": tol_jax, "tol_fd": tol_fd}


def compare_group(
    layer: int,
    group: str,
    hand: Array,
    jax: Array,
    fd: FDResult,
    tolerance: Tolerance,
    rows: np.ndarray | None = None,
    precision: Array | None = None,
    past_limit: Status | None = None,
) -> GroupCheck:
    """Compare one group entry by entry (all entries, or the flat indices ``rows``).

    ``past_limit``, where given, is the status of the rows after the first
    :data:`ESCALATION_LIMIT`: an escalated group's worst entries alone get finite differences of
    their own (:func:`past_limit_status` judges the rest)."""
    j_all = np.asarray(jax, dtype=np.float64).reshape(-1)
    rows = np.arange(j_all.size) if rows is None else rows
    floor = group_floor(j_all)
    col = {"hand": np.asarray(hand, dtype=np.float64).reshape(-1)[rows], "jax": j_all[rows]}
    for name, values in (("fd", fd.values), ("fd_error_estimate", fd.errors), ("step", fd.steps)):
        col[name] = values[layer][group].reshape(-1)[rows]
    kink, at_kink = (f[layer][group].reshape(-1)[rows] for f in (fd.kinks, fd.at_kink))
    left, right, side = (
        f[layer][group].reshape(-1)[rows] for f in (fd.left, fd.right, fd.one_sided_errors)
    )
    allowed = 0.0 if precision is None else np.reshape(precision, -1)[rows]
    scale = fd.scales[layer][group].reshape(-1)[rows]
    status, col = _classify_columns(
        col, kink, at_kink, tolerance, floor, allowed, (left, right, side), (scale, len(fd.values))
    )
    if past_limit is not None:
        status[ESCALATION_LIMIT:] = _CODE[past_limit]
    return GroupCheck(layer, group, "entry", np.shape(jax), rows, col, status)


def past_limit_status(direction: GroupCheck) -> Status:
    """The status of a group's entries past :data:`ESCALATION_LIMIT`, which have no finite
    difference of their own: ``backprop-bug`` where JAX agreed with FD along the group's random
    direction (``direction``, from :func:`compare_direction`), else ``unresolved``."""
    c = direction.columns
    jax_agrees_fd = bool(np.abs(c["jax"] - c["fd"])[0] <= c["tol_fd"][0])
    return "backprop-bug" if jax_agrees_fd else "unresolved"


def compare_entries(
    hand: Params,
    jax: Params,
    fd: FDResult,
    tolerance: Tolerance,
    precision: list[dict[str, Array | None]],
    skip: set[tuple[int, str]],
) -> list[GroupCheck]:
    """:func:`compare_group` for every group but ``skip``, classified in one vectorised call."""
    groups = [(i, g) for i, layer in enumerate(jax) for g in layer if (i, g) not in skip]
    if not groups:
        return []
    flat = {
        name: [np.asarray(source[i][g], dtype=np.float64).reshape(-1) for i, g in groups]
        for name, source in (
            ("hand", hand),
            ("jax", jax),
            ("fd", fd.values),
            ("fd_error_estimate", fd.errors),
            ("step", fd.steps),
            ("kink", fd.kinks),
            ("at_kink", fd.at_kink),
            ("left", fd.left),
            ("right", fd.right),
            ("one_sided_error", fd.one_sided_errors),
            ("scale", fd.scales),
        )
    }
    sizes = [a.size for a in flat["jax"]]
    floor = np.repeat([group_floor(a) for a in flat["jax"]], sizes)
    allowed: list[np.ndarray] = []
    for (i, g), n in zip(groups, sizes, strict=True):
        measured = precision[i][g]
        allowed.append(np.zeros(n) if measured is None else np.reshape(measured, -1))
    col = {name: np.concatenate(parts) for name, parts in flat.items()}
    kink, at_kink = col.pop("kink").astype(bool), col.pop("at_kink").astype(bool)
    one_sided = (col.pop("left"), col.pop("right"), col.pop("one_sided_error"))
    cancellation = (col.pop("scale"), len(fd.values))
    status, col = _classify_columns(
        col, kink, at_kink, tolerance, floor, np.concatenate(allowed), one_sided, cancellation
    )
    checks = []
    bounds = np.cumsum([0, *sizes])
    for (i, g), lo, hi in zip(groups, bounds[:-1], bounds[1:], strict=True):
        part = {name: a[lo:hi] for name, a in col.items()}
        rows = np.arange(hi - lo)
        checks.append(GroupCheck(i, g, "entry", np.shape(jax[i][g]), rows, part, status[lo:hi]))
    return checks


def compare_direction(
    layer: int,
    group: str,
    hand: Array,
    jax: Array,
    fd: DirectionalResult,
    tolerance: Tolerance,
    precision: Array | None = None,
) -> GroupCheck:
    """Compare ``<hand, v>`` and ``<jax, v>`` with the FD derivative along ``v``; the rounding
    scale of a dot product is ``sum |jax_k v_k|``, its term magnitude ``sum |scale_k v_k|``."""
    v = fd.directions[layer][group]
    jv = np.asarray(jax, dtype=np.float64) * v
    col = {
        "hand": np.array([np.sum(np.asarray(hand, dtype=np.float64) * v)]),
        "jax": np.array([np.sum(jv)]),
        "fd": np.array([fd.values[layer][group]]),
        "fd_error_estimate": np.array([fd.errors[layer][group]]),
        "step": np.array([fd.steps[layer][group]]),
    }
    kink = np.array([fd.kinks[layer][group]])
    allowed = 0.0 if precision is None else float(np.sum(np.abs(v) * precision))
    floor = float(np.sum(np.abs(jv)))
    cancellation = (float(np.sum(np.abs(fd.scales[layer][group] * v))), len(fd.values))
    status, col = _classify_columns(
        col, kink, np.zeros(1, bool), tolerance, floor, allowed, None, cancellation
    )
    return GroupCheck(layer, group, "direction", np.shape(jv), np.zeros(1, int), col, status)


def structure_check(layer: int, group: str) -> GroupCheck:
    """A group the candidate returned missing, misshapen or not numeric: one failing entry."""
    col = {k: np.full(1, np.nan) for k in ("hand", "jax", "fd", "fd_error_estimate", "step")}
    col |= {"tol_jax": np.full(1, np.nan), "tol_fd": np.full(1, np.nan)}
    code = np.array([_CODE["structure"]])
    return GroupCheck(layer, group, "entry", (), np.zeros(1, int), col, code)


def dtype_mismatch(check: GroupCheck, keep_failures: bool = True) -> GroupCheck:
    """``check`` of a group the candidate returned in a narrower dtype than the network's,
    compared at that dtype's tolerance: every entry that passed (or was only reported) there
    becomes ``dtype-mismatch``; a failure even at that tolerance keeps its status, so a real bug
    in a float32 result still reads as one. ``keep_failures=False`` (a dtype with no tolerance of
    its own, compared at the network's): every entry is ``dtype-mismatch``."""
    failing = np.isin(check.status, [_CODE[s] for s in STATUSES if s in FAILING]) & keep_failures
    status = np.where(failing, check.status, _CODE["dtype-mismatch"])
    return dataclasses.replace(check, status=status)
