"""The JAX oracle's values on one network, as :func:`~gradcheck.checking.verification.verify`
uses them: computed one network at a time here, or many networks per ``jax.vmap`` call by
:func:`~gradcheck.checking.batched.verify_many`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gradcheck import oracles
from gradcheck.spec import Array, Params, Spec

__all__ = ["JaxValues", "jax_oracle"]


class JaxValues(NamedTuple):
    """``E``, ``dE/dparams`` in the network's dtype, and (for a dtype other than float64)
    ``dE/dparams`` again in float64, which measures that dtype's rounding (None: not computed)."""

    loss: float
    grads: Params
    grads64: Params | None


def jax_oracle(spec: Spec, params: Params, inputs: Array, targets: Array) -> JaxValues:
    """:class:`JaxValues` of one network (arguments already checked)."""
    loss, grads = oracles.jax_loss_and_grads(spec, params, inputs, targets, checked=True)
    grads64 = None
    if spec.dtype != np.float64:
        grads64 = oracles.jax_loss_and_grads(
            spec, params, inputs, targets, dtype="float64", checked=True
        )[1]
    return JaxValues(loss, grads, grads64)
