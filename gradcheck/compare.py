"""Compare a candidate gradient with both oracles and classify every disagreement.

Per scalar entry ``k`` with candidate ``h``, JAX ``j`` and finite difference ``f`` (error estimate
``e``), for the spec's dtype tolerance ``(rtol, atol, s)`` from :data:`TOLERANCES`:

* hand vs JAX agree when ``|h - j| <= atol + rtol * max(|j|, floor)``;
* hand vs FD agree when ``|h - f| <= s * e + atol + rtol * max(|f|, floor)``;

``floor`` is ``1e-4 * max |j|`` over the entry's group (cancellation inside a sum). The pattern
names the failure: hand != JAX while JAX == FD is a ``backprop-bug``; hand == JAX != FD is an
``fd-artefact``; an entry whose FD stencil crosses a relu kink is ``non-differentiable here``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gradcheck.spec import Array, GradcheckError, GradientFn, Spec

__all__ = [
    "FAILING",
    "STATUSES",
    "TOLERANCES",
    "CandidateError",
    "Entry",
    "NetworkVerdict",
    "Status",
    "Tolerance",
    "load_candidate",
    "tolerance_for",
    "verify",
]

Status = Literal[
    "ok",
    "backprop-bug",
    "fd-artefact",
    "non-differentiable here",
    "structure",
    "oracle-disagreement",
    "unresolved",
]
STATUSES: tuple[Status, ...] = (
    "ok",
    "backprop-bug",
    "fd-artefact",
    "non-differentiable here",
    "structure",
    "oracle-disagreement",
    "unresolved",
)
# A verdict fails on these; fd-artefact and non-differentiable entries are reported, not failed.
FAILING: frozenset[str] = frozenset(
    {"backprop-bug", "structure", "oracle-disagreement", "unresolved"}
)


class CandidateError(GradcheckError, ValueError):
    """A candidate gradient function could not be loaded (``--candidate module:function``)."""


@dataclass(frozen=True)
class Tolerance:
    """``rtol``/``atol`` for candidate vs JAX; FD adds ``fd_safety`` times its error estimate."""

    rtol: float
    atol: float
    fd_safety: float = 4.0

    def describe(self) -> str:
        return f"rtol={self.rtol:g} atol={self.atol:g} fd={self.fd_safety:g}x error estimate"


# Keyed by dtype name like jax._src.public_test_util; assign a new Tolerance to override.
TOLERANCES: dict[str, Tolerance] = {
    "float64": Tolerance(rtol=1e-9, atol=1e-12),
    "float32": Tolerance(rtol=1e-4, atol=1e-6),
}


def tolerance_for(dtype: str, rtol: float | None = None, atol: float | None = None) -> Tolerance:
    """The table's tolerance for ``dtype`` with ``rtol``/``atol`` overridden where given."""
    raise NotImplementedError


@dataclass(frozen=True)
class Entry:
    """One compared scalar: a parameter entry, or a random direction for a whole group.

    ``layer`` is the 0-based index into params (``label`` shows it 1-based: ``layer 2 W[1,0]``,
    or the display name ``w7``); ``kind`` is ``"entry"`` or ``"direction"`` (projection checks of
    large networks, ``index == ()``). Errors are absolute and relative to the oracle value;
    ``tol_jax``/``tol_fd`` are the allowed absolute differences actually used.
    """

    label: str
    layer: int
    group: str
    index: tuple[int, ...]
    kind: Literal["entry", "direction"]
    hand: float
    jax: float
    fd: float
    fd_error_estimate: float
    step: float
    abs_error_jax: float
    rel_error_jax: float
    abs_error_fd: float
    rel_error_fd: float
    tol_jax: float
    tol_fd: float
    status: Status

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class NetworkVerdict:
    """Everything one verification found for one network.

    ``ok`` is True when no entry has a status in :data:`FAILING`; ``failures`` lists those
    entries; ``summary()`` is one line naming the network, the verdict, the tolerance and the
    first failing entries; ``to_dict()`` is JSON-able for ``--json`` and the report.
    """

    name: str
    path: str
    dtype: str
    mode: Literal["entries", "projection"]
    n_params: int
    loss: float
    tolerance: Tolerance
    entries: tuple[Entry, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        raise NotImplementedError

    @property
    def failures(self) -> tuple[Entry, ...]:
        raise NotImplementedError

    def summary(self) -> str:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


def verify(
    candidate: GradientFn,
    spec: Spec,
    params: Any = None,
    inputs: Array | None = None,
    targets: Array | None = None,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    mode: Literal["auto", "entries", "projection"] = "auto",
    fd_rel_step: float | None = None,
    seed: int = 0,
) -> NetworkVerdict:
    """Check ``candidate(spec, params, inputs, targets)`` against JAX and finite differences.

    ``params``/``inputs``/``targets`` default to the spec's own. ``mode="auto"`` compares every
    entry up to ``PROJECTION_THRESHOLD`` parameters and above it checks one random direction per
    group, escalating to per-entry checks only inside a group that disagrees.
    """
    raise NotImplementedError


def load_candidate(reference: str) -> GradientFn:
    """Import ``module:function`` or ``path/to/file.py:function`` as a gradient function."""
    raise NotImplementedError
