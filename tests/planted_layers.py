"""Course-style layers with one planted bug each: the mistakes people make deriving them by hand.

Each is the correct layer of ``examples/course_layers.py`` with one change, named for it; the
forwards are the correct ones unless the bug is in the forward. ``PLANTED`` maps each bug to
its kind, its (forward, backward), the knobs fixed for the test, the diagnosis a check must give
and the gradient it must name.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import course_layers as layers

Cache = Any


def batchnorm_backward_without_mean_terms(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    x_hat, gamma, inv_std = cache
    dx = inv_std * dout * gamma  # misses the terms through the batch mean and variance
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def conv_backward_without_flip(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    """dx as a full correlation of (dilated) dout with w, which needs w flipped: here it is not."""
    x, w, s, p = cache
    n, f, oh, ow = dout.shape
    _, _, hh, ww = w.shape
    dilated = np.zeros((n, f, (oh - 1) * s + 1, (ow - 1) * s + 1), dout.dtype)
    dilated[:, :, ::s, ::s] = dout
    full = np.pad(dilated, ((0, 0), (0, 0), (hh - 1, hh - 1), (ww - 1, ww - 1)))
    windows = sliding_window_view(full, (hh, ww), axis=(2, 3))
    dxp = np.einsum("nfijuv,fcuv->ncij", windows, w)  # the bug: w, not w[:, :, ::-1, ::-1]
    padded = np.zeros((n, x.shape[1], x.shape[2] + 2 * p, x.shape[3] + 2 * p), dout.dtype)
    padded[:, :, : dxp.shape[2], : dxp.shape[3]] = dxp
    _, dw, db = layers.conv_backward(dout, cache)
    return padded[:, :, p : p + x.shape[2], p : p + x.shape[3]], dw, db


def conv_backward_ignoring_stride(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    x, w, _stride, p = cache
    _, _, hh, ww = w.shape
    dxp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * p, x.shape[3] + 2 * p), dout.dtype)
    oh, ow = dout.shape[2], dout.shape[3]
    for u in range(hh):
        for v in range(ww):  # the bug: windows taken one apart, not `stride` apart
            dxp[:, :, u : u + oh, v : v + ow] += np.einsum("nfij,fc->ncij", dout, w[:, :, u, v])
    _, dw, db = layers.conv_backward(dout, cache)
    return dxp[:, :, p : p + x.shape[2], p : p + x.shape[3]], dw, db


def _to_every_input(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Each window's dout sent, undivided, to every input of the window."""
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    shape = x if isinstance(x, tuple) else x.shape
    dx = np.zeros(shape, dout.dtype)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * s : i * s + ph, j * s : j * s + pw] += dout[:, :, i, j, None, None]
    return dx


def max_pool_backward_to_every_input(dout: np.ndarray, cache: Cache) -> np.ndarray:
    return _to_every_input(dout, cache)  # the bug: not only to each window's largest input


def avg_pool_backward_not_divided(dout: np.ndarray, cache: Cache) -> np.ndarray:
    return _to_every_input(dout, cache)  # the bug: not divided by the window's size


def dropout_backward_without_mask(dout: np.ndarray, cache: Cache) -> np.ndarray:
    scaled_mask = cache
    return dout * float(np.max(scaled_mask))  # the 1 / (1 - p) scale, but every entry kept


def rnn_backward_without_through_time(dh: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    x, h0, Wx, Wh, states = cache
    dx, dWx, dWh = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh)
    db, dprev = np.zeros_like(Wh[0]), np.zeros_like(h0)
    for t in reversed(range(x.shape[1])):
        prev = states[t - 1] if t > 0 else h0
        dz = dh[:, t] * (1.0 - states[t] ** 2)  # the bug: + dprev from the later steps is missing
        dx[:, t] = dz @ Wx.T
        dWx += x[:, t].T @ dz
        dWh += prev.T @ dz
        db += dz.sum(axis=0)
        dprev = dz @ Wh.T
    return dx, dprev, dWx, dWh, db


def residual_backward_without_skip(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    _, dw, db = layers.residual_backward(dout, cache)
    w = cache[1]
    return dout @ w.T, dw, db  # the bug: only the block's dx, the skip's dout dropped


def layernorm_forward_over_the_batch(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, ln_param: dict[str, Any]
) -> tuple[np.ndarray, Cache]:
    return layers.batchnorm_forward(x, gamma, beta, ln_param)  # statistics over axis 0


layernorm_backward_over_the_batch = layers.batchnorm_backward  # right for that wrong forward


def affine_forward_doubled(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Cache]:
    out, cache = layers.affine_forward(x, w, b)
    return 2.0 * out, cache  # the backward below is the undoubled one's


class Planted(NamedTuple):
    kind: str
    forward: Any
    backward: Any
    fixed: dict[str, Any]  # knobs fixed (pool windows: one compile for the test)
    diagnosis: str
    gradient: str  # the gradient the failure must name ("" for a forward-only blame)


PLANTED: dict[str, Planted] = {
    "batchnorm-without-mean-terms": Planted(
        "batch_norm", layers.batchnorm_forward, batchnorm_backward_without_mean_terms, {},
        "backward wrong", "dx",
    ),
    "conv-without-kernel-flip": Planted(
        "conv2d", layers.conv_forward, conv_backward_without_flip, {}, "backward wrong", "dx"
    ),
    "conv-ignoring-stride": Planted(
        "conv2d", layers.conv_forward, conv_backward_ignoring_stride, {}, "backward wrong", "dx"
    ),
    "max-pool-to-every-window-input": Planted(
        "max_pool2d", layers.max_pool_forward, max_pool_backward_to_every_input,
        {"pool_height": 2, "pool_width": 2}, "backward wrong", "dx",
    ),
    "avg-pool-not-divided": Planted(
        "avg_pool2d", layers.avg_pool_forward, avg_pool_backward_not_divided,
        {"pool_height": 2, "pool_width": 2}, "backward wrong", "dx",
    ),
    "dropout-mask-not-applied": Planted(
        "dropout", layers.dropout_forward, dropout_backward_without_mask, {}, "backward wrong", "dx"
    ),
    "rnn-without-through-time": Planted(
        "rnn", layers.rnn_forward, rnn_backward_without_through_time, {}, "backward wrong", "d"
    ),
    "residual-skip-dropped": Planted(
        "residual", layers.residual_forward, residual_backward_without_skip, {},
        "backward wrong", "dx",
    ),
    "layernorm-over-the-batch": Planted(
        "layer_norm", layernorm_forward_over_the_batch, layernorm_backward_over_the_batch, {},
        "forward wrong (backward matches your forward)", "",
    ),
    "affine-forward-doubled": Planted(
        "dense", affine_forward_doubled, layers.affine_backward, {},
        "forward and backward wrong", "",
    ),
}  # fmt: skip
