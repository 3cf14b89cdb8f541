"""The ``conv2d`` layer kind, derived by hand over NCHW arrays.

Forward: the input zero-padded by ``p`` is cut into columns ``cols[n, c, u, v, i, j] =
xp[n, c, s i + u, s j + v]``, then ``net[n, f, i, j] = sum_{c,u,v} W[f, c, u, v] cols[n, c, u, v,
i, j] + b[f]``. Backward, given ``delta = dE/dnet``:

* ``dE/dW[f, c, u, v] = sum_{n,i,j} delta[n, f, i, j] cols[n, c, u, v, i, j]``;
* ``dE/db[f] = sum_{n,i,j} delta[n, f, i, j]`` (summed over ``f`` too for a shared bias);
* ``dE/dxp[n, c, s i + u, s j + v] += sum_f W[f, c, u, v] delta[n, f, i, j]``: each output
  sends its delta back through the window it read, which is a full convolution of ``delta``
  (dilated by the stride) with the *flipped* kernel; ``dE/dx`` is ``dE/dxp`` without the padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.hand.kinds import HAND_KINDS, Groups, HandKind, Options
from gradcheck.spec import Array

__all__ = ["columns", "scatter_columns"]


def columns(x: Array, kh: int, kw: int, stride: int, padding: int) -> Array:
    """``cols[n, c, u, v, i, j] = xp[n, c, stride i + u, stride j + v]`` (``xp`` zero-padded)."""
    p, s = padding, stride
    xp = np.zeros((*x.shape[:2], x.shape[2] + 2 * p, x.shape[3] + 2 * p), dtype=x.dtype)
    xp[:, :, p : p + x.shape[2], p : p + x.shape[3]] = x
    oh = (xp.shape[2] - kh) // s + 1
    ow = (xp.shape[3] - kw) // s + 1
    cols = np.empty((x.shape[0], x.shape[1], kh, kw, oh, ow), dtype=x.dtype)
    for u in range(kh):
        for v in range(kw):
            cols[:, :, u, v] = xp[:, :, u : u + s * oh : s, v : v + s * ow : s]
    return cols


def scatter_columns(dcols: Array, shape: tuple[int, ...], stride: int, padding: int) -> Array:
    """The adjoint of :func:`columns`: every column entry added back where it was read from."""
    n, c, kh, kw, oh, ow = dcols.shape
    p, s = padding, stride
    dxp = np.zeros((n, c, shape[2] + 2 * p, shape[3] + 2 * p), dtype=dcols.dtype)
    for u in range(kh):
        for v in range(kw):
            dxp[:, :, u : u + s * oh : s, v : v + s * ow : s] += dcols[:, :, u, v]
    dx: Array = dxp[:, :, p : p + shape[2], p : p + shape[3]]
    return dx


def _forward(layer: Groups, x: Array, options: Options) -> tuple[Array, Any]:
    w = layer["W"]
    s, p = int(options["stride"]), int(options["padding"])
    cols = columns(x, w.shape[2], w.shape[3], s, p)
    net: Array = np.moveaxis(np.tensordot(cols, w, axes=([1, 2, 3], [1, 2, 3])), -1, 1)
    if "b" in layer:
        b = layer["b"]
        net = net + (b if b.ndim == 0 else b[None, :, None, None])
    return net, (cols, x.shape, s, p)


def _backward(
    delta: Array, cache: Any, layer: Groups, wanted: frozenset[str]
) -> tuple[Array, Groups]:
    cols, shape, s, p = cache
    grads: Groups = {}
    if "W" in wanted:
        grads["W"] = np.tensordot(delta, cols, axes=([0, 2, 3], [0, 4, 5]))
    if "b" in wanted:
        per_channel: Array = delta.sum(axis=(0, 2, 3))
        grads["b"] = np.asarray(per_channel.sum()) if layer["b"].ndim == 0 else per_channel
    dcols = np.moveaxis(np.tensordot(layer["W"], delta, axes=([0], [1])), 3, 0)
    return scatter_columns(dcols, shape, s, p), grads


HAND_KINDS.add("conv2d", HandKind(_forward, _backward))
