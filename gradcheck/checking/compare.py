"""Compare a candidate gradient with both oracles and classify every disagreement.

Per scalar entry with candidate ``h``, JAX ``j`` and finite difference ``f`` (error estimate
``e``), the dtype's tolerance ``(rtol, atol, s)`` from :data:`TOLERANCES` and, for float32, the
measured rounding ``p`` of that dtype (:func:`precision_allowance`):

* hand and JAX agree when ``|h - j| <= atol + rtol * max(|j|, floor) + p + k L eps m``;
* hand and FD agree when ``|h - f| <= s * e + atol + rtol * max(|f|, floor) + p``;

``floor = 1e-4 * max |j|`` over the entry's group allows for cancellation in the sums that make
a small entry. The cancellation term ``k L eps m`` bounds how far two correct implementations
round apart: ``eps`` is the dtype's machine epsilon, ``L`` the number of layers, ``k =``
:data:`CANCELLATION_PER_LAYER` and ``m`` the entry's term magnitude from the FD oracle
(``FDResult.scales``: the delta rule run on absolute values, so ``m = |g|`` where nothing
cancels and ``m >> |g|`` where the entry is a sum of terms much larger than itself). The pattern
names the failure: hand != JAX while JAX == FD is a ``backprop-bug``; hand == JAX != FD an
``fd-artefact``. In a dtype with a measured rounding ``p > 0`` (float32; float64 has none), hand
!= JAX with both inside the FD error and ``|h - j| <= tol_jax + PRECISION_LIMIT * p`` is
``precision-limited``; in float64 it is a ``backprop-bug``. An entry whose FD stencil crosses a
relu kink is ``non-differentiable here`` when hand is a valid (sub)gradient: equal to JAX, or,
where the point sits on the kink, finite and between the one-sided derivatives ``l``, ``r`` of
the FD stencil, ``min(l, r) - c <= h <= max(l, r) + c`` with ``c = s * e_side + atol + rtol *
max(|l|, |r|, floor) + p``; otherwise it is a ``backprop-bug``. Those three are reported, not
failed.

:func:`gradcheck.verify` runs the candidate and both oracles and builds a
:class:`NetworkVerdict` from these comparisons; the records live in
:mod:`gradcheck.checking.verdict` and are re-exported here.
"""

from __future__ import annotations

import numpy as np

from gradcheck.checking.verdict import (
    FAILING,
    STATUSES,
    Entry,
    GroupCheck,
    NetworkVerdict,
    Status,
    Tolerance,
)
from gradcheck.oracles.finite_differences import DirectionalResult, FDResult
from gradcheck.spec import Array, GradcheckError, Params

__all__ = [
    "CANCELLATION_PER_LAYER",
    "FAILING",
    "PRECISION_FACTOR",
    "PRECISION_LIMIT",
    "PROJECTION_THRESHOLD",
    "STATUSES",
    "TOLERANCES",
    "Entry",
    "GroupCheck",
    "NetworkVerdict",
    "Status",
    "Tolerance",
    "classify",
    "compare_direction",
    "compare_entries",
    "compare_group",
    "group_floor",
    "jax_tolerance",
    "precision_allowance",
    "structure_check",
    "tolerance_for",
]

PROJECTION_THRESHOLD = 1000  # parameters; above it, FD checks random directions per group
ESCALATION_LIMIT = 64  # per-entry finite differences per failing group, worst entries first
PRECISION_FACTOR = 8.0  # room for the candidate rounding differently from JAX in its dtype
PRECISION_LIMIT = 8.0  # precision-limited: |h - j| up to this many more measured allowances
CANCELLATION_PER_LAYER = 16.0  # c: rounding allowance per layer, in eps times the term magnitude
_GROUP_FLOOR = 1e-4
_CODE = {name: code for code, name in enumerate(STATUSES)}


# Keyed by dtype name, like jax._src.public_test_util; assign a new Tolerance to override.
TOLERANCES: dict[str, Tolerance] = {
    "float64": Tolerance(rtol=1e-9, atol=1e-12),
    "float32": Tolerance(rtol=1e-4, atol=1e-6),
}


def tolerance_for(dtype: str, rtol: float | None = None, atol: float | None = None) -> Tolerance:
    """The table's tolerance for ``dtype`` with ``rtol``/``atol`` overridden where given."""
    if dtype not in TOLERANCES:
        raise GradcheckError(
            f"TOLERANCES: no entry for dtype {dtype!r} (have {sorted(TOLERANCES)})"
        )
    base = TOLERANCES[dtype]
    eps = float(np.finfo(np.dtype(dtype)).eps)
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is not None and not (np.isfinite(value) and value >= 0):
            raise GradcheckError(f"{name}: expected a finite number >= 0, got {value!r}")
    return Tolerance(
        base.rtol if rtol is None else float(rtol),
        base.atol if atol is None else float(atol),
        base.fd_safety,
        eps,
    )


# -- classification ------------------------------------------------------------------------
def group_floor(jax: Array) -> float:
    """``1e-4 * max |j|`` over a group: the magnitude below which entries are sums that cancel."""
    return _GROUP_FLOOR * float(np.max(np.abs(jax), initial=0.0))


def jax_tolerance(
    jax: np.ndarray,
    tolerance: Tolerance,
    floor: float | np.ndarray,
    precision: float | np.ndarray = 0.0,
    scale: float | np.ndarray = 0.0,
    depth: int = 1,
) -> np.ndarray:
    """The allowed ``|h - j|`` per entry: ``atol + rtol * max(|j|, floor) + precision + c L eps
    scale``, with ``c = CANCELLATION_PER_LAYER``, ``L = depth`` layers and ``scale`` the term
    magnitude of the entry (``FDResult.scales``; 0: no cancellation term)."""
    allowed: np.ndarray = tolerance.atol + tolerance.rtol * np.maximum(np.abs(jax), floor)
    cancellation = CANCELLATION_PER_LAYER * depth * tolerance.eps * np.abs(scale)
    return allowed + precision + cancellation


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
    give the cancellation term of the hand-vs-JAX tolerance (:func:`jax_tolerance`).
    """
    tol_jax = jax_tolerance(jax, tolerance, floor, precision, scale, depth)
    tol_fd = (
        tolerance.fd_safety * fd_error
        + tolerance.atol
        + tolerance.rtol * np.maximum(np.abs(fd), floor)
        + precision
    )
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
    scale = np.maximum(np.maximum(np.abs(lo), np.abs(hi)), floor)
    slack = tolerance.fd_safety * error + tolerance.atol + tolerance.rtol * scale + precision
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
    ``(scale, depth)`` for :func:`jax_tolerance`."""
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


def precision_allowance(jax: Array, jax64: Array) -> Array:
    """``8 (|d_k| + rms d)`` with ``d = jax - jax64``: the spec dtype's measured rounding error
    per entry, with room for the candidate rounding differently (0 for float64 specs)."""
    d = np.abs(np.asarray(jax, dtype=np.float64) - np.asarray(jax64, dtype=np.float64))
    allowance: Array = PRECISION_FACTOR * (d + np.sqrt(np.mean(d * d)) if d.size else d)
    return allowance


def compare_group(
    layer: int,
    group: str,
    hand: Array,
    jax: Array,
    fd: FDResult,
    tolerance: Tolerance,
    rows: np.ndarray | None = None,
    precision: Array | None = None,
) -> GroupCheck:
    """Compare one group entry by entry (all entries, or the flat indices ``rows``)."""
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
    return GroupCheck(layer, group, "entry", np.shape(jax), rows, col, status)


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
