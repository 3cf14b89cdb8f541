"""Course-style layers in NumPy: each a ``*_forward`` returning ``(out, cache)`` and a
``*_backward`` taking ``(dout, cache)`` and returning the gradient of every input, in the order
the forward takes them. Weights are laid out as course code does: ``w`` is ``(D, M)`` for
affine, ``(F, C, HH, WW)`` for conv, ``Wx (D, H)`` and ``Wh (H, H)`` for the RNN. Check them with::

    gradcheck verify-layer conv2d --forward examples/course_layers.py:conv_forward \\
        --backward examples/course_layers.py:conv_backward

or ``gradcheck.verify_layer("conv2d", conv_forward, conv_backward)`` in Python.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Cache = Any


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Cache]:
    """out = x w + b, with x (N, D), w (D, M), b (M,)."""
    return x @ w + b, (x, w)


def affine_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def residual_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Cache]:
    """out = x + (x w + b): a residual block of one affine layer, w (D, D)."""
    return x + x @ w + b, (x, w)


def residual_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    x, w = cache
    return dout + dout @ w.T, x.T @ dout, dout.sum(axis=0)  # the skip's dout, then the block's


def _windows(xp: np.ndarray, hh: int, ww: int, stride: int) -> np.ndarray:
    """(N, C, H', W', hh, ww): every window of xp's last two axes, ``stride`` apart."""
    return sliding_window_view(xp, (hh, ww), axis=(2, 3))[:, :, ::stride, ::stride]


def conv_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict[str, int]
) -> tuple[np.ndarray, Cache]:
    """out[n, f, i, j] = sum over c, u, v of w[f, c, u, v] xpad[n, c, i s + u, j s + v] + b[f]."""
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    windows = _windows(xp, w.shape[2], w.shape[3], s)  # (N, C, H', W', HH, WW)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    out = out + b[None, :, None, None]
    return out, (x, w, s, p)


def conv_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    x, w, s, p = cache
    _, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dw = np.einsum("ncijuv,nfij->fcuv", _windows(xp, hh, ww, s), dout)
    dxp = np.zeros_like(xp)
    oh, ow = dout.shape[2], dout.shape[3]
    for u in range(hh):  # each kernel offset sends dout back to the inputs it touched
        for v in range(ww):
            rows, cols = slice(u, u + s * (oh - 1) + 1, s), slice(v, v + s * (ow - 1) + 1, s)
            dxp[:, :, rows, cols] += np.einsum("nfij,fc->ncij", dout, w[:, :, u, v])
    dx = dxp[:, :, p : p + x.shape[2], p : p + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def _pool_windows(x: np.ndarray, pool_param: dict[str, int]) -> np.ndarray:
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    return _windows(x, ph, pw, s)


def max_pool_forward(x: np.ndarray, pool_param: dict[str, int]) -> tuple[np.ndarray, Cache]:
    """out[n, c, i, j] = the largest x in window (i, j)."""
    return _pool_windows(x, pool_param).max(axis=(4, 5)), (x, pool_param)


def max_pool_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    n, c, oh, ow = dout.shape
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * s : i * s + ph, j * s : j * s + pw].reshape(n, c, -1)
            k = window.argmax(axis=2)  # only the largest input of a window gets its gradient
            rows, cols = i * s + k // pw, j * s + k % pw
            nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
            np.add.at(dx, (nn, cc, rows, cols), dout[:, :, i, j])
    return dx


def avg_pool_forward(x: np.ndarray, pool_param: dict[str, int]) -> tuple[np.ndarray, Cache]:
    """out[n, c, i, j] = the mean of x over window (i, j)."""
    return _pool_windows(x, pool_param).mean(axis=(4, 5)), (x.shape, pool_param)


def avg_pool_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    shape, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros(shape, dtype=dout.dtype)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            share = dout[:, :, i, j, None, None] / (ph * pw)
            dx[:, :, i * s : i * s + ph, j * s : j * s + pw] += share
    return dx


def flatten_forward(x: np.ndarray) -> tuple[np.ndarray, Cache]:
    """(N, ...) -> (N, D), row-major."""
    return x.reshape(x.shape[0], -1), x.shape


def flatten_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    return dout.reshape(cache)


def batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, bn_param: dict[str, Any]
) -> tuple[np.ndarray, Cache]:
    """Train mode: out = gamma (x - mean) / sqrt(var + eps) + beta, statistics over the batch."""
    mean = x.mean(axis=0)
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + bn_param["eps"])
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std)


def batchnorm_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    x_hat, gamma, inv_std = cache
    dx_hat = dout * gamma
    mean_terms = dx_hat.mean(axis=0) + x_hat * (dx_hat * x_hat).mean(axis=0)
    dx = inv_std * (dx_hat - mean_terms)
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def layernorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, ln_param: dict[str, Any]
) -> tuple[np.ndarray, Cache]:
    """out = gamma (x - mean) / sqrt(var + eps) + beta, statistics over each sample's features."""
    mean = x.mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + ln_param["eps"])
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std)


def layernorm_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    x_hat, gamma, inv_std = cache
    dx_hat = dout * gamma
    mean_terms = dx_hat.mean(axis=1, keepdims=True)
    mean_terms = mean_terms + x_hat * (dx_hat * x_hat).mean(axis=1, keepdims=True)
    return inv_std * (dx_hat - mean_terms), (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def dropout_forward(x: np.ndarray, dropout_param: dict[str, Any]) -> tuple[np.ndarray, Cache]:
    """Inverted dropout with the given 0/1 mask: out = x mask / (1 - p), p the drop rate."""
    scaled_mask = dropout_param["mask"] / (1.0 - dropout_param["p"])
    return x * scaled_mask, scaled_mask


def dropout_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    return dout * cache


def rnn_forward(
    x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, Cache]:
    """h_t = tanh(x_t Wx + h_{t-1} Wh + b) for t = 1..T; returns every h_t, (N, T, H)."""
    states, h = [], h0
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
        states.append(h)
    return np.stack(states, axis=1), (x, h0, Wx, Wh, states)


def rnn_backward(dh: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    x, h0, Wx, Wh, states = cache
    dx, dWx, dWh = np.zeros_like(x), np.zeros_like(Wx), np.zeros_like(Wh)
    db, dnext = np.zeros_like(Wh[0]), np.zeros_like(h0)
    for t in reversed(range(x.shape[1])):
        prev = states[t - 1] if t > 0 else h0
        dz = (dh[:, t] + dnext) * (1.0 - states[t] ** 2)  # the step's own and the later steps'
        dx[:, t] = dz @ Wx.T
        dWx += x[:, t].T @ dz
        dWh += prev.T @ dz
        db += dz.sum(axis=0)
        dnext = dz @ Wh.T
    return dx, dnext, dWx, dWh, db
