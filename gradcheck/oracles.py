"""Two independent oracles for ``dE/dparams``: finite differences and JAX.

Both take ``(spec, params, inputs, targets)`` and return a structure shaped like ``params`` (the
:data:`gradcheck.spec.GradientFn` contract). Neither imports :mod:`gradcheck.backprop`: each has
its own forward pass, so a bug in the hand-derived code cannot hide in a shared helper.

* Finite differences, always evaluated in float64: ``D(h) = (E(p + h) - E(p - h)) / 2h`` per
  scalar entry, with a second step ``2h`` for a Richardson value ``(4 D(h) - D(2h)) / 3`` and an
  error estimate ``|D(2h) - D(h)| / 3 + rounding``. All perturbed copies of a layer go through one
  batched NumPy forward pass. Entries whose stencil moves a relu/leaky_relu pre-activation across
  zero are flagged as kinks.
* JAX: ``jax.value_and_grad`` of a jax.numpy forward pass, compiled once per padded shape
  bucket and cached at module level, run with x64 switched on locally (never globally).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcheck.spec import Array, Location, Params, Spec

__all__ = [
    "DirectionalResult",
    "FDResult",
    "directional_finite_difference",
    "finite_difference",
    "finite_difference_grads",
    "jax_cache_info",
    "jax_grads",
    "jax_loss_and_grads",
]


@dataclass(frozen=True)
class FDResult:
    """Per-entry finite differences, every field shaped like ``params`` (float64 / bool).

    ``values``: Richardson value ``(4 D(h) - D(2h)) / 3``; ``errors``: its error estimate
    ``|D(2h) - D(h)| / 3`` plus the rounding bound ``c eps |E| / h``; ``steps``: ``h`` actually
    taken; ``kinks``: the stencil ``p +- h, p +- 2h`` moved a relu/leaky_relu pre-activation
    across zero; ``at_kink``: the unperturbed point itself sits on a kink for a unit the entry
    moves (the one-sided derivatives differ there); ``loss``: ``E(params)``. Entries not asked
    for (see ``only``) hold NaN and False.
    """

    values: Params
    errors: Params
    steps: Params
    kinks: list[dict[str, np.ndarray]]
    at_kink: list[dict[str, np.ndarray]]
    loss: float


@dataclass(frozen=True)
class DirectionalResult:
    """Finite differences of ``E`` along one direction ``v`` per (layer, group).

    ``directions[l][g]`` is ``v`` (shaped like the group), ``values[l][g]`` the Richardson value of
    ``dE/dt E(p + t v)`` at 0, ``errors[l][g]`` its error estimate, ``steps[l][g]`` the step in
    ``t``, ``kinks[l][g]`` whether the stencil crossed a kink.
    """

    directions: Params
    values: list[dict[str, float]]
    errors: list[dict[str, float]]
    steps: list[dict[str, float]]
    kinks: list[dict[str, bool]]
    loss: float


def finite_difference(
    spec: Spec,
    params: Params,
    inputs: Array,
    targets: Array,
    *,
    rel_step: float | None = None,
    only: list[Location] | None = None,
) -> FDResult:
    """Central differences of ``E`` for every trainable scalar entry (or just ``only``).

    The step is ``h = rel_step * max(|p|, 1)`` per entry, ``rel_step`` defaulting to
    ``eps_float64 ** (1/3)`` (the step that balances truncation ``O(h^2)`` and rounding
    ``O(eps/h)``).
    """
    raise NotImplementedError


def finite_difference_grads(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """``dE/dparams`` by central differences (Richardson values), shaped like ``params``."""
    return finite_difference(spec, params, inputs, targets).values


def directional_finite_difference(
    spec: Spec,
    params: Params,
    inputs: Array,
    targets: Array,
    *,
    seed: int = 0,
    rel_step: float | None = None,
) -> DirectionalResult:
    """``d/dt E(p + t v_g)`` at 0 for one random direction ``v_g`` per trainable group ``g``.

    A few forward passes whatever the number of parameters; compare with ``<grad_g, v_g>``.
    """
    raise NotImplementedError


def jax_loss_and_grads(
    spec: Spec, params: Params, inputs: Array, targets: Array
) -> tuple[float, Params]:
    """``(E, dE/dparams)`` from one compiled ``jax.value_and_grad`` call, in the spec's dtype."""
    raise NotImplementedError


def jax_grads(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """``dE/dparams`` by ``jax.grad`` of an independent jax.numpy forward pass."""
    return jax_loss_and_grads(spec, params, inputs, targets)[1]


def jax_cache_info() -> dict[str, int]:
    """``{"traces": n, "buckets": m}``: how often the JAX loss was traced, for how many buckets."""
    raise NotImplementedError


def _float64(params: Params) -> Params:
    return [{k: np.asarray(a, dtype=np.float64) for k, a in layer.items()} for layer in params]


_ = (Array, _float64)
