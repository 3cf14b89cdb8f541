"""Planted bugs in the norms of a whole network, each a one-line change of the right one.

``batch_norm_without_mean_terms``: batch_norm's ``dE/dx`` is ``dx_hat / std`` only, the paths
through the batch mean and variance dropped. ``layer_norm_over_the_batch``: layer_norm's
statistics taken over the batch (each feature's) instead of over each sample's features, forward
and backward consistently, so the gradients are right for the wrong function. ``norms_again``:
the right backward of both, rewritten in its compact form
``dx = gamma / std (delta - mean delta - x_hat mean(delta x_hat))``, which passes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from planted_kinds import Backward, with_kinds

from gradcheck.hand import hand_grads
from gradcheck.hand.kinds import HAND_KINDS, Groups
from gradcheck.spec import Array, Params, Spec, parse_spec


def _norm_backward(mean_terms: bool, kind: str) -> Backward:
    right = HAND_KINDS[kind].backward

    def backward(
        delta: Array, cache: Any, layer: Groups, wanted: frozenset[str]
    ) -> tuple[Array, Groups]:
        _, std, x_hat, axes = cache
        grads = right(delta, cache, layer, wanted)[1]
        gamma = layer["gamma"]
        gamma = gamma.reshape(1, -1, *[1] * (delta.ndim - 2)) if kind == "batch_norm" else gamma
        dx_hat = delta * gamma
        if not mean_terms:
            return dx_hat / std, grads
        mean = dx_hat.mean(axis=axes, keepdims=True)
        along = (dx_hat * x_hat).mean(axis=axes, keepdims=True)
        return (dx_hat - mean - x_hat * along) / std, grads

    return backward


norms_again = with_kinds(
    {k: _norm_backward(mean_terms=True, kind=k) for k in ("batch_norm", "layer_norm")},
    "norms_again",
)
batch_norm_without_mean_terms = with_kinds(
    {"batch_norm": _norm_backward(mean_terms=False, kind="batch_norm")},
    "batch_norm_without_mean_terms",
)


def layer_norm_over_the_batch(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """Every ``(N, D)`` layer_norm computed as a batch_norm: its statistics per feature over the
    batch (the same gamma and beta shapes), differentiated right for that wrong forward."""
    data = spec.model.model_dump(exclude_none=True)
    for table in data["layers"]:
        if table.get("kind") == "layer_norm":
            table["kind"] = "batch_norm"
    # a spec refuses a batch_norm over one sample; the bug runs on the arguments' batch whatever
    data["samples"] = data["samples"] * 2
    grads = hand_grads(parse_spec(data, spec.path), params, inputs, targets)
    return [{k: np.asarray(a) for k, a in g.items()} for g in grads]


__all__ = ["batch_norm_without_mean_terms", "layer_norm_over_the_batch", "norms_again"]
