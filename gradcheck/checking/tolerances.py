"""Tolerances by dtype: how far a candidate may lie from JAX and from finite differences.

Per scalar entry with candidate ``h``, JAX ``j`` and finite difference ``f`` (error estimate
``e``), the dtype's tolerance ``(rtol, atol, s)`` from :data:`TOLERANCES` and, for float32, the
measured rounding ``p`` of that dtype (:func:`precision_allowance`):

* hand and JAX agree when ``|h - j| <= a + rtol * max(|j|, floor) + p + c L eps m``
  (:func:`jax_tolerance`);
* hand and FD agree when ``|h - f| <= s * e + a + rtol * max(|f|, floor) + p + c L eps m``
  (:func:`fd_tolerance`: a correct hand rounds off the exact value as far as off JAX's).

``a = atol * M + tiny`` is the absolute floor, and it scales with the network: ``M = max |j|``
over the entry's group (:func:`group_magnitude`), so inputs and targets scaled by ``1e-7`` scale
the floor with the gradients and a factor-2 error stays visible at any scale. ``atol`` is the
floor per unit of the group's largest gradient; ``tiny`` is the dtype's smallest normal number
(below it a value is underflow). ``floor = 1e-4 * max |j|`` over the group (:func:`group_floor`)
allows for cancellation in the sums that make a small entry. ``m`` is the entry's term magnitude
from the FD oracle (``FDResult.scales``: the delta rule run on absolute values, so ``m = |g|``
where nothing cancels and ``m >> |g|`` where the entry is a sum of terms much larger than
itself). The cancellation term ``c L eps m`` bounds how far a correct implementation rounds:
``eps`` is the dtype's machine epsilon, ``L`` the number of layers and ``c =``
:data:`CANCELLATION_PER_LAYER` (the error model's
:data:`~gradcheck.oracles.error_model.ROUNDING_PER_LAYER`, which also sets how near a kink a
pre-activation counts as on it).

Evidence (:func:`evidence_resolution`): FD resolves hand's distance from it when ``|h - f| > s *
e + rtol * max(|f|, floor) + max(p, eps m)``: the measured rounding, or one rounding of the terms
summed where that is more, without the absolute floor or the worst-case factor ``c L``. On a
kink, hand passes when ``lower - k <= h <= upper + k`` with ``k = s * e_k + a + rtol *
max(|lower|, |upper|, floor) + c L eps m`` (:func:`subgradient_slack`; ``e_k`` the interval's
error bound). :mod:`gradcheck.checking.compare` classifies every entry with these.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.checking.verdict import Tolerance
from gradcheck.oracles.error_model import ROUNDING_PER_LAYER
from gradcheck.spec import Array, GradcheckError

__all__ = [
    "CANCELLATION_PER_LAYER",
    "EVIDENCE_RATIO",
    "PRECISION_FACTOR",
    "TOLERANCES",
    "evidence_resolution",
    "fd_tolerance",
    "group_floor",
    "group_magnitude",
    "is_narrower",
    "jax_tolerance",
    "precision_allowance",
    "subgradient_slack",
    "tolerance_for",
]

PRECISION_FACTOR = 8.0  # room for the candidate rounding differently from JAX in its dtype
CANCELLATION_PER_LAYER = ROUNDING_PER_LAYER  # c: rounding per layer, in eps x term magnitude
EVIDENCE_RATIO = 10.0  # JAX and FD this much closer to each other than hand to either: a bug
_GROUP_FLOOR = 1e-4


# Keyed by dtype name, like jax._src.public_test_util; assign a new Tolerance to override.
# ``atol`` is per unit of the group's largest gradient: a group's absolute floor is atol * max |j|.
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
    info = np.finfo(np.dtype(dtype))
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is not None and not (np.isfinite(value) and value >= 0):
            raise GradcheckError(f"{name}: expected a finite number >= 0, got {value!r}")
    return Tolerance(
        base.rtol if rtol is None else float(rtol),
        base.atol if atol is None else float(atol),
        base.fd_safety,
        float(info.eps),
        float(info.tiny),
    )


def is_narrower(got: np.dtype[Any], dtype: np.dtype[Any] | str) -> bool:
    """Whether ``got`` is a float dtype with a larger epsilon than ``dtype``'s (float32 for a
    float64 network): a result rounded in it misses by that dtype's rounding, not a formula."""
    return got.kind == "f" and bool(np.finfo(got).eps > np.finfo(np.dtype(dtype)).eps)


def group_floor(jax: Array) -> float:
    """``1e-4 * max |j|`` over a group: the magnitude below which entries are sums that cancel."""
    return _GROUP_FLOOR * float(np.max(np.abs(jax), initial=0.0))


def group_magnitude(jax: Array) -> float:
    """``M = max |j|`` over a group: its absolute floor is ``atol * M``."""
    return float(np.max(np.abs(jax), initial=0.0))


def _absolute(tolerance: Tolerance, magnitude: float | np.ndarray) -> np.ndarray:
    """The absolute floor ``a = atol * M + tiny``: ``tiny`` is the dtype's smallest normal number,
    below which a value is underflow."""
    absolute: np.ndarray = tolerance.atol * np.asarray(magnitude) + tolerance.tiny
    return absolute


