"""The error model's layer kinds: the backward pass of each kind on absolute values.

``backward(|delta|, A_in, |groups|, options, wanted) -> (|dE/dx| terms, m per group)``: the
magnitude of the terms each gradient entry sums (dense: ``m_W = |delta|.T @ A``, ``m_b = sum
|delta|``, ``|delta| @ |W|`` passed down; conv2d the same sums over windows; max pooling passes
``|delta|`` to the largest inputs of each window (every one of a tie), average pooling
``|delta| / (kh kw)`` to each input; dropout ``|delta| / (1 - rate)`` to its kept inputs;
flatten reshapes; rnn backpropagates through time, :func:`_rnn`). Registered apart from the
hand-derived side, over the finite-difference oracle's float64 values.
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


def _dense(
    delta: np.ndarray,
    a: np.ndarray,
    layer: Groups,
    options: Mapping[str, Any],
    wanted: frozenset[str],
) -> tuple[np.ndarray, Groups]:
    grads: Groups = {}
    if "W" in wanted:
        grads["W"] = delta.T @ a
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
    patches = windows(a, w.shape[2:], (s, s), p)
    patches = patches[:, :, : delta.shape[2], : delta.shape[3]]
    grads: Groups = {}
    if "W" in wanted:
        grads["W"] = np.tensordot(delta, patches, axes=([0, 2, 3], [0, 2, 3]))
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
    view = windows(a, options["kernel"], (sh, sw))
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


def _rnn(
    delta: np.ndarray,
    a: np.ndarray,
    layer: Groups,
    options: Mapping[str, Any],
    wanted: frozenset[str],
) -> tuple[np.ndarray, Groups]:
    """Backprop through time on magnitudes: ``|dh_t| = |g_t| + |da_{t+1}| |Whh|``, ``|da_t| =
    |dh_t| (1 + s_t^2)`` (the terms of ``1 - h_t^2``), with ``s_t = tanh(|W| A + |Whh| s_{t-1}
    + |b|) >= |h_t|`` the states' bound from the input magnitudes ``A``."""
    wxh, whh = layer["Wxh"], layer["Whh"]
    bound = np.zeros((a.shape[0], whh.shape[0]))
    states = []
    for t in range(a.shape[1]):
        bound = np.tanh(a[:, t] @ wxh.T + bound @ whh.T + layer.get("b", 0.0))
        states.append(bound)
    s = np.stack(states, axis=1)
    g = delta if options["all_states"] else np.zeros_like(s)
    if not options["all_states"]:
        g[:, -1] = delta
    da, later = np.zeros_like(s), np.zeros_like(s[:, 0])
    for t in reversed(range(s.shape[1])):
        da[:, t] = (g[:, t] + later) * (1.0 + s[:, t] ** 2)
        later = da[:, t] @ whh
    before = np.concatenate([np.zeros_like(s[:, :1]), s[:, :-1]], axis=1)
    grads: Groups = {}
    if "Wxh" in wanted:
        grads["Wxh"] = np.einsum("ntu,nti->ui", da, a)
    if "Whh" in wanted:
        grads["Whh"] = np.einsum("ntu,ntv->uv", da, before)
    if "b" in wanted:
        grads["b"] = _bias(da.sum(axis=(0, 1)), layer["b"])
    return da @ wxh, grads


ERROR_KINDS.add("dense", _dense)
ERROR_KINDS.add("rnn", _rnn)
ERROR_KINDS.add("dropout", _dropout)
ERROR_KINDS.add("conv2d", _conv)
ERROR_KINDS.add("max_pool2d", _max_pool)
ERROR_KINDS.add("avg_pool2d", _avg_pool)
ERROR_KINDS.add("flatten", lambda delta, a, layer, options, wanted: (delta.reshape(a.shape), {}))
