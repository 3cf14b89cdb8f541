"""Hand-derived backpropagation in NumPy: the thing gradcheck exists to check.

Forward, layer ``l``: ``net_l = out_{l-1} @ W_l.T + b_l`` and ``out_l = act_l(net_l)``
(a batch is a row per sample; ``out_0`` is the input). Backward, the delta rule:

* output layer: ``delta_L = dE/dout_L * act_L'(net_L)``;
* hidden layer: ``delta_l = (delta_{l+1} @ W_{l+1}) * act_l'(net_l)``;
* ``dE/dW_l = delta_l.T @ out_{l-1}``, ``dE/db_l = sum over samples of delta_l``, also summed
  over the layer's neurons when the bias is one shared scalar.

With softmax outputs and ``softmax_cross_entropy`` the output delta is written directly as
``delta_L = (out_L * sum_k t_k - t) / B``, the closed form of softmax's Jacobian applied to
``dE/dout = -t / (B out)``; it stays finite where ``out`` underflows to 0. The loss itself is
then computed from ``log_softmax(net_L)`` rather than ``log(out_L)`` for the same reason.

Everything is computed in the spec's dtype (float32 specs stay float32 end to end). Every
derivative below is written out by hand. This module imports NumPy only, so the JAX oracle
cannot share a bug with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.spec import Array, GradcheckError, GradientFn, Params, Spec

__all__ = [
    "ACTIVATION_TABLE",
    "LOSS_TABLE",
    "Backward",
    "Forward",
    "backward",
    "forward",
    "full_params",
    "hand_grads",
    "loss_value",
    "sgd_step",
    "train_numpy",
]

# name -> (f(net, slope), f'(net, out, slope)); the derivative may use out to save work,
# as the documents do with sigmoid' = out (1 - out).
Activation = tuple[Callable[[Array, float], Array], Callable[[Array, Array, float], Array]]


def _sigmoid(z: Array, _s: float) -> Array:
    # Split by sign so exp never overflows: 1/(1+e^-z) for z>=0, e^z/(1+e^z) otherwise.
    e = np.exp(-np.abs(z))
    out: Array = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def _softplus(z: Array, _s: float) -> Array:
    return np.logaddexp(0.0, z)


def _softmax(z: Array, _s: float) -> Array:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    out: Array = e / e.sum(axis=-1, keepdims=True)
    return out


def _log_softmax(z: Array) -> Array:
    """``log softmax(z) = z - max z - log sum exp(z - max z)``, finite for any finite z."""
    shifted = z - z.max(axis=-1, keepdims=True)
    out: Array = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return out


ACTIVATION_TABLE: dict[str, Activation] = {
    "identity": (lambda z, s: z, lambda z, o, s: np.ones_like(z)),
    "sigmoid": (_sigmoid, lambda z, o, s: o * (1.0 - o)),
    "tanh": (lambda z, s: np.tanh(z), lambda z, o, s: 1.0 - o * o),
    # relu'(0) and leaky_relu'(0) are taken as the left derivative (0 and slope).
    "relu": (lambda z, s: np.maximum(z, 0.0), lambda z, o, s: (z > 0).astype(z.dtype)),
    "leaky_relu": (
        lambda z, s: np.where(z > 0, z, s * z),
        lambda z, o, s: np.where(z > 0, 1.0, s).astype(z.dtype),
    ),
    "softplus": (_softplus, lambda z, o, s: _sigmoid(z, s)),
    # Softmax's Jacobian is not diagonal; this is only its diagonal, out_j (1 - out_j), kept for
    # display. backward() applies the full Jacobian-vector product instead.
    "softmax": (_softmax, lambda z, o, s: o * (1.0 - o)),
}

# name -> (E(out, target), dE/dout(out, target)) for a batch
Loss = tuple[Callable[[Array, Array], Array], Callable[[Array, Array], Array]]

LOSS_TABLE: dict[str, Loss] = {
    # E = 1/2 sum (t - o)^2 over samples and outputs, as both seed documents define it.
    "half_sse": (lambda o, t: np.asarray(0.5 * np.sum((t - o) ** 2)), lambda o, t: o - t),
    # E = mean (o - t)^2 over samples and outputs.
    "mse": (lambda o, t: np.asarray(np.mean((o - t) ** 2)), lambda o, t: 2.0 * (o - t) / o.size),
    # E = -(1/B) sum t log o, o = softmax(net); dE/do = -t / (B o). loss_value and backward
    # use the stable forms from net instead (see the module docstring).
    "softmax_cross_entropy": (
        lambda o, t: np.asarray(-np.sum(t * np.log(o)) / o.shape[0]),
        lambda o, t: -t / (o * o.shape[0]),
    ),
}


@dataclass(frozen=True)
class Forward:
    """Every intermediate of a forward pass; index 0 of ``outs`` is the input batch."""

    nets: list[Array]  # nets[l-1] = net of layer l, shape (batch, n_l)
    outs: list[Array]  # outs[l] = out of layer l; outs[0] = inputs


@dataclass(frozen=True)
class Backward:
    """Every intermediate of a backward pass, per layer (index l-1 for layer l)."""

    dloss_dout: list[Array]  # dE/dout_l
    dout_dnet: list[Array]  # act_l'(net_l), elementwise (softmax: diagonal only)
    deltas: list[Array]  # dE/dnet_l
    grads: Params  # shaped like the trainable params


def full_params(spec: Spec, params: Params) -> Params:
    """Trainable groups merged with the spec's frozen ones, all in the spec's dtype: every layer
    has W (and b if it has a bias)."""
    frozen = spec.frozen_params()
    return [
        {k: np.asarray(a, dtype=spec.dtype) for k, a in {**f, **p}.items()}
        for p, f in zip(params, frozen, strict=True)
    ]


def forward(spec: Spec, params: Params, inputs: Array) -> Forward:
    """``out_l = act_l(out_{l-1} @ W_l.T + b_l)`` for every layer, keeping each net and out."""
    layers = full_params(spec, params)
    nets: list[Array] = []
    outs: list[Array] = [np.asarray(inputs, dtype=spec.dtype)]
    for layer, act, slope in zip(layers, spec.activations, spec.slopes, strict=True):
        net = outs[-1] @ layer["W"].T
        if "b" in layer:
            net = net + layer["b"]
        nets.append(net)
        outs.append(ACTIVATION_TABLE[act][0](net, slope))
    return Forward(nets, outs)


def loss_value(spec: Spec, params: Params, inputs: Array, targets: Array) -> float:
    """The spec's loss E(out_L, targets) for the whole batch (cross-entropy from log_softmax)."""
    fwd = forward(spec, params, inputs)
    t = np.asarray(targets, dtype=spec.dtype)
    if spec.loss == "softmax_cross_entropy":
        return float(-np.sum(t * _log_softmax(fwd.nets[-1])) / t.shape[0])
    return float(LOSS_TABLE[spec.loss][0](fwd.outs[-1], t))


