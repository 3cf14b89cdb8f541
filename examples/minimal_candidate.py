"""A minimal candidate: backprop by hand in NumPy for every network gradcheck can describe.

It meets the contract ``gradcheck contract`` prints for dense networks (any other kind it reports
unsupported): dense layers of any depth, every activation
(softmax under any loss), every loss, a shared, per-neuron or no bias, frozen groups, weight
decay. Check it with::

    gradcheck verify --examples 20 --candidate examples/minimal_candidate.py:grads
"""

from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))  # 1 / (1 + e^-z), without overflow


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))  # per sample (row), shifted by its max
    return e / e.sum(axis=1, keepdims=True)


# name: (out = act(z), the backward step g -> g * act'(z), given z, out and the leaky slope)
ACTIVATIONS = {
    "identity": (lambda z, s: z, lambda g, z, o, s: g),
    "sigmoid": (lambda z, s: _sigmoid(z), lambda g, z, o, s: g * o * (1 - o)),
    "tanh": (lambda z, s: np.tanh(z), lambda g, z, o, s: g * (1 - o * o)),
    "relu": (lambda z, s: np.maximum(z, 0), lambda g, z, o, s: g * (z > 0)),
    "leaky_relu": (
        lambda z, s: np.where(z > 0, z, s * z),
        lambda g, z, o, s: g * np.where(z > 0, 1, s),
    ),
    "softplus": (lambda z, s: np.logaddexp(0.0, z), lambda g, z, o, s: g * _sigmoid(z)),
    "elu": (
        lambda z, s: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
        lambda g, z, o, s: g * np.where(z > 0, 1, np.exp(np.minimum(z, 0))),
    ),
    # softmax's Jacobian J = diag(o) - o o^T is not diagonal: J^T g = o * (g - sum_k g_k o_k)
    "softmax": (
        lambda z, s: _softmax(z),
        lambda g, z, o, s: o * (g - (g * o).sum(1, keepdims=True)),
    ),
}


def grads(spec, params, inputs, targets):
    """dE/dparams by the delta rule, shaped like ``params``, in the spec's dtype."""
    if not spec.is_dense:  # reported unsupported, never failed (gradcheck.Unsupported is one)
        raise NotImplementedError(f"dense layers only (got kinds {spec.kinds})")
    layers = [{**f, **p} for p, f in zip(params, spec.frozen_params(), strict=True)]  # + frozen
    outs, nets = [np.asarray(inputs, spec.dtype)], []  # one row per sample
    for layer, act, slope in zip(layers, spec.activations, spec.slopes, strict=True):
        nets.append(outs[-1] @ layer["W"].T + layer.get("b", 0))  # (batch, n_out)
        outs.append(ACTIVATIONS[act][0](nets[-1], slope))
    o, t = outs[-1], np.asarray(targets, spec.dtype)
    if spec.loss == "softmax_cross_entropy":  # dE/dnet through the softmax in one step
        delta = (o * t.sum(axis=1, keepdims=True) - t) / len(t)
    elif spec.loss == "binary_cross_entropy":  # dE/dnet through the sigmoid in one step
        delta = (o - t) / len(t)
    elif spec.loss == "svm":  # identity output: dE/ds, with s_j - s_y + 1 > 0 counted per j != y
        active = (1 - t) * (o - (o * t).sum(axis=1, keepdims=True) + 1 > 0)
        delta = (active - t * active.sum(axis=1, keepdims=True)) / len(t)
    else:  # dE/do of half_sse, sse or mse, then back through the output activation
        g = {"half_sse": 1.0, "sse": 2.0, "mse": 2.0 / o.size}[spec.loss] * (o - t)
        delta = ACTIVATIONS[spec.activations[-1]][1](g, nets[-1], o, spec.slopes[-1])
    result = []
    for i in reversed(range(len(layers))):  # delta is dE/dnet of params[i]'s layer
        grad = {}
        if "W" in params[i]:  # + lambda W for weight decay (spec.decayed[i] is {"W"})
            grad["W"] = delta.T @ outs[i] + spec.weight_decay * layers[i]["W"]
        if "b" in params[i]:  # a shared bias (0-d) sums over its neurons too
            grad["b"] = delta.sum(axis=0) if params[i]["b"].ndim else delta.sum()
        result.insert(0, {k: np.asarray(a, spec.dtype) for k, a in grad.items()})
        if i > 0:
            act, slope = spec.activations[i - 1], spec.slopes[i - 1]
            delta = ACTIVATIONS[act][1](delta @ layers[i]["W"], nets[i - 1], outs[i], slope)
    return result
