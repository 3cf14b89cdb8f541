"""Tolerances by dtype: how far a candidate may lie from JAX and from finite differences.

Per scalar entry with candidate ``h``, JAX ``j`` and finite difference ``f`` (error estimate
``e``), the dtype's tolerance ``(rtol, atol, s)`` from :data:`TOLERANCES` and, for float32, the
measured rounding ``p`` of that dtype (:func:`precision_allowance`):

* hand and JAX agree when ``|h - j| <= atol + rtol * max(|j|, floor) + p + k L eps m``
  (:func:`jax_tolerance`);
* hand and FD agree when ``|h - f| <= s * e + atol + rtol * max(|f|, floor) + p``
  (:func:`fd_tolerance`);

``floor = 1e-4 * max |j|`` over the entry's group (:func:`group_floor`) allows for cancellation
in the sums that make a small entry. The cancellation term ``k L eps m`` bounds how far two
correct implementations round apart: ``eps`` is the dtype's machine epsilon, ``L`` the number
of layers, ``k =`` :data:`CANCELLATION_PER_LAYER` and ``m`` the entry's term magnitude from the
FD oracle (``FDResult.scales``: the delta rule run on absolute values, so ``m = |g|`` where
nothing cancels and ``m >> |g|`` where the entry is a sum of terms much larger than itself).
:mod:`gradcheck.checking.compare` classifies every entry with these.
"""

from __future__ import annotations

import numpy as np

from gradcheck.checking.verdict import Tolerance
from gradcheck.spec import Array, GradcheckError

__all__ = [
    "CANCELLATION_PER_LAYER",
    "PRECISION_FACTOR",
    "TOLERANCES",
    "fd_tolerance",
    "group_floor",
    "jax_tolerance",
    "precision_allowance",
    "tolerance_for",
]

PRECISION_FACTOR = 8.0  # room for the candidate rounding differently from JAX in its dtype
CANCELLATION_PER_LAYER = 16.0  # c: rounding allowance per layer, in eps times the term magnitude
_GROUP_FLOOR = 1e-4


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


def fd_tolerance(
    fd: np.ndarray,
    fd_error: np.ndarray,
    tolerance: Tolerance,
    floor: float | np.ndarray,
    precision: float | np.ndarray = 0.0,
) -> np.ndarray:
    """The allowed ``|h - f|`` per entry: ``s * e + atol + rtol * max(|f|, floor) + precision``
    with ``s = tolerance.fd_safety`` and ``e = fd_error``, the FD oracle's error estimate."""
    allowed: np.ndarray = (
        tolerance.fd_safety * fd_error
        + tolerance.atol
        + tolerance.rtol * np.maximum(np.abs(fd), floor)
        + precision
    )
    return allowed


def precision_allowance(jax: Array, jax64: Array) -> Array:
    """``8 (|d_k| + rms d)`` with ``d = jax - jax64``: the spec dtype's measured rounding error
    per entry, with room for the candidate rounding differently (0 for float64 specs)."""
    d = np.abs(np.asarray(jax, dtype=np.float64) - np.asarray(jax64, dtype=np.float64))
    allowance: Array = PRECISION_FACTOR * (d + np.sqrt(np.mean(d * d)) if d.size else d)
    return allowance
