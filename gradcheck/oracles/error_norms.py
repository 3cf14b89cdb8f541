"""The error model's ``batch_norm`` and ``layer_norm``: the size of the terms each value sums.

Unlike a linear kind's, a norm's terms scale with ``1 / std`` of the input's own values, so both
directions take the float64 input ``x`` (the statistics of its values, not of magnitudes). With
``A`` the magnitude an input enters at and ``r = (A + mean A) / std`` that of ``x_hat``'s terms
(``x - mean`` cancels as the spread shrinks against the mean):

* forward: ``T = |gamma| r + |beta|``;
* backward, from ``dx = gamma / std (delta - mean delta - x_hat mean(delta x_hat))``, to first
  order: a product's terms are the larger of each factor's terms times the other's value, with
  ``D`` the size of ``delta``'s values (the option ``delta_values`` that
  :func:`~gradcheck.oracles.error_model.term_magnitudes` carries apart). So ``P = max(|delta|
  |x_hat|, D r) + eps |delta| r`` for ``delta x_hat`` (the last the second order, as
  :mod:`gradcheck.oracles.error_kinds` takes it), ``m_gamma = sum P`` and ``m_beta = sum
  |delta|`` over the entries sharing one, and ``|gamma| / std (|delta| + mean |delta| +
  max(|x_hat| mean P, r mean(D |x_hat|)))`` passed down. Multiplying the two term sizes
  instead (``r mean(|delta| r)``, then ``r mean(|delta| |x_hat|)``) compounded each norm's
  ``r`` into every norm below it: below three batch_norms in float32 the bound reached 10^4
  times the gradient. Without ``delta_values`` the pass is the one over values (``D``
  itself): ``r = |x_hat|``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gradcheck.oracles.error_kinds import ERROR_KINDS

__all__ = ["NORM_TERMS"]

Groups = dict[str, np.ndarray]


def _axes(kind: str, ndim: int) -> tuple[int, ...]:
    if kind == "batch_norm":
        return (0,) if ndim == 2 else (0, 2, 3)
    return tuple(range(1, ndim))


def _laid(kind: str, group: np.ndarray, ndim: int) -> np.ndarray:
    if kind == "batch_norm":
        return group.reshape(1, -1, *[1] * (ndim - 2))
    return group[None]


def _spread(kind: str, a: np.ndarray, x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """``(std, r)``: the input's standard deviation (with eps) and ``x_hat``'s term size."""
    axes = _axes(kind, x.ndim)
    std = np.sqrt(np.var(x, axis=axes, keepdims=True) + eps)
    return std, (a + np.mean(a, axis=axes, keepdims=True)) / std


def _forward(
    kind: str,
) -> Callable[[Groups, np.ndarray, np.ndarray, Mapping[str, Any]], np.ndarray]:
    def terms(
        layer: Groups, a: np.ndarray, x: np.ndarray, options: Mapping[str, Any]
    ) -> np.ndarray:
        _, r = _spread(kind, a, x, float(options["eps"]))
        gamma, beta = _laid(kind, layer["gamma"], x.ndim), _laid(kind, layer["beta"], x.ndim)
        return np.asarray(gamma * r + beta)

    return terms


def _backward(kind: str) -> Callable[..., tuple[np.ndarray, Groups]]:
    def backward(
        delta: np.ndarray,
        a: np.ndarray,
        layer: Groups,
        options: Mapping[str, Any],
        wanted: frozenset[str],
    ) -> tuple[np.ndarray, Groups]:
        x = options["x"]
        axes = _axes(kind, x.ndim)
        shared = (0, *axes[1:]) if kind == "batch_norm" else (0,)
        std, r = _spread(kind, a, x, float(options["eps"]))
        x_hat = np.abs(x - np.mean(x, axis=axes, keepdims=True)) / std
        value = options.get("delta_values")  # D: the size of delta's values
        if value is None:  # the pass over values: delta is D, and x_hat's size is its value
            value, r = delta, x_hat
        product = np.maximum(delta * x_hat, value * r)  # the terms of delta x_hat
        if "delta_values" in options:  # + the second order (error_kinds._bilinear)
            product = product + options["rounding"] * delta * r
        grads: Groups = {}
        if "gamma" in wanted:
            grads["gamma"] = product.sum(axis=shared).reshape(layer["gamma"].shape)
        if "beta" in wanted:
            grads["beta"] = delta.sum(axis=shared).reshape(layer["beta"].shape)
        terms, values = (np.mean(p, axis=axes, keepdims=True) for p in (product, value * x_hat))
        projected = np.maximum(x_hat * terms, r * values)  # the terms of x_hat mean(delta x_hat)
        mean_delta = np.mean(delta, axis=axes, keepdims=True)
        gamma = _laid(kind, layer["gamma"], x.ndim)
        return gamma / std * (delta + mean_delta + projected), grads

    return backward


NORM_TERMS = {kind: _forward(kind) for kind in ("batch_norm", "layer_norm")}
"""Kind -> ``terms(|groups|, A_in, x, options)``: ``T`` where it is not the net of magnitudes."""
for _kind in NORM_TERMS:
    ERROR_KINDS.add(_kind, _backward(_kind))
