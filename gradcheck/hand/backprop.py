"""Hand-derived backpropagation in NumPy: the thing gradcheck exists to check.

Forward, layer ``l``: ``net_l = kind_l(out_{l-1})`` (dense: ``out_{l-1} @ W_l.T + b_l``) and
``out_l = act_l(net_l)`` (a batch is a row per sample; ``out_0`` is the input). Backward, the
delta rule:

* output layer: ``delta_L = J_act_L^T dE/dout_L`` (``dE/dout_L * act_L'(net_L)`` elementwise),
  or the loss's closed form when it is fused with the output activation (softmax with
  cross-entropy: ``(out_L * sum_k t_k - t) / B``, finite where ``out`` underflows);
* hidden layer: ``delta_l = J_act_l^T (dE/dout_l)`` with ``dE/dout_l = delta_{l+1} @ W_{l+1}``;
* parameter gradients and ``dE/dout_{l-1}`` from each layer's kind (dense: ``delta_l.T @
  out_{l-1}``, the sums and ``delta_l @ W_l``; conv2d, pooling, flatten and the norms in
  :mod:`~gradcheck.hand.conv`, :mod:`~gradcheck.hand.pooling` and :mod:`~gradcheck.hand.norms`),
  from what its forward kept,
  plus ``lambda W`` for each trainable weight group where the spec has ``weight_decay = lambda``
  (``E`` then includes ``lambda/2 sum W^2`` over every weight group, frozen ones too).

Everything is computed in the spec's dtype. The activations, losses and layer kinds are in
:mod:`gradcheck.hand.activations`, :mod:`~gradcheck.hand.losses` and :mod:`~gradcheck.hand.dense`,
each derivative written out there. This package imports neither JAX nor the oracles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.hand import conv, dense, norms, pooling, residual, rnn  # noqa: F401  (registers)
from gradcheck.hand.activations import HAND_ACTIVATIONS
from gradcheck.hand.kinds import HAND_KINDS
from gradcheck.hand.losses import HAND_LOSSES
from gradcheck.spec import Array, Params, Spec

__all__ = [
    "Backward",
    "Forward",
    "backward",
    "decay_value",
    "forward",
    "full_params",
    "hand_grads",
    "loss_value",
]


@dataclass(frozen=True)
class Forward:
    """Every intermediate of a forward pass; index 0 of ``outs`` is the input batch."""

    nets: list[Array]  # nets[l-1] = net of layer l, shape (batch, *shape of layer l)
    outs: list[Array]  # outs[l] = out of layer l; outs[0] = inputs
    caches: list[Any]  # caches[l-1]: what layer l's kind keeps for its backward


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
    """``out_l = act_l(net_l)`` for every layer, keeping each net and out."""
    nets: list[Array] = []
    caches: list[Any] = []
    outs: list[Array] = [np.asarray(inputs, dtype=spec.dtype)]
    for i, layer in enumerate(full_params(spec, params)):
        net, cache = HAND_KINDS[spec.kinds[i]].forward(layer, outs[-1], dict(spec.options[i]))
        nets.append(net)
        caches.append(cache)
        outs.append(HAND_ACTIVATIONS[spec.activations[i]].value(net, spec.slopes[i]))
    return Forward(nets, outs, caches)


def decay_value(spec: Spec, params: Params) -> Array:
    """``lambda/2 sum W^2`` over every layer's decayed groups, trainable and frozen (0-d)."""
    lam = np.asarray(spec.weight_decay, dtype=spec.dtype)
    total = np.zeros((), dtype=spec.dtype)
    for layer, decayed in zip(full_params(spec, params), spec.decayed, strict=True):
        for group in sorted(decayed & set(layer)):
            total = total + np.sum(layer[group] * layer[group])
    return np.asarray(lam / 2 * total, dtype=spec.dtype)


def loss_value(spec: Spec, params: Params, inputs: Array, targets: Array) -> float:
    """The spec's loss E for the whole batch (from ``net`` where the loss is fused with the
    output activation: cross-entropy from log_softmax), plus :func:`decay_value` where the spec
    has a weight decay."""
    fwd = forward(spec, params, inputs)
    t = np.asarray(targets, dtype=spec.dtype)
    loss = HAND_LOSSES[spec.loss]
    if loss.fused_value is not None and loss.fused == spec.activations[-1]:
        value = loss.fused_value(fwd.nets[-1], t)
    else:
        value = loss.value(fwd.outs[-1], t)
    if spec.weight_decay:
        value = value + decay_value(spec, params)
    return float(value)


def backward(spec: Spec, params: Params, fwd: Forward, targets: Array) -> Backward:
    """The delta rule from the output layer down, gradients for trainable groups only."""
    layers = full_params(spec, params)
    n = len(layers)
    dloss_dout: list[Array] = [np.empty(0)] * n
    dout_dnet: list[Array] = [np.empty(0)] * n
    deltas: list[Array] = [np.empty(0)] * n
    grads: Params = [{} for _ in range(n)]
    t = np.asarray(targets, dtype=spec.dtype)
    loss = HAND_LOSSES[spec.loss]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # -t/(B out): shown only
        upstream = loss.gradient(fwd.outs[-1], t)
    for i in reversed(range(n)):
        activation, slope = HAND_ACTIVATIONS[spec.activations[i]], spec.slopes[i]
        net, out = fwd.nets[i], fwd.outs[i + 1]
        dloss_dout[i] = upstream
        dout_dnet[i] = activation.derivative(net, out, slope)
        if i == n - 1 and loss.fused_delta is not None and loss.fused == spec.activations[i]:
            deltas[i] = loss.fused_delta(out, t)
        else:
            deltas[i] = activation.backward(upstream, net, out, slope)
        kind = HAND_KINDS[spec.kinds[i]]
        upstream, grads[i] = kind.backward(
            deltas[i], fwd.caches[i], layers[i], frozenset(params[i])
        )
        for group in spec.decayed[i] & set(grads[i]) if spec.weight_decay else ():
            # d/dW of lambda/2 W^2, in the spec's dtype
            grads[i][group] = (
                grads[i][group] + spec.dtype.type(spec.weight_decay) * layers[i][group]
            )
    return Backward(dloss_dout, dout_dnet, deltas, grads)


def hand_grads(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """dE/dparams by the hand-derived delta rule, shaped like ``params``."""
    return backward(spec, params, forward(spec, params, inputs), targets).grads
