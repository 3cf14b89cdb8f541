"""Compare a candidate gradient with both oracles and classify every disagreement.

Each scalar entry has candidate ``h``, JAX ``j`` and finite difference ``f``; hand and JAX agree
within ``tol_jax``, hand and FD within ``tol_fd``, the dtype's tolerances with the measured
rounding ``p`` of float32 (:mod:`gradcheck.checking.tolerances` has the formulas). Blame goes by
evidence, whichever dtype:

* hand is the odd one out, a ``backprop-bug``, where FD resolves hand's distance from it
  (:func:`~gradcheck.checking.tolerances.evidence_resolution`) and JAX and FD agree
  :data:`~gradcheck.checking.tolerances.EVIDENCE_RATIO` times more closely than hand agrees with
  either, even where the tolerances alone would pass it; also where hand differs from JAX while
  JAX agrees with FD, and where hand agrees with JAX only within the wider hand-vs-JAX tolerance
  while JAX agrees with FD and hand lies farther from JAX than FD does;
* FD is the odd one out, an ``fd-artefact``, only where hand and JAX agree and FD agrees with
  neither (or lies farther from JAX than hand does);
* in a dtype with a measured rounding ``p > 0`` (float32; float64 has none), hand != JAX with
  both inside the FD error and ``|h - j| <= tol_jax + PRECISION_LIMIT * p`` is
  ``precision-limited``; in float64 it is a ``backprop-bug``.

Kinks: an entry whose FD stencil moves a unit on a kink (a relu pre-activation within its rounding
bound of 0, ``at_kink``) is ``non-differentiable here`` when hand lies in the FD oracle's bracket
of what backprop gives for any slope between the one-sided ones at those units: ``lower - k <= h
<= upper + k`` (:func:`~gradcheck.checking.tolerances.subgradient_slack`); JAX's own value gets
no pass there. An entry whose stencil crosses a kink from a point away from it is ``non-
differentiable here`` when hand agrees with JAX (exact there, FD is not). Otherwise either is a
``backprop-bug``. Those three are reported, not failed.

The :class:`~gradcheck.checking.verdict.GroupCheck` records built here live in
:mod:`gradcheck.checking.verdict`; :mod:`gradcheck.checking.verification` runs the candidate and
both oracles and collects them into a verdict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from gradcheck.checking.statuses import FAILS
from gradcheck.checking.tolerances import (
    EVIDENCE_RATIO,
    evidence_resolution,
    fd_tolerance,
    group_floor,
    group_magnitude,
    jax_tolerance,
    subgradient_slack,
)
from gradcheck.checking.verdict import FAILING, STATUSES, GroupCheck, Status, Tolerance
from gradcheck.oracles.fd_directional import DirectionalResult
from gradcheck.oracles.finite_differences import FDResult
from gradcheck.spec import Array, Params

__all__ = [
    "ESCALATION_LIMIT",
    "PRECISION_LIMIT",
    "PROJECTION_THRESHOLD",
    "EntryRequest",
    "classify",
    "compare_directions",
    "compare_entries",
    "compare_entries_many",
    "compare_group",
    "dtype_mismatch",
    "past_limit_status",
    "structure_check",
]

PROJECTION_THRESHOLD = 1000  # parameters; above it, FD checks random directions per group
ESCALATION_LIMIT = 64  # per-entry finite differences per failing group, worst entries first
PRECISION_LIMIT = 8.0  # precision-limited: |h - j| up to this many more measured allowances
_CODE = {name: code for code, name in enumerate(STATUSES)}
Interval = tuple[np.ndarray, np.ndarray, np.ndarray]  # lower, upper, their error bound


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
    subgradients: Interval | None = None,
    scale: float | np.ndarray = 0.0,
    depth: int | np.ndarray = 1,
    magnitude: float | np.ndarray = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status codes and the allowed ``|h - j|``, ``|h - f|`` per entry (see the module doc).

    ``precision`` is the measured rounding error of the spec's dtype (JAX in that dtype against
    JAX in float64), added to both tolerances. ``subgradients`` is the FD oracle's bracket
    ``(lower, upper, error bound)`` where ``at_kink``. ``scale`` and ``depth`` give the
    cancellation term, ``magnitude`` the group's largest gradient ``M = max |j|`` (absolute floor
    ``atol * M``) of :func:`~gradcheck.checking.tolerances.jax_tolerance`.
    """
    tol_jax = jax_tolerance(jax, tolerance, floor, precision, scale, depth, magnitude)
    tol_fd = fd_tolerance(fd, fd_error, tolerance, floor, precision, magnitude, scale, depth)
    resolved = evidence_resolution(fd, fd_error, tolerance, floor, precision, scale)
    with np.errstate(invalid="ignore"):
        d_hj, d_hf, d_jf = np.abs(hand - jax), np.abs(hand - fd), np.abs(jax - fd)
        hj, hf, jf = d_hj <= tol_jax, d_hf <= tol_fd, d_jf <= tol_fd
        limited = (precision > 0) & (d_hj <= tol_jax + PRECISION_LIMIT * precision)
        hand_odd = (d_hf > resolved) & (EVIDENCE_RATIO * d_jf < np.minimum(d_hj, d_hf))
        hand_farther = jf & (d_hj > d_jf)
        inside = _between(hand, subgradients, tolerance, floor, scale, depth, magnitude)
        subgradient = np.where(at_kink, inside, hj)
    status = np.select(
        [
            kink & subgradient,
            kink,
            hand_odd,
            hj & hf,
            hj & hand_farther,
            hj,
            jf & hf & limited,
            jf,
            hf,
        ],
        [
            _CODE["non-differentiable here"],
            _CODE["backprop-bug"],
            _CODE["backprop-bug"],
            _CODE["ok"],
            _CODE["backprop-bug"],
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
    subgradients: Interval | None,
    tolerance: Tolerance,
    floor: float | np.ndarray,
    scale: float | np.ndarray,
    depth: int | np.ndarray,
    magnitude: float | np.ndarray,
) -> np.ndarray:
    """``lower - k <= h <= upper + k`` (False for NaN, and everywhere without a bracket)."""
    if subgradients is None:
        return np.zeros(np.shape(hand), dtype=bool)
    lower, upper, error = subgradients
    slack = subgradient_slack(lower, upper, error, tolerance, floor, scale, depth, magnitude)
    with np.errstate(invalid="ignore"):
        inside: np.ndarray = np.isfinite(hand) & (hand >= lower - slack) & (hand <= upper + slack)
    return inside


def _classify_columns(
    col: dict[str, np.ndarray],
    kink: np.ndarray,
    at_kink: np.ndarray,
    tolerance: Tolerance,
    floor: float | np.ndarray,
    precision: float | np.ndarray,
    subgradients: Interval | None,
    cancellation: tuple[float | np.ndarray, int | np.ndarray],
    magnitude: float | np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`classify` on the ``hand``, ``jax``, ``fd`` and ``fd_error_estimate`` columns: the
    status codes, and the columns with ``tol_jax``, ``tol_fd`` and ``max_grad`` (``M``, whose
    ``atol * M`` is the absolute floor) added. ``cancellation`` is ``(scale, depth)``."""

    def run(hand: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return classify(
            hand,
            col["jax"],
            col["fd"],
            col["fd_error_estimate"],
            kink,
            at_kink,
            tolerance,
            floor,
            precision,
            subgradients=subgradients,
            scale=cancellation[0],
            depth=cancellation[1],
            magnitude=magnitude,
        )

    status, tol_jax, tol_fd = run(col["hand"])
    largest = np.broadcast_to(np.asarray(magnitude, dtype=np.float64), tol_jax.shape).copy()
    col = {**col, "tol_jax": tol_jax, "tol_fd": tol_fd, "max_grad": largest}
    if subgradients is not None:  # where at a kink (NaN elsewhere): hand's distance outside
        lower, upper, error = subgradients  # the bracket and the slack it is allowed
        col["tol_bracket"] = subgradient_slack(
            lower, upper, error, tolerance, floor, *cancellation, magnitude
        )
        with np.errstate(invalid="ignore"):
            beyond = np.maximum(lower - col["hand"], col["hand"] - upper)
            col["abs_error_bracket"] = np.where(np.isnan(beyond), np.nan, np.maximum(beyond, 0.0))
    blind = np.zeros(status.shape)
    suspects = _sign_suspects(col, kink, precision)
    if suspects.any():  # rare: classify the flipped sign where the tolerances might let it by
        blind = (suspects & ~FAILS[run(-col["jax"])[0]]).astype(np.float64)
    return status, {**col, "blind": blind}


def _sign_suspects(
    col: dict[str, np.ndarray], kink: np.ndarray, precision: float | np.ndarray
) -> np.ndarray:
    """Entries off any kink whose value finite differences resolve as nonzero (``|f| > s e``,
    and ``|j|`` above ``10^-3`` of the group's largest) yet within reach of ``-j`` by the
    hand-vs-JAX allowance: ``2 |j| <= tol_jax + PRECISION_LIMIT p``."""
    j, f = np.abs(col["jax"]), np.abs(col["fd"])
    with np.errstate(invalid="ignore"):
        resolved = (f > 2.0 * col["fd_error_estimate"]) & (j > 1e-3 * col["max_grad"])
        reach = 2.0 * j <= col["tol_jax"] + PRECISION_LIMIT * np.asarray(precision)
    suspects: np.ndarray = ~kink & resolved & reach
    return suspects


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
    magnitude = group_magnitude(j_all)
    col = {"hand": np.asarray(hand, dtype=np.float64).reshape(-1)[rows], "jax": j_all[rows]}
    for name, values in (("fd", fd.values), ("fd_error_estimate", fd.errors), ("step", fd.steps)):
        col[name] = values[layer][group].reshape(-1)[rows]
    kink, at_kink = (f[layer][group].reshape(-1)[rows] for f in (fd.kinks, fd.at_kink))
    lower, upper, error = (
        f[layer][group].reshape(-1)[rows] for f in (fd.lower, fd.upper, fd.interval_errors)
    )
    col["fd_lower"], col["fd_upper"] = lower, upper
    allowed = 0.0 if precision is None else np.reshape(precision, -1)[rows]
    scale = fd.scales[layer][group].reshape(-1)[rows]
    status, col = _classify_columns(
        col,
        kink,
        at_kink,
        tolerance,
        floor,
        allowed,
        (lower, upper, error),
        (scale, len(fd.values)),
        magnitude,
    )
    if past_limit is not None:
        status[ESCALATION_LIMIT:] = _CODE[past_limit]
    return GroupCheck(layer, group, "entry", np.shape(jax), rows, col, status)


def past_limit_status(direction: GroupCheck) -> Status:
    """The status of a group's entries past :data:`ESCALATION_LIMIT`, which have no finite
    difference of their own: ``backprop-bug`` where JAX agreed with FD along the group's random
    direction (``direction``, from :func:`compare_directions`), else ``unresolved``."""
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
    return compare_entries_many([EntryRequest(hand, jax, fd, precision, skip)], tolerance)[0]


# the columns compare_entries_many lays out, from hand, JAX and the FD result's fields in turn
_ENTRY_COLUMNS: tuple[str, ...] = ("hand", "jax", "fd", "fd_error_estimate", "step", "kink")
_ENTRY_COLUMNS += ("at_kink", "lower", "upper", "interval_error", "scale")


class EntryRequest(NamedTuple):
    """One network's :func:`compare_entries` arguments but the tolerance."""

    hand: Params
    jax: Params
    fd: FDResult
    precision: list[dict[str, Array | None]]
    skip: set[tuple[int, str]]


def compare_entries_many(
    requests: Sequence[EntryRequest], tolerance: Tolerance
) -> list[list[GroupCheck]]:
    """:func:`compare_entries` of each network of ``requests``, every entry of every network
    classified in one vectorised call (each entry is judged on its own columns, so the statuses
    are each network's own): checking many small networks costs little more than one."""
    groups = [
        [(i, g) for i, layer in enumerate(r.jax) for g in layer if (i, g) not in r.skip]
        for r in requests
    ]
    flat: dict[str, list[np.ndarray]] = {name: [] for name in _ENTRY_COLUMNS}
    floors: list[float] = []
    magnitudes: list[float] = []
    depths: list[int] = []
    allowed: list[np.ndarray] = []
    sizes: list[int] = []
    for r, own in zip(requests, groups, strict=True):
        fd = r.fd
        sources: list[Params] = [r.hand, r.jax, fd.values, fd.errors, fd.steps, fd.kinks]
        sources += [fd.at_kink, fd.lower, fd.upper, fd.interval_errors, fd.scales]
        for name, source in zip(_ENTRY_COLUMNS, sources, strict=True):
            flat[name] += [np.asarray(source[i][g], dtype=np.float64).reshape(-1) for i, g in own]
        for (i, g), j in zip(own, flat["jax"][len(sizes) :], strict=True):
            measured = r.precision[i][g]
            allowed.append(np.zeros(j.size) if measured is None else np.reshape(measured, -1))
            floors.append(group_floor(j))
            magnitudes.append(group_magnitude(j))
            depths.append(len(r.fd.values))
            sizes.append(j.size)
    if not sizes:
        return [[] for _ in requests]
    col = {name: np.concatenate(parts) for name, parts in flat.items()}
    kink, at_kink = col.pop("kink").astype(bool), col.pop("at_kink").astype(bool)
    subgradients = (col.pop("lower"), col.pop("upper"), col.pop("interval_error"))
    col["fd_lower"], col["fd_upper"] = subgradients[:2]  # the bracket where at a kink, else NaN
    cancellation = (col.pop("scale"), np.repeat(depths, sizes))
    status, col = _classify_columns(
        col,
        kink,
        at_kink,
        tolerance,
        np.repeat(floors, sizes),
        np.concatenate(allowed),
        subgradients,
        cancellation,
        np.repeat(magnitudes, sizes),
    )
    checks: list[list[GroupCheck]] = []
    bounds = iter(np.cumsum([0, *sizes]).tolist())
    lo = next(bounds)
    for r, own in zip(requests, groups, strict=True):
        checks.append([])
        for i, g in own:
            hi = next(bounds)
            part = {name: a[lo:hi] for name, a in col.items()}
            shape = np.shape(r.jax[i][g])
            checks[-1].append(
                GroupCheck(i, g, "entry", shape, np.arange(hi - lo), part, status[lo:hi])
            )
            lo = hi
    return checks


def compare_directions(
    groups: list[tuple[int, str]],
    hand: Params,
    jax: Params,
    fd: DirectionalResult,
    tolerance: Tolerance,
    precision: list[dict[str, Array | None]],
) -> list[GroupCheck]:
    """Per group of ``groups``, compare ``<hand, v>`` and ``<jax, v>`` with the FD derivative
    along ``v``, classified in one vectorised call; the rounding scale of a dot product (and
    ``M``, for the absolute floor) is ``sum |jax_k v_k|``, its term magnitude
    ``sum |scale_k v_k|``."""
    if not groups:
        return []
    dots: dict[str, list[float]] = {k: [] for k in ("hand", "jax", "floor", "allowed", "scale")}
    for i, g in groups:
        v = fd.directions[i][g]
        jv = np.asarray(jax[i][g], dtype=np.float64) * v
        measured = precision[i][g]
        dots["hand"].append(float(np.sum(np.asarray(hand[i][g], dtype=np.float64) * v)))
        dots["jax"].append(float(np.sum(jv)))
        dots["floor"].append(float(np.sum(np.abs(jv))))
        dots["allowed"].append(0.0 if measured is None else float(np.sum(np.abs(v) * measured)))
        dots["scale"].append(float(np.sum(np.abs(fd.scales[i][g] * v))))

    def column(field: list[dict[str, float]] | list[dict[str, bool]]) -> np.ndarray:
        return np.array([field[i][g] for i, g in groups])

    col = {
        "hand": np.array(dots["hand"]),
        "jax": np.array(dots["jax"]),
        "fd": column(fd.values),
        "fd_error_estimate": column(fd.errors),
        "step": column(fd.steps),
    }
    floor = np.array(dots["floor"])
    status, col = _classify_columns(
        col,
        column(fd.kinks).astype(bool),
        column(fd.at_kink).astype(bool),
        tolerance,
        floor,
        np.array(dots["allowed"]),
        (column(fd.lower), column(fd.upper), column(fd.interval_errors)),
        (np.array(dots["scale"]), len(fd.values)),
        floor,
    )
    return [
        GroupCheck(
            i,
            g,
            "direction",
            np.shape(jax[i][g]),
            np.zeros(1, int),
            {name: a[k : k + 1] for name, a in col.items()},
            status[k : k + 1],
        )
        for k, (i, g) in enumerate(groups)
    ]


def structure_check(layer: int, group: str) -> GroupCheck:
    """A group the candidate returned missing, misshapen or not numeric: one failing entry."""
    col = {k: np.full(1, np.nan) for k in ("hand", "jax", "fd", "fd_error_estimate", "step")}
    col |= {k: np.full(1, np.nan) for k in ("tol_jax", "tol_fd", "max_grad")}
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
