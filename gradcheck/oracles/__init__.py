"""Two independent oracles for ``dE/dparams``: finite differences and JAX.

Both take ``(spec, params, inputs, targets)`` and return a structure shaped like ``params`` (the
:data:`gradcheck.spec.GradientFn` contract). This module gathers them in one namespace:
:mod:`gradcheck.oracles.finite_differences` (batched float64 central differences with Richardson
error estimates and kink flags) and :mod:`gradcheck.oracles.jax_grad` (``jax.value_and_grad`` of a
padded, bucketed jax.numpy forward pass). Neither imports the other nor
:mod:`gradcheck.hand.backprop`.
"""

from __future__ import annotations

from gradcheck.oracles.fd_batched import finite_differences_many
from gradcheck.oracles.fd_directional import DirectionalResult, directional_finite_difference
from gradcheck.oracles.finite_differences import (
    DEFAULT_REL_STEP,
    FDResult,
    KinkHull,
    finite_difference,
    finite_difference_grads,
)
from gradcheck.oracles.finite_differences import (
    BoolParams as BoolParams,  # the FDResult flag type, as before
)
from gradcheck.oracles.jax_grad import (
    has_padded_layout,
    jax_cache_info,
    jax_grads,
    jax_loss_and_grads,
    jax_loss_and_grads_later,
    jax_loss_and_grads_many,
)
from gradcheck.spec.arguments import check_arguments

__all__ = [
    "DEFAULT_REL_STEP",
    "DirectionalResult",
    "FDResult",
    "KinkHull",
    "check_arguments",
    "directional_finite_difference",
    "finite_difference",
    "finite_difference_grads",
    "finite_differences_many",
    "has_padded_layout",
    "jax_cache_info",
    "jax_grads",
    "jax_loss_and_grads",
    "jax_loss_and_grads_later",
    "jax_loss_and_grads_many",
]