def _cancellation(
    tolerance: Tolerance, scale: float | np.ndarray, depth: int | np.ndarray
) -> float | np.ndarray:
    """``c L eps m``: how far two correct implementations may round apart."""
    return CANCELLATION_PER_LAYER * depth * tolerance.eps * np.abs(scale)


def jax_tolerance(
    jax: np.ndarray,
    tolerance: Tolerance,
    floor: float | np.ndarray,
    precision: float | np.ndarray = 0.0,
    scale: float | np.ndarray = 0.0,
    depth: int | np.ndarray = 1,
    magnitude: float | np.ndarray = 1.0,
) -> np.ndarray:
    """The allowed ``|h - j|`` per entry: ``a + rtol * max(|j|, floor) + precision + c L eps
    scale``, with ``a = atol * M + tiny`` (``M = magnitude``, :func:`group_magnitude`), ``c =
    CANCELLATION_PER_LAYER``, ``L = depth`` layers and ``scale`` the term magnitude of the entry
    (``FDResult.scales``; 0: no cancellation term)."""
    allowed: np.ndarray = _absolute(tolerance, magnitude) + tolerance.rtol * np.maximum(
        np.abs(jax), floor
    )
    return allowed + precision + _cancellation(tolerance, scale, depth)


def fd_tolerance(
    fd: np.ndarray,
    fd_error: np.ndarray,
    tolerance: Tolerance,
    floor: float | np.ndarray,
    precision: float | np.ndarray = 0.0,
    magnitude: float | np.ndarray = 1.0,
    scale: float | np.ndarray = 0.0,
    depth: int | np.ndarray = 1,
) -> np.ndarray:
    """The allowed ``|h - f|`` per entry: ``s * e + atol * M + tiny + rtol * max(|f|, floor) +
    precision + c L eps scale`` with ``s = tolerance.fd_safety``, ``e = fd_error`` (the FD
    oracle's error estimate), ``M = magnitude`` and the cancellation term as in
    :func:`jax_tolerance`."""
    allowed: np.ndarray = (
        tolerance.fd_safety * fd_error
        + _absolute(tolerance, magnitude)
        + tolerance.rtol * np.maximum(np.abs(fd), floor)
        + precision
    )
    return allowed + _cancellation(tolerance, scale, depth)


def evidence_resolution(
    fd: np.ndarray,
    fd_error: np.ndarray,
    tolerance: Tolerance,
    floor: float | np.ndarray,
    precision: float | np.ndarray = 0.0,
    scale: float | np.ndarray = 0.0,
) -> np.ndarray:
    """The least ``|h - f|`` that finite differences resolve as hand's own error: ``s * e + rtol *
    max(|f|, floor) + max(precision, eps scale)``: the measured rounding of the dtype, or one
    rounding of the terms the entry sums where that is more (JAX may be exact where hand cannot
    be); no absolute floor but ``tiny`` (underflow is never evidence), no worst-case ``c L``."""
    rounding = np.maximum(precision, tolerance.eps * np.abs(scale))
    resolved: np.ndarray = (
        tolerance.fd_safety * fd_error
        + tolerance.rtol * np.maximum(np.abs(fd), floor)
        + rounding
        + tolerance.tiny
    )
    return resolved


def subgradient_slack(
    lower: np.ndarray,
    upper: np.ndarray,
    error: np.ndarray,
    tolerance: Tolerance,
    floor: float | np.ndarray,
    scale: float | np.ndarray = 0.0,
    depth: int | np.ndarray = 1,
    magnitude: float | np.ndarray = 1.0,
) -> np.ndarray:
    """How far outside ``[lower, upper]`` (the derivatives any convention at the kinks gives)
    hand may lie: ``s * error + atol * M + tiny + rtol * max(|lower|, |upper|, floor) + c L eps
    scale``. The dtype's rounding enters as modelled, never as measured: at a kink the measured
    rounding holds the jump between JAX's two sides."""
    largest = np.maximum(np.abs(lower), np.abs(upper))
    slack: np.ndarray = (
        tolerance.fd_safety * error
        + _absolute(tolerance, magnitude)
        + tolerance.rtol * np.maximum(largest, floor)
        + _cancellation(tolerance, scale, depth)
    )
    return slack


def precision_allowance(jax: Array, jax64: Array, exclude: np.ndarray | None = None) -> Array:
    """``8 (|d_k| + rms d)`` with ``d = jax - jax64``: the spec dtype's measured rounding error
    per entry, with room for the candidate rounding differently (0 for float64 specs). The rms
    leaves out the entries ``exclude`` marks (at a kink ``d`` is the jump between two sides,
    not rounding)."""
    d = np.abs(np.asarray(jax, dtype=np.float64) - np.asarray(jax64, dtype=np.float64))
    kept = d if exclude is None else d[~np.asarray(exclude, dtype=bool)]
    rms = np.sqrt(np.mean(kept * kept)) if kept.size else 0.0
    allowance: Array = PRECISION_FACTOR * (d + rms)
    return allowance
