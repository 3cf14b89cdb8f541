"""The ``dense`` layer kind, derived by hand: ``net = x @ W.T + b``, ``out = act(net)``.

Backward, given ``delta = dE/dnet`` (batch, n_out): ``dE/dW = delta.T @ x``, ``dE/db = sum over
samples of delta`` (also over the layer's neurons for one shared bias), ``dE/dx = delta @ W``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.hand.kinds import HAND_KINDS, Groups, HandKind, Options
from gradcheck.spec import Array

__all__ = ["HAND_KINDS", "HandKind"]


def _forward(layer: Groups, x: Array, options: Options) -> tuple[Array, Any]:
    net = x @ layer["W"].T
    return (net + layer["b"] if "b" in layer else net), x


def _backward(delta: Array, x: Any, layer: Groups, wanted: frozenset[str]) -> tuple[Array, Groups]:
    grads: Groups = {}
    if "W" in wanted:
        grads["W"] = delta.T @ x
    if "b" in wanted:
        per_neuron: Array = delta.sum(axis=0)
        grads["b"] = np.asarray(per_neuron.sum()) if layer["b"].ndim == 0 else per_neuron
    dx: Array = delta @ layer["W"]
    return dx, grads


HAND_KINDS.add("dense", HandKind(_forward, _backward))