def backward(spec: Spec, params: Params, fwd: Forward, targets: Array) -> Backward:
    """The delta rule from the output layer down, gradients for trainable groups only."""
    layers = full_params(spec, params)
    n = len(layers)
    dloss_dout: list[Array] = [np.empty(0)] * n
    dout_dnet: list[Array] = [np.empty(0)] * n
    deltas: list[Array] = [np.empty(0)] * n
    grads: Params = [{} for _ in range(n)]
    t = np.asarray(targets, dtype=spec.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):  # -t/(B out) may be inf; shown only
        upstream = LOSS_TABLE[spec.loss][1](fwd.outs[-1], t)
    for i in reversed(range(n)):
        act, slope = spec.activations[i], spec.slopes[i]
        net, out = fwd.nets[i], fwd.outs[i + 1]
        dloss_dout[i] = upstream
        dout_dnet[i] = ACTIVATION_TABLE[act][1](net, out, slope)
        if act == "softmax" and spec.loss == "softmax_cross_entropy":
            # J^T (-t / (B out)) simplified by hand: (out * sum_k t_k - t) / B.
            deltas[i] = (out * t.sum(axis=-1, keepdims=True) - t) / t.shape[0]
        elif act == "softmax":
            # J^T g for softmax: out * (g - sum_k g_k out_k), per sample.
            deltas[i] = out * (upstream - np.sum(upstream * out, axis=-1, keepdims=True))
        else:
            deltas[i] = upstream * dout_dnet[i]
        if "W" in params[i]:
            grads[i]["W"] = deltas[i].T @ fwd.outs[i]
        if "b" in params[i]:
            grads[i]["b"] = _bias_grad(deltas[i], layers[i]["b"])
        if i > 0:
            upstream = deltas[i] @ layers[i]["W"]
    return Backward(dloss_dout, dout_dnet, deltas, grads)


def _bias_grad(delta: Array, b: Array) -> Array:
    """Per-neuron bias: sum over samples. Shared bias: also sum over the layer's neurons."""
    per_neuron: Array = delta.sum(axis=0)
    return np.asarray(per_neuron.sum()) if b.ndim == 0 else per_neuron


def hand_grads(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """dE/dparams by the hand-derived delta rule, shaped like ``params``."""
    return backward(spec, params, forward(spec, params, inputs), targets).grads


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
