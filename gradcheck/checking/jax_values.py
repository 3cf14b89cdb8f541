"""The JAX oracle's values on one network, as :func:`~gradcheck.checking.verification.verify`
uses them: computed one network at a time here, or many networks per ``jax.vmap`` call by
:func:`~gradcheck.checking.batched.verify_many`."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gradcheck import oracles
from gradcheck.spec import Array, Params, Spec

__all__ = ["JaxValues", "jax_oracle", "jax_oracle_later"]


class JaxValues(NamedTuple):
    """``E``, ``dE/dparams`` in the network's dtype, and (for a dtype other than float64)
    ``dE/dparams`` again in float64, which measures that dtype's rounding (None: not computed)."""

    loss: float
    grads: Params
    grads64: Params | None


def jax_oracle(spec: Spec, params: Params, inputs: Array, targets: Array) -> JaxValues:
    """:class:`JaxValues` of one network (arguments already checked)."""
    return jax_oracle_later(spec, params, inputs, targets)()


def jax_oracle_later(
    spec: Spec, params: Params, inputs: Array, targets: Array
) -> Callable[[], JaxValues]:
    """:func:`jax_oracle`, dispatched now and collected when the returned function is called, so
    XLA computes while the caller runs the candidate and the finite differences."""
    ours = oracles.jax_loss_and_grads_later(spec, params, inputs, targets, checked=True)
    wide = None
    if spec.dtype != np.float64:
        wide = oracles.jax_loss_and_grads_later(
            spec, params, inputs, targets, dtype="float64", checked=True
        )

    def collect() -> JaxValues:
        loss, grads = ours()
        return JaxValues(loss, grads, None if wide is None else wide()[1])

    return collect
