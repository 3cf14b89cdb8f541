"""The JAX oracle for networks of any declared kinds, compiled at their exact shapes.

``E`` is the spec's loss of ``out_l = act_l(kind_l(groups_l, out_{l-1}, options_l))`` with each
kind's forward from :mod:`gradcheck.oracles.jax_network`; ``jax.value_and_grad`` differentiates it
with respect to the trainable groups. One compiled program per network structure (kinds,
activations, slopes, options, loss) and array shapes, cached by ``jit``; x64 is switched on
locally, never globally.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck.oracles.jax_network import JAX_ACTIVATIONS, JAX_KINDS, JAX_LOSSES
from gradcheck.spec import Array, Params, Spec

__all__ = ["Structure", "exact_loss_and_grads", "structure_of"]

Structure = tuple[
    tuple[str, ...], tuple[str, ...], tuple[float, ...], tuple[Any, ...], str
]  # kinds, activations, slopes, options, loss: hashable, a static argument of the program


def structure_of(spec: Spec) -> Structure:
    return (spec.kinds, spec.activations, spec.slopes, spec.options, spec.loss)


def _loss(params: Any, frozen: Any, x: Any, t: Any, structure: Structure) -> Any:
    """``E`` of the network (every unit and sample real: no padding, no masks)."""
    kinds, activations, slopes, options, loss = structure
    out = net = x
    for i, kind in enumerate(kinds):
        net = JAX_KINDS[kind]({**frozen[i], **params[i]}, out, dict(options[i]))
        out = JAX_ACTIVATIONS[activations[i]](net, slopes[i], True)
    every = jnp.ones(net.shape[-1], dtype=bool)
    return JAX_LOSSES[loss](net, out, t, 1.0, every, float(net.size))


_LOSS_AND_GRAD = jax.jit(jax.value_and_grad(_loss), static_argnums=4)


def exact_loss_and_grads(
    spec: Spec, params: Params, inputs: Array, targets: Array, run: np.dtype[Any]
) -> tuple[float, Params]:
    """``(E, dE/dparams)`` computed in ``run`` (the arguments already checked)."""

    def cast(tree: Params) -> Params:
        return [{k: np.asarray(a, dtype=run) for k, a in g.items()} for g in tree]

    x, t = np.asarray(inputs, dtype=run), np.asarray(targets, dtype=run)
    with jax.enable_x64(True):
        loss, grads = _LOSS_AND_GRAD(
            cast(params), cast(spec.frozen_params()), x, t, structure_of(spec)
        )
        out = [{k: np.array(a, dtype=run) for k, a in g.items()} for g in grads]
        return float(loss), out
