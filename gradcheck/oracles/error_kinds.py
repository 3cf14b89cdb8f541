"""The error model's layer kinds: the backward pass of each kind on absolute values.

``backward(|delta|, A_in, |groups|, options, wanted) -> (|dE/dx| terms, m per group)``: the
magnitude of the terms each gradient entry sums (dense: ``m_W = |delta|.T @ A``, ``m_b = sum
|delta|``, ``|delta| @ |W|`` passed down; conv2d the same sums over windows; max pooling passes
``|delta|`` to the inputs of each window largest by value, the input's ``x`` (every one of a
tie; their magnitudes ``A`` rank otherwise where values are negative or normalised), average pooling
``|delta| / (kh kw)`` to each input; dropout ``|delta| / (1 - rate)`` to its kept inputs;
flatten reshapes; rnn backpropagates through time, :func:`_rnn`). Registered apart from the
hand-derived side, over the finite-difference oracle's float64 values.

A group's terms are products of ``delta`` and the layer's input. Where the model carries the size
of ``delta``'s values apart from its terms (option ``delta_values``, ``D``; the input's values are
option ``x``; the network dtype's ``eps``, option ``rounding``: not ``eps``, a norm's own), a
product is taken to first order, each factor's terms times the other's values, the larger of the
two, plus the second order, the two rounding errors multiplied: ``m_W = max(|delta|.T @ |x|, D.T @
A) + eps |delta|.T @ A`` (:func:`_bilinear`; ``|grad|`` where nothing cancels, as before). The
second order is all that is left where both values cancel to nothing (a batch_norm over equal
inputs: ``x_hat`` and the output after it are exactly 0 in one order of summation and rounding
noise in another, and their product, about ``eps^2`` of their terms, was JAX's gradient); without
``D``, ``|delta|.T @ A``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gradcheck.layers import Registry
from gradcheck.layers.dropout import dropout_mask
from gradcheck.oracles.fd_kinds import windows

__all__ = ["ERROR_KINDS"]

Groups = dict[str, np.ndarray]
Backward = Callable[
    [np.ndarray, np.ndarray, Groups, Mapping[str, Any], frozenset[str]], tuple[np.ndarray, Groups]
]
ERROR_KINDS: Registry[Backward] = Registry("error model", "layer kind")


def _bias(per_unit: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(per_unit.sum()) if b.ndim == 0 else per_unit


def _bilinear(
    product: Callable[[np.ndarray, np.ndarray], np.ndarray],
    delta: np.ndarray,
    a: np.ndarray,
    options: Mapping[str, Any],
) -> np.ndarray:
    """``product(|delta|, A)``, or where ``D`` is carried the larger of ``product(|delta|, |x|)``
    and ``product(D, A)``, plus ``eps product(|delta|, A)``."""
    value = options.get("delta_values")
    terms = product(delta, a)
    if value is None:
        return np.asarray(terms)
    first = np.maximum(product(delta, np.abs(options["x"])), product(value, a))
    return np.asarray(first + options["rounding"] * terms)


def _dense(
    delta: np.ndarray,
    a: np.ndarray,
    layer: Groups,
    options: Mapping[str, Any],
    wanted: frozenset[str],
) -> tuple[np.ndarray, Groups]:
    grads: Groups = {}
    if "W" in wanted:
        grads["W"] = _bilinear(lambda d, x: d.T @ x, delta, a, options)
    if "b" in wanted:
        grads["b"] = _bias(delta.sum(axis=0), layer["b"])
    return delta @ layer["W"], grads


def _window_sum(
    share: np.ndarray, shape: tuple[int, ...], stride: tuple[int, int], pad: int = 0
) -> np.ndarray:
    """``share[n, c, i, j, u, v]`` added back at ``x[n, c, sh i + u - pad, sw j + v - pad]``."""
    oh, ow, kh, kw = share.shape[2:]
    sh, sw = stride
    out = np.zeros((shape[0], shape[1], shape[2] + 2 * pad, shape[3] + 2 * pad))
    for u in range(kh):
        for v in range(kw):
            out[:, :, u : u + sh * oh : sh, v : v + sw * ow : sw] += share[..., u, v]
    return out[:, :, pad : pad + shape[2], pad : pad + shape[3]]


def _conv(
    delta: np.ndarray,
    a: np.ndarray,
    layer: Groups,
    options: Mapping[str, Any],
    wanted: frozenset[str],
) -> tuple[np.ndarray, Groups]:
    w = layer["W"]
    p, s = int(options["padding"]), int(options["stride"])

    def summed(d: np.ndarray, x: np.ndarray) -> np.ndarray:
        patches = windows(x, w.shape[2:], (s, s), p)[:, :, : d.shape[2], : d.shape[3]]
        return np.tensordot(d, patches, axes=([0, 2, 3], [0, 2, 3]))

    grads: Groups = {}
    if "W" in wanted:
        grads["W"] = _bilinear(summed, delta, a, options)
    if "b" in wanted:
        grads["b"] = _bias(delta.sum(axis=(0, 2, 3)), layer["b"])
    share = np.moveaxis(np.tensordot(delta, w, axes=([1], [0])), 3, 1)
    return _window_sum(share, a.shape, (s, s), p), grads


def _max_pool(
    delta: np.ndarray,
    a: np.ndarray,
    layer: Groups,
    options: Mapping[str, Any],
    wanted: frozenset[str],
) -> tuple[np.ndarray, Groups]:
    sh, sw = options["stride"]
    view = windows(np.asarray(options["x"]), options["kernel"], (sh, sw))  # by value, not size
    largest = view == view.max(axis=(-2, -1), keepdims=True)
    return _window_sum(np.where(largest, delta[..., None, None], 0.0), a.shape, (sh, sw)), {}


def _avg_pool(
    delta: np.ndarray,
    a: np.ndarray,
    layer: Groups,
    options: Mapping[str, Any],
    wanted: frozenset[str],
) -> tuple[np.ndarray, Groups]:
    kh, kw = options["kernel"]
    share = np.broadcast_to((delta / (kh * kw))[..., None, None], (*delta.shape, kh, kw))
    return _window_sum(np.asarray(share), a.shape, options["stride"]), {}


def _dropout(
    delta: np.ndarray,
    a: np.ndarray,
    layer: Groups,
    options: Mapping[str, Any],
    wanted: frozenset[str],
) -> tuple[np.ndarray, Groups]:
    rate = float(options["rate"])
    return np.where(dropout_mask(int(options["seed"]), rate, a.shape), delta / (1 - rate), 0.0), {}


def _states(a: np.ndarray, layer: Groups) -> np.ndarray:
    """``s_t = tanh(|Wxh| A_t + |Whh| s_{t-1} + |b|) >= |h_t|``, the states' bound from ``A``."""
    bound = np.zeros((a.shape[0], layer["Whh"].shape[0]))
    states = []
    for t in range(a.shape[1]):
        bound = np.tanh(a[:, t] @ layer["Wxh"].T + bound @ layer["Whh"].T + layer.get("b", 0.0))
        states.append(bound)
    return np.stack(states, axis=1)


