"""Reference forwards of every layer kind in ``jax.numpy``: the JAX side of layer checks.

Written apart from :mod:`gradcheck.hand` and from any user's code. Weights use gradcheck's own
layout, one row per output (as ``dense``): ``W`` is ``(M, D)`` for dense, ``(F, C, kh, kw)`` for
conv2d, ``(H, D)`` and ``(H, H)`` for rnn. Images are NCHW. Every function is pure ``jax.numpy``
with no ``jit`` inside, so callers choose what to compile; the :data:`JAX_LAYERS` registry maps
each kind name to one uniform callable ``(x, params, options) -> out``, with these keys:

=========== ================================= ======================================
kind        params                            options
=========== ================================= ======================================
dense       ``W`` (M, D), ``b``?              (none)
conv2d      ``W`` (F, C, kh, kw), ``b``?      ``stride`` (1), ``padding`` (0)
max_pool2d  (none)                            ``kernel``, ``stride`` (int or pair)
avg_pool2d  (none)                            ``kernel``, ``stride`` (int or pair)
flatten     (none)                            (none)
batch_norm  ``gamma``, ``beta``               ``eps`` (1e-5)
layer_norm  ``gamma``, ``beta``               ``eps`` (1e-5)
dropout     (none)                            ``mask``, ``rate``
rnn         ``Wxh`` (H, D), ``Whh`` (H, H),   ``all_states`` (False)
            ``b``?, ``h0`` (N, H)? (zeros)
residual    ``W`` (D, D), ``b``?              (none): ``x + dense(x)``, one affine block
=========== ================================= ======================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck.layers import Registry

__all__ = [
    "JAX_LAYERS",
    "LayerFn",
    "avg_pool2d",
    "batch_norm",
    "conv2d",
    "dense",
    "dropout",
    "flatten",
    "layer_norm",
    "max_pool2d",
    "residual",
    "rnn",
]

Array = Any  # a jax.Array or anything jnp.asarray takes
LayerFn = Callable[[Array, Mapping[str, Array], Mapping[str, Any]], Array]

JAX_LAYERS: Registry[LayerFn] = Registry("JAX layer reference", "layer-level kind")


def _pair(value: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def dense(x: Array, W: Array, b: Array | None = None) -> Array:
    """``out = x @ W.T + b``; ``x (N, D)``, ``W (M, D)``, ``b`` None, 0-d (shared) or ``(M,)``."""
    out = jnp.asarray(x) @ jnp.asarray(W).T
    return out if b is None else out + b


def conv2d(
    x: Array,
    W: Array,
    b: Array | None = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> Array:
    """``out[n,f,i,j] = sum_{c,u,v} W[f,c,u,v] xp[n,c,s*i+u,s*j+v] + b[f]``, ``xp`` zero-padded.

    Cross-correlation (no kernel flip); ``out`` is ``(N, F, (H+2p-kh)//s+1, (W+2p-kw)//s+1)``.
    """
    ph, pw = _pair(padding)
    out = jax.lax.conv_general_dilated(
        jnp.asarray(x),
        jnp.asarray(W),
        window_strides=_pair(stride),
        padding=((ph, ph), (pw, pw)),
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        precision=jax.lax.Precision.HIGHEST,
    )
    if b is None:
        return out
    b = jnp.asarray(b)
    return out + (b if b.ndim == 0 else b[None, :, None, None])


def _pool(x: Array, kernel: tuple[int, int], stride: tuple[int, int], init: Any, op: Any) -> Array:
    # ``init`` a concrete NumPy scalar: reduce_window then knows its monoid and can be
    # differentiated inside ``jit`` (a jnp constant there is traced, and autodiff fails)
    return jax.lax.reduce_window(
        jnp.asarray(x), init, op, (1, 1, *kernel), (1, 1, *stride), "VALID"
    )


def _tiles(x: Array, kh: int, kw: int) -> Array:
    """Windows that tile ``x`` (stride = kernel): ``tiles[n,c,i,j,u*kw+v] = x[n,c,kh*i+u,kw*j+v]``
    (rows and columns past the last whole window dropped, as VALID windows do)."""
    n, c, h, w = x.shape
    oh, ow = h // kh, w // kw
    t = x[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow, kw)
    return t.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, kh * kw)


def max_pool2d(x: Array, *, kernel: tuple[int, int], stride: tuple[int, int]) -> Array:
    """``out[n,c,i,j] = max_{u<kh,v<kw} x[n,c,sh*i+u,sw*j+v]``; no padding (VALID windows).

    Windows that tile the input pick their first largest entry by a one-hot mask, so the
    gradient goes to that entry alone, as ``reduce_window``'s does: the same function and
    convention, in fewer and cheaper XLA operations than ``reduce_window``'s gradient."""
    x = jnp.asarray(x)
    (kh, kw), stride = _pair(kernel), _pair(stride)
    if (kh, kw) != stride:
        return _pool(x, (kh, kw), stride, np.array(-np.inf, x.dtype), jax.lax.max)
    tiles = _tiles(x, kh, kw)
    first = jax.lax.stop_gradient(jnp.argmax(tiles, axis=-1))
    return jnp.sum(tiles * jax.nn.one_hot(first, kh * kw, dtype=tiles.dtype), axis=-1)


def avg_pool2d(x: Array, *, kernel: tuple[int, int], stride: tuple[int, int]) -> Array:
    """``out[n,c,i,j] = mean_{u<kh,v<kw} x[n,c,sh*i+u,sw*j+v]``; no padding (VALID windows)."""
    x = jnp.asarray(x)
    (kh, kw), stride = _pair(kernel), _pair(stride)
    if (kh, kw) == stride:
        return jnp.sum(_tiles(x, kh, kw), axis=-1) / (kh * kw)
    total = _pool(x, (kh, kw), stride, np.array(0, x.dtype), jax.lax.add)
    return total / (kh * kw)


def flatten(x: Array) -> Array:
    """``(N, ...) -> (N, prod(...))`` in C (row-major) order."""
    x = jnp.asarray(x)
    return x.reshape(x.shape[0], -1)


def batch_norm(x: Array, gamma: Array, beta: Array, *, eps: float) -> Array:
    """Training mode: ``gamma * (x - mean) / sqrt(var + eps) + beta``, batch statistics.

    ``var`` is biased (divides by the count). ``x (N, D)``: per feature, ``gamma (D,)``;
    ``x (N, C, H, W)``: per channel, ``gamma (C,)``, statistics over N, H and W.
    """
    x = jnp.asarray(x)
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    mean = jnp.mean(x, axis=axes, keepdims=True)
    var = jnp.mean((x - mean) ** 2, axis=axes, keepdims=True)
    x_hat = (x - mean) / jnp.sqrt(var + eps)
    return jnp.reshape(gamma, shape) * x_hat + jnp.reshape(beta, shape)


def layer_norm(x: Array, gamma: Array, beta: Array, *, eps: float) -> Array:
    """``gamma * (x - mean) / sqrt(var + eps) + beta``, statistics per sample over its other axes.

    ``gamma`` and ``beta`` are shaped like one sample: ``(D,)`` for ``(N, D)``, ``(C, H, W)`` for
    ``(N, C, H, W)``; ``var`` is biased.
    """
    x = jnp.asarray(x)
    axes = tuple(range(1, x.ndim))
    mean = jnp.mean(x, axis=axes, keepdims=True)
    var = jnp.mean((x - mean) ** 2, axis=axes, keepdims=True)
    return gamma * (x - mean) / jnp.sqrt(var + eps) + beta


def dropout(x: Array, *, mask: Array, rate: float) -> Array:
    """Inverted dropout with a fixed 0/1 ``mask`` shaped like ``x``: ``x * mask / (1 - rate)``."""
    x = jnp.asarray(x)
    return x * jnp.asarray(mask, x.dtype) / (1.0 - rate)


def residual(x: Array, W: Array, b: Array | None = None) -> Array:
    """``out = x + (x @ W.T + b)``: a residual block of one affine layer, ``W (D, D)``."""
    x = jnp.asarray(x)
    return x + dense(x, W, b)


def rnn(
    x: Array,
    Wxh: Array,
    Whh: Array,
    b: Array | None = None,
    *,
    all_states: bool = False,
    h0: Array | None = None,
) -> Array:
    """``h_t = tanh(x_t @ Wxh.T + h_{t-1} @ Whh.T + b)``, ``h_0 = 0`` (or ``h0``, ``(N, H)``).

    ``x (N, T, D)``; returns ``h_T`` ``(N, H)``, or every state ``(N, T, H)`` with ``all_states``.
    """
    x = jnp.asarray(x)
    bias = jnp.zeros((), x.dtype) if b is None else jnp.asarray(b)
    h = jnp.zeros((x.shape[0], jnp.shape(Whh)[0]), x.dtype) if h0 is None else jnp.asarray(h0)
    states = []
    for t in range(x.shape[1]):  # T is small in checks; unrolled keeps every op plain
        h = jnp.tanh(x[:, t] @ jnp.asarray(Wxh).T + h @ jnp.asarray(Whh).T + bias)
        states.append(h)
    return jnp.stack(states, axis=1) if all_states else h


JAX_LAYERS.add("dense", lambda x, p, o: dense(x, p["W"], p.get("b")))
JAX_LAYERS.add(
    "conv2d",
    lambda x, p, o: conv2d(
        x, p["W"], p.get("b"), stride=o.get("stride", 1), padding=o.get("padding", 0)
    ),
)
JAX_LAYERS.add("max_pool2d", lambda x, p, o: max_pool2d(x, kernel=o["kernel"], stride=o["stride"]))
JAX_LAYERS.add("avg_pool2d", lambda x, p, o: avg_pool2d(x, kernel=o["kernel"], stride=o["stride"]))
JAX_LAYERS.add("flatten", lambda x, p, o: flatten(x))
JAX_LAYERS.add(
    "batch_norm", lambda x, p, o: batch_norm(x, p["gamma"], p["beta"], eps=o.get("eps", 1e-5))
)
JAX_LAYERS.add(
    "layer_norm", lambda x, p, o: layer_norm(x, p["gamma"], p["beta"], eps=o.get("eps", 1e-5))
)
JAX_LAYERS.add("dropout", lambda x, p, o: dropout(x, mask=o["mask"], rate=o["rate"]))
JAX_LAYERS.add("residual", lambda x, p, o: residual(x, p["W"], p.get("b")))
JAX_LAYERS.add(
    "rnn",
    lambda x, p, o: rnn(
        x,
        p["Wxh"],
        p["Whh"],
        p.get("b"),
        all_states=bool(o.get("all_states", False)),
        h0=p.get("h0"),
    ),
)
