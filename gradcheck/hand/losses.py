"""Hand-derived losses: each one's value and ``dE/dout``, side by side, in NumPy.

``value(out, t)`` is ``E`` for the batch and ``gradient(out, t)`` is ``dE/dout``. ``fused`` names
an output activation for which the loss is also written from the pre-activation ``net``:
``fused_value(net, t)`` (stable where ``out`` underflows) and ``fused_delta(out, t) = dE/dnet``
in closed form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradcheck.hand.activations import log_softmax
from gradcheck.layers import Registry
from gradcheck.spec import Array

__all__ = ["HAND_LOSSES", "HandLoss"]


@dataclass(frozen=True)
class HandLoss:
    value: Callable[[Array, Array], Array]
    gradient: Callable[[Array, Array], Array]
    fused: str | None = None
    fused_value: Callable[[Array, Array], Array] | None = None
    fused_delta: Callable[[Array, Array], Array] | None = None


HAND_LOSSES: Registry[HandLoss] = Registry("hand-derived NumPy", "loss")

# E = 1/2 sum (t - o)^2 over samples and outputs, as both seed documents define it.
HAND_LOSSES.add(
    "half_sse",
    HandLoss(lambda o, t: np.asarray(0.5 * np.sum((t - o) ** 2)), lambda o, t: o - t),
)
# E = sum (o - t)^2 over samples and outputs (no 1/2), dE/do = 2 (o - t).
HAND_LOSSES.add(
    "sse",
    HandLoss(lambda o, t: np.asarray(np.sum((o - t) ** 2)), lambda o, t: 2.0 * (o - t)),
)
# E = mean (o - t)^2 over samples and outputs.
HAND_LOSSES.add(
    "mse",
    HandLoss(lambda o, t: np.asarray(np.mean((o - t) ** 2)), lambda o, t: 2.0 * (o - t) / o.size),
)
# E = -(1/B) sum t log o, dE/do = -t / (B o). With o = softmax(net) E is computed from
# log_softmax(net), finite where o underflows, and J_softmax^T dE/do simplifies by hand to
# delta = (o * sum_k t_k - t) / B, finite everywhere.
HAND_LOSSES.add(
    "softmax_cross_entropy",
    HandLoss(
        lambda o, t: np.asarray(-np.sum(t * np.log(o)) / o.shape[0]),
        lambda o, t: -t / (o * o.shape[0]),
        fused="softmax",
        fused_value=lambda net, t: np.asarray(-np.sum(t * log_softmax(net)) / t.shape[0]),
        fused_delta=lambda o, t: (o * t.sum(axis=-1, keepdims=True) - t) / t.shape[0],
    ),
)
# E = -(1/B) sum [t log o + (1 - t) log(1 - o)], dE/do = (o - t) / (B o (1 - o)). With
# o = sigmoid(net), log o = -softplus(-net) and log(1 - o) = -softplus(net), so E is computed as
# (1/B) sum [softplus(net) - t net], finite for any net; sigmoid' = o (1 - o) cancels by hand in
# J_sigmoid^T dE/do: delta = (o - t) / B, finite everywhere.
HAND_LOSSES.add(
    "binary_cross_entropy",
    HandLoss(
        lambda o, t: np.asarray(-np.sum(t * np.log(o) + (1.0 - t) * np.log1p(-o)) / o.shape[0]),
        lambda o, t: (o - t) / (o * (1.0 - o) * o.shape[0]),
        fused="sigmoid",
        fused_value=lambda net, t: np.asarray(
            np.sum(np.logaddexp(0.0, net) - t * net) / t.shape[0]
        ),
        fused_delta=lambda o, t: (o - t) / t.shape[0],
    ),
)


def _svm_margins(o: Array, t: Array) -> Array:
    """``m_j = s_j - s_y + 1`` per sample and class (``s = o``, ``y`` where ``t`` is 1)."""
    s_y = np.sum(o * t, axis=-1, keepdims=True)
    margins: Array = o - s_y + 1.0
    return margins


def _svm_value(o: Array, t: Array) -> Array:
    """``E = (1/B) sum_samples sum_{j != y} max(0, m_j)`` (the true class's ``m_y = 1`` is left
    out by ``1 - t``)."""
    return np.asarray(np.sum((1.0 - t) * np.maximum(_svm_margins(o, t), 0.0)) / o.shape[0])


def _svm_gradient(o: Array, t: Array) -> Array:
    """``dE/ds_j = [m_j > 0] / B`` for ``j != y`` (0 at ``m_j = 0``: the left derivative),
    ``dE/ds_y = -(number of j != y with m_j > 0) / B``."""
    active = (1.0 - t) * (_svm_margins(o, t) > 0.0)
    count = active.sum(axis=-1, keepdims=True)
    gradient: Array = (active - t * count) / o.shape[0]
    return gradient


# Multiclass hinge on raw scores (identity output, one-hot targets).
HAND_LOSSES.add("svm", HandLoss(_svm_value, _svm_gradient))
