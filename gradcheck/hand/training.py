"""Training with the hand-derived gradients: plain full-batch SGD, one NumPy step at a time."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.hand.backprop import hand_grads, loss_value
from gradcheck.spec import Array, GradcheckError, GradientFn, Params, Spec

__all__ = ["sgd_step", "train_numpy"]


def sgd_step(params: Params, grads: Params, learning_rate: float) -> Params:
    """``p <- p - lr * dE/dp`` for every trainable group (frozen ones are not in params)."""
    return [
        {k: (p[k] - learning_rate * g[k]).astype(p[k].dtype) for k in p}
        for p, g in zip(params, grads, strict=True)
    ]


def train_numpy(
    spec: Spec,
    steps: int,
    params: Params | None = None,
    grad_fn: GradientFn = hand_grads,
    record_every: int = 1,
) -> tuple[Params, Array]:
    """``steps`` full-batch SGD steps from ``params`` (default: the spec's); returns the final
    params and the loss before each recorded step (every ``record_every`` steps)."""
    if steps < 0:
        raise GradcheckError(f"train: steps must be >= 0 (got {steps})")
    if record_every < 1:
        raise GradcheckError(f"train: record_every must be >= 1 (got {record_every})")
    p = spec.initial_params() if params is None else params
    x, t = spec.inputs(), spec.targets()
    lr = spec.learning_rate
    losses: list[Any] = []
    for step in range(steps):
        if step % record_every == 0:
            losses.append(loss_value(spec, p, x, t))
        p = sgd_step(p, grad_fn(spec, p, x, t), lr)
    return p, np.asarray(losses, dtype=spec.dtype)