def _through_time(
    delta: np.ndarray, s: np.ndarray, whh: np.ndarray, all_states: bool
) -> np.ndarray:
    """``|da_t| = (|g_t| + |da_{t+1}| |Whh|) (1 + s_t^2)`` (the terms of ``1 - h_t^2``)."""
    g = delta if all_states else np.zeros_like(s)
    if not all_states:
        g[:, -1] = delta
    da, later = np.zeros_like(s), np.zeros_like(s[:, 0])
    for t in reversed(range(s.shape[1])):
        da[:, t] = (g[:, t] + later) * (1.0 + s[:, t] ** 2)
        later = da[:, t] @ whh
    return da


def _before(s: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros_like(s[:, :1]), s[:, :-1]], axis=1)


def _rnn(
    delta: np.ndarray,
    a: np.ndarray,
    layer: Groups,
    options: Mapping[str, Any],
    wanted: frozenset[str],
) -> tuple[np.ndarray, Groups]:
    """Backprop through time on magnitudes (:func:`_through_time`) over the states' bound
    (:func:`_states`); to first order where ``D`` is carried: ``m_Wxh = sum_t |da_t|.T |x_t|`` or
    da(D)_t.T A_t`` (the larger of the two), ``m_Whh`` the same over the states before,
    bounded from ``|x|`` and from ``A``, plus ``eps`` times the product of
    the two term sizes (:func:`_bilinear`)."""
    s = _states(a, layer)
    da = _through_time(delta, s, layer["Whh"], options["all_states"])
    value = options.get("delta_values")
    grads: Groups = {}
    if value is None:
        pairs = [(da, a, _before(s))]
    else:
        x = np.abs(options["x"])
        da_values = _through_time(value, s, layer["Whh"], options["all_states"])
        pairs = [(da, x, _before(_states(x, layer))), (da_values, a, _before(s))]
    second = 0.0 if value is None else options["rounding"]  # the two rounding errors multiplied
    if "Wxh" in wanted:
        first = np.maximum.reduce([np.einsum("ntu,nti->ui", d, i) for d, i, _ in pairs])
        grads["Wxh"] = first + second * np.einsum("ntu,nti->ui", da, a)
    if "Whh" in wanted:
        first = np.maximum.reduce([np.einsum("ntu,ntv->uv", d, h) for d, _, h in pairs])
        grads["Whh"] = first + second * np.einsum("ntu,ntv->uv", da, _before(s))
    if "b" in wanted:
        grads["b"] = _bias(da.sum(axis=(0, 1)), layer["b"])
    return da @ layer["Wxh"], grads


ERROR_KINDS.add("dense", _dense)
ERROR_KINDS.add("rnn", _rnn)
ERROR_KINDS.add("dropout", _dropout)
ERROR_KINDS.add("conv2d", _conv)
ERROR_KINDS.add("max_pool2d", _max_pool)
ERROR_KINDS.add("avg_pool2d", _avg_pool)
ERROR_KINDS.add("flatten", lambda delta, a, layer, options, wanted: (delta.reshape(a.shape), {}))
