"""The ``dense`` layer kind, derived by hand: ``net = x @ W.T + b``, ``out = act(net)``.

Backward, given ``delta = dE/dnet`` (batch, n_out): ``dE/dW = delta.T @ x``, ``dE/db = sum over
samples of delta`` (also over the layer's neurons for one shared bias), ``dE/dx = delta @ W``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradcheck.layers import Registry
from gradcheck.spec import Array

__all__ = ["HAND_KINDS", "HandKind"]

Groups = dict[str, Array]


@dataclass(frozen=True)
class HandKind:
    """``net(layer, x)``; ``param_grads(delta, x, layer, wanted)`` for the groups in ``wanted``;
    ``input_grad(delta, layer)`` is ``dE/dx``."""

    net: Callable[[Groups, Array], Array]
    param_grads: Callable[[Array, Array, Groups, frozenset[str]], Groups]
    input_grad: Callable[[Array, Groups], Array]


HAND_KINDS: Registry[HandKind] = Registry("hand-derived NumPy", "layer kind")


def _net(layer: Groups, x: Array) -> Array:
    net = x @ layer["W"].T
    return net + layer["b"] if "b" in layer else net


def _param_grads(delta: Array, x: Array, layer: Groups, wanted: frozenset[str]) -> Groups:
    grads: Groups = {}
    if "W" in wanted:
        grads["W"] = delta.T @ x
    if "b" in wanted:
        per_neuron: Array = delta.sum(axis=0)
        grads["b"] = np.asarray(per_neuron.sum()) if layer["b"].ndim == 0 else per_neuron
    return grads


def _input_grad(delta: Array, layer: Groups) -> Array:
    result: Array = delta @ layer["W"]
    return result


HAND_KINDS.add("dense", HandKind(_net, _param_grads, _input_grad))
