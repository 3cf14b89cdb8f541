"""``batch_norm`` and ``layer_norm``, derived by hand (training mode: the statistics of this batch).

Forward over the statistic axes (batch_norm: the batch, and H, W of an image; layer_norm: every
axis of one sample), with ``m`` values in each statistic:

``mu = mean(x)``, ``xc = x - mu``, ``var = mean(xc^2)`` (biased), ``std = sqrt(var + eps)``,
``x_hat = xc / std``, ``net = gamma x_hat + beta``. Backward, given ``delta = dE/dnet``:

* ``dE/dbeta = sum delta`` and ``dE/dgamma = sum delta x_hat`` over the axes ``gamma`` is shared
  across (batch_norm: the batch and H, W; layer_norm: the batch);
* ``dx_hat = delta gamma``;
* ``dvar = sum dx_hat xc * (-1/2) std^-3`` (``var`` reaches every ``x`` of its statistic);
* ``dmu = sum dx_hat * (-1/std) + dvar * mean(-2 xc)`` (the second term is 0 in exact arithmetic,
  kept as derived);
* ``dx = dx_hat / std + dvar * 2 xc / m + dmu / m``: the direct path, the path through ``var``
  and the path through ``mu``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.hand.kinds import HAND_KINDS, Groups, HandKind, Options
from gradcheck.spec import Array

__all__ = ["statistic_axes"]


def statistic_axes(kind: str, ndim: int) -> tuple[int, ...]:
    """The axes one statistic runs over: batch_norm ``(0,)`` or ``(0, 2, 3)``, layer_norm every
    axis but the batch."""
    if kind == "batch_norm":
        return (0,) if ndim == 2 else (0, 2, 3)
    return tuple(range(1, ndim))


def _shaped(kind: str, group: Array, ndim: int) -> Array:
    """``gamma``/``beta`` broadcast against ``x``: a channel axis for batch_norm over images."""
    if kind == "batch_norm":
        return group.reshape(1, -1, *[1] * (ndim - 2))
    return group[None]


def _forward(kind: str) -> Any:
    def forward(layer: Groups, x: Array, options: Options) -> tuple[Array, Any]:
        axes = statistic_axes(kind, x.ndim)
        eps = x.dtype.type(options["eps"])
        mu = x.mean(axis=axes, keepdims=True)
        xc = x - mu
        var = (xc * xc).mean(axis=axes, keepdims=True)
        std = np.sqrt(var + eps)
        x_hat = xc / std
        gamma = _shaped(kind, layer["gamma"], x.ndim)
        net: Array = gamma * x_hat + _shaped(kind, layer["beta"], x.ndim)
        return net, (xc, std, x_hat, axes)

    return forward


def _backward(kind: str) -> Any:
    def backward(
        delta: Array, cache: Any, layer: Groups, wanted: frozenset[str]
    ) -> tuple[Array, Groups]:
        xc, std, x_hat, axes = cache
        shared = (0, *axes[1:]) if kind == "batch_norm" else (0,)  # where gamma is reused
        m = int(np.prod([xc.shape[a] for a in axes]))
        grads: Groups = {}
        if "gamma" in wanted:
            grads["gamma"] = (delta * x_hat).sum(axis=shared).reshape(layer["gamma"].shape)
        if "beta" in wanted:
            grads["beta"] = delta.sum(axis=shared).reshape(layer["beta"].shape)
        dx_hat = delta * _shaped(kind, layer["gamma"], delta.ndim)
        dvar = (dx_hat * xc).sum(axis=axes, keepdims=True) * (-0.5) / (std * std * std)
        dmu = (dx_hat * (-1.0 / std)).sum(axis=axes, keepdims=True) + dvar * (
            (-2.0 * xc).sum(axis=axes, keepdims=True) / m
        )
        dx: Array = dx_hat / std + dvar * 2.0 * xc / m + dmu / m
        return dx.astype(delta.dtype), grads

    return backward


HAND_KINDS.add("batch_norm", HandKind(_forward("batch_norm"), _backward("batch_norm")))
HAND_KINDS.add("layer_norm", HandKind(_forward("layer_norm"), _backward("layer_norm")))
