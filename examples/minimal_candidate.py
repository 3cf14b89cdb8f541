"""A minimal candidate: backprop by hand in NumPy for dense networks and residual blocks.

It meets the contract ``gradcheck contract`` prints: dense layers of any depth and residual
blocks of dense layers (``act(x + F(x))``, the block's groups named ``"j.W"``, ``"j.b"``), every
activation (softmax under any loss), every loss, a shared, per-neuron or no bias, frozen groups,
weight decay. Other kinds raise NotImplementedError, which ``verify`` reports as unsupported.
Check it with::

    gradcheck verify --kinds dense,residual --candidate examples/minimal_candidate.py:grads
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


def _inner(layer, options):
    """A block's inner dense layers: (groups without their "j." prefix, activation, slope)."""
    found = []
    for j, (kind, _, act, slope) in enumerate(options["layers"]):
        if kind != "dense":
            raise NotImplementedError(f"minimal candidate: no {kind} layers inside a block")
        groups = {k.split(".", 1)[1]: a for k, a in layer.items() if k.split(".", 1)[0] == str(j)}
        found.append((groups, act, slope))
    return found


def _forward(kind, layer, x, options):
    """(net, what the backward needs): dense x W^T + b, or a residual block's x + F(x)."""
    if kind == "dense":
        return x @ layer["W"].T + layer.get("b", 0), None
    if kind != "residual":
        raise NotImplementedError(f"minimal candidate: no {kind} layers")
    inner, outs, nets = _inner(layer, options), [x], []
    for groups, act, slope in inner:
        nets.append(outs[-1] @ groups["W"].T + groups.get("b", 0))
        outs.append(ACTIVATIONS[act][0](nets[-1], slope))
    return x + outs[-1], (inner, nets, outs)


def _dense_grads(delta, x, groups, trainable):
    """dE/dW = delta^T x, dE/db = the sum of delta (over the neurons too if shared)."""
    grad = {"W": delta.T @ x} if "W" in trainable else {}
    if "b" in trainable:
        grad["b"] = delta.sum(axis=0) if groups["b"].ndim else delta.sum()
    return grad


def _backward(kind, layer, trainable, delta, x, cache):
    """(dE/dx, dE/d each trainable group) from delta = dE/dnet."""
    if kind == "dense":
        return delta @ layer["W"], _dense_grads(delta, x, layer, trainable)
    inner, nets, outs = cache
    grad, g = {}, delta  # g: dE/d(the block's output), which enters x + F(x) once
    for j in reversed(range(len(inner))):
        groups, act, slope = inner[j]
        d = ACTIVATIONS[act][1](g, nets[j], outs[j + 1], slope)
        mine = {k.split(".", 1)[1] for k in trainable if k.split(".", 1)[0] == str(j)}
        grad.update({f"{j}.{k}": a for k, a in _dense_grads(d, outs[j], groups, mine).items()})
        g = d @ groups["W"]
    return delta + g, grad  # the skip passes delta on unchanged


def grads(spec, params, inputs, targets):
    """dE/dparams by the delta rule, shaped like ``params``, in the spec's dtype."""
    layers = [{**f, **p} for p, f in zip(params, spec.frozen_params(), strict=True)]  # + frozen
    outs, nets, caches = [np.asarray(inputs, spec.dtype)], [], []  # one row per sample
    for i, layer in enumerate(layers):
        net, cache = _forward(spec.kinds[i], layer, outs[-1], dict(spec.options[i]))
        nets.append(net)  # (batch, n_out)
        caches.append(cache)
        outs.append(ACTIVATIONS[spec.activations[i]][0](net, spec.slopes[i]))
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
        dx, grad = _backward(spec.kinds[i], layers[i], set(params[i]), delta, outs[i], caches[i])
        for group in spec.decayed[i] & set(grad):  # + lambda W for weight decay
            grad[group] = grad[group] + spec.weight_decay * layers[i][group]
        result.insert(0, {k: np.asarray(a, spec.dtype) for k, a in grad.items()})
        if i > 0:
            act, slope = spec.activations[i - 1], spec.slopes[i - 1]
            delta = ACTIVATIONS[act][1](dx, nets[i - 1], outs[i], slope)
    return result
