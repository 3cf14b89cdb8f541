"""Hand-derived activations: each one's value and its derivative, side by side, in NumPy.

``value(z, slope)`` is ``out = act(z)``; ``derivative(z, out, slope)`` is ``act'(z)`` elementwise
(it may use ``out``, as the documents do with ``sigmoid' = out (1 - out)``); ``backward(g, z,
out, slope)`` is the vector-Jacobian product ``J_act^T g`` that backprop applies, elementwise
``g * act'`` except where the Jacobian is not diagonal (softmax).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradcheck.layers import Registry
from gradcheck.spec import Array

__all__ = ["HAND_ACTIVATIONS", "HandActivation", "log_softmax", "sigmoid", "softmax"]


@dataclass(frozen=True)
class HandActivation:
    value: Callable[[Array, float], Array]
    derivative: Callable[[Array, Array, float], Array]
    jacobian_product: Callable[[Array, Array, Array, float], Array] | None = None

    def backward(self, g: Array, z: Array, out: Array, slope: float) -> Array:
        """``J^T g``: the upstream gradient through the activation."""
        if self.jacobian_product is not None:
            return self.jacobian_product(g, z, out, slope)
        return g * self.derivative(z, out, slope)


HAND_ACTIVATIONS: Registry[HandActivation] = Registry("hand-derived NumPy", "activation")


def sigmoid(z: Array) -> Array:
    """``1 / (1 + e^-z)``, split by sign so exp never overflows (``e^z / (1 + e^z)`` for z < 0)."""
    e = np.exp(-np.abs(z))
    out: Array = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def softmax(z: Array) -> Array:
    """``e^z_j / sum_k e^z_k`` per sample (row), shifted by the row's max."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    out: Array = e / e.sum(axis=-1, keepdims=True)
    return out


def log_softmax(z: Array) -> Array:
    """``log softmax(z) = z - max z - log sum exp(z - max z)``, finite for any finite z."""
    shifted = z - z.max(axis=-1, keepdims=True)
    out: Array = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return out


def _softmax_jacobian_product(g: Array, z: Array, out: Array, slope: float) -> Array:
    """``J^T g`` with ``J = diag(out) - out out^T``: ``out * (g - sum_k g_k out_k)``, per sample."""
    result: Array = out * (g - np.sum(g * out, axis=-1, keepdims=True))
    return result


HAND_ACTIVATIONS.add("identity", HandActivation(lambda z, s: z, lambda z, o, s: np.ones_like(z)))
HAND_ACTIVATIONS.add(
    "sigmoid", HandActivation(lambda z, s: sigmoid(z), lambda z, o, s: o * (1.0 - o))
)
HAND_ACTIVATIONS.add("tanh", HandActivation(lambda z, s: np.tanh(z), lambda z, o, s: 1.0 - o * o))
# relu'(0) and leaky_relu'(0) are taken as the left derivative (0 and slope).
HAND_ACTIVATIONS.add(
    "relu",
    HandActivation(lambda z, s: np.maximum(z, 0.0), lambda z, o, s: (z > 0).astype(z.dtype)),
)
HAND_ACTIVATIONS.add(
    "leaky_relu",
    HandActivation(
        lambda z, s: np.where(z > 0, z, s * z),
        lambda z, o, s: np.where(z > 0, 1.0, s).astype(z.dtype),
    ),
)
HAND_ACTIVATIONS.add(
    "softplus", HandActivation(lambda z, s: np.logaddexp(0.0, z), lambda z, o, s: sigmoid(z))
)
# elu'(z) = 1 for z > 0, e^z below (continuous at 0: both sides are 1).
HAND_ACTIVATIONS.add(
    "elu",
    HandActivation(
        lambda z, s: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
        lambda z, o, s: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0))).astype(z.dtype),
    ),
)
# Softmax's Jacobian is not diagonal: derivative() is its diagonal out_j (1 - out_j), kept for
# display; backprop applies the full Jacobian-vector product.
HAND_ACTIVATIONS.add(
    "softmax",
    HandActivation(
        lambda z, s: softmax(z), lambda z, o, s: o * (1.0 - o), _softmax_jacobian_product
    ),
)
