"""The parameter-free kinds, derived by hand: ``max_pool2d``, ``avg_pool2d``, ``flatten``,
``dropout``.

* max pool: ``out = max`` of each window; ``dE/dx`` is ``delta`` at the window's (first) largest
  input and 0 at every other input of the window (summed where windows overlap);
* avg pool: ``out = (1 / (kh kw)) sum`` of each window; every input of a window gets
  ``delta / (kh kw)`` (summed where windows overlap);
* flatten: a reshape, so ``dE/dx`` is ``delta`` reshaped back;
* dropout: ``out = x * mask / (1 - rate)``, so ``dE/dx = delta * mask / (1 - rate)``: a dropped
  input gets nothing, a kept one its delta scaled up as its value was.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.hand.kinds import HAND_KINDS, Groups, HandKind, Options
from gradcheck.layers.dropout import dropout_mask
from gradcheck.spec import Array

__all__ = ["windows"]


def windows(x: Array, kernel: tuple[int, int], stride: tuple[int, int]) -> Array:
    """``win[n, c, i, j, u, v] = x[n, c, sh i + u, sw j + v]``."""
    (kh, kw), (sh, sw) = kernel, stride
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    win = np.empty((*x.shape[:2], oh, ow, kh, kw), dtype=x.dtype)
    for u in range(kh):
        for v in range(kw):
            win[..., u, v] = x[:, :, u : u + sh * oh : sh, v : v + sw * ow : sw]
    return win


def _spread(share: Array, shape: tuple[int, ...], stride: tuple[int, int]) -> Array:
    """Add ``share[n, c, i, j, u, v]`` back to ``x[n, c, sh i + u, sw j + v]``."""
    oh, ow, kh, kw = share.shape[2:]
    sh, sw = stride
    dx = np.zeros(shape, dtype=share.dtype)
    for u in range(kh):
        for v in range(kw):
            dx[:, :, u : u + sh * oh : sh, v : v + sw * ow : sw] += share[..., u, v]
    return dx


def _max_forward(layer: Groups, x: Array, options: Options) -> tuple[Array, Any]:
    win = windows(x, options["kernel"], options["stride"])
    flat = win.reshape(*win.shape[:4], -1)
    first = flat.argmax(axis=-1)  # ties: the first largest input takes the gradient
    picked = np.zeros(flat.shape, dtype=bool)
    np.put_along_axis(picked, first[..., None], True, axis=-1)
    net: Array = flat.max(axis=-1)
    return net, (picked.reshape(win.shape), x.shape, options["stride"])


def _max_backward(
    delta: Array, cache: Any, layer: Groups, wanted: frozenset[str]
) -> tuple[Array, Groups]:
    picked, shape, stride = cache
    return _spread(np.where(picked, delta[..., None, None], 0.0), shape, stride), {}


def _avg_forward(layer: Groups, x: Array, options: Options) -> tuple[Array, Any]:
    kh, kw = options["kernel"]
    win = windows(x, (kh, kw), options["stride"])
    net: Array = win.sum(axis=(-2, -1)) / (kh * kw)
    return net, (x.shape, (kh, kw), options["stride"])


def _avg_backward(
    delta: Array, cache: Any, layer: Groups, wanted: frozenset[str]
) -> tuple[Array, Groups]:
    shape, (kh, kw), stride = cache
    share = np.broadcast_to((delta / (kh * kw))[..., None, None], (*delta.shape, kh, kw))
    return _spread(np.ascontiguousarray(share), shape, stride), {}


def _flatten_forward(layer: Groups, x: Array, options: Options) -> tuple[Array, Any]:
    return x.reshape(x.shape[0], -1), x.shape


def _flatten_backward(
    delta: Array, shape: Any, layer: Groups, wanted: frozenset[str]
) -> tuple[Array, Groups]:
    return delta.reshape(shape), {}


def _dropout_forward(layer: Groups, x: Array, options: Options) -> tuple[Array, Any]:
    rate = float(options["rate"])
    scale = dropout_mask(int(options["seed"]), rate, x.shape) / (1.0 - rate)
    net: Array = x * scale.astype(x.dtype)
    return net, scale.astype(x.dtype)


def _dropout_backward(
    delta: Array, scale: Any, layer: Groups, wanted: frozenset[str]
) -> tuple[Array, Groups]:
    dx: Array = delta * scale
    return dx, {}


HAND_KINDS.add("dropout", HandKind(_dropout_forward, _dropout_backward))
HAND_KINDS.add("max_pool2d", HandKind(_max_forward, _max_backward))
HAND_KINDS.add("avg_pool2d", HandKind(_avg_forward, _avg_backward))
HAND_KINDS.add("flatten", HandKind(_flatten_forward, _flatten_backward))
