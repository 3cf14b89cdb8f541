"""Planted bugs in the backward pass of one layer kind, each a one-line change of the hand one.

:func:`with_kinds` is gradcheck's hand-derived backprop with some kinds' backward passes replaced,
so a planted candidate differs from one that passes in exactly that kind's backward (the
forward stays the hand one, whose cache it reads).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gradcheck.hand.activations import HAND_ACTIVATIONS
from gradcheck.hand.backprop import forward, full_params
from gradcheck.hand.kinds import HAND_KINDS, Groups
from gradcheck.hand.losses import HAND_LOSSES
from gradcheck.spec import Array, GradientFn, Params, Spec

Backward = Callable[[Array, Any, Groups, frozenset[str]], tuple[Array, Groups]]


def with_kinds(
    replaced: Mapping[str, Backward], name: str, twice: frozenset[str] = frozenset()
) -> GradientFn:
    """The hand backprop with the backward passes of the kinds in ``replaced`` swapped; for a
    loss in ``twice`` whose delta is fused with its output activation, that activation's
    derivative applied once more to the fused delta (``sigma'`` twice for binary cross-entropy)."""

    def candidate(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        fwd = forward(spec, params, inputs)
        layers = full_params(spec, params)
        t = np.asarray(targets, dtype=spec.dtype)
        loss = HAND_LOSSES[spec.loss]
        upstream = loss.gradient(fwd.outs[-1], t)
        grads: Params = [{} for _ in layers]
        for i in reversed(range(len(layers))):
            act, slope = HAND_ACTIVATIONS[spec.activations[i]], spec.slopes[i]
            net, out = fwd.nets[i], fwd.outs[i + 1]
            fused = loss.fused_delta is not None and loss.fused == spec.activations[i]
            if i == len(layers) - 1 and loss.fused_delta is not None and fused:
                delta = loss.fused_delta(out, t)
                if spec.loss in twice:
                    delta = act.backward(delta, net, out, slope)
            else:
                delta = act.backward(upstream, net, out, slope)
            kind = spec.kinds[i]
            backward = replaced.get(kind, HAND_KINDS[kind].backward)
            upstream, grads[i] = backward(delta, fwd.caches[i], layers[i], frozenset(params[i]))
            for group in spec.decayed[i] & set(grads[i]):  # + lambda W (0 without a decay)
                grads[i][group] = (
                    grads[i][group] + spec.dtype.type(spec.weight_decay) * layers[i][group]
                )
        return grads

    candidate.__name__ = name
    return candidate


def _conv_input_grad(delta: Array, cache: Any, layer: Groups, flip: bool, stride: bool) -> Array:
    """``dE/dx`` of a conv: each output's delta sent back through its window (``flip=False``:
    through the kernel turned by 180 degrees, the full-convolution formula without its flip;
    ``stride=False``: as if the stride were 1)."""
    _, shape, s, p = cache
    w = layer["W"] if flip else layer["W"][:, :, ::-1, ::-1]
    dcols = np.einsum("fcuv,nfij->ncuvij", w, delta)
    n, c, kh, kw, oh, ow = dcols.shape
    step = s if stride else 1
    dxp = np.zeros((n, c, shape[2] + 2 * p, shape[3] + 2 * p), dtype=delta.dtype)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u, u + step * (oh - 1) + 1, step)
            cols_ = slice(v, v + step * (ow - 1) + 1, step)
            dxp[:, :, rows, cols_] += dcols[:, :, u, v]
    return dxp[:, :, p : p + shape[2], p : p + shape[3]]


def _conv_backward(flip: bool, stride: bool) -> Backward:
    right = HAND_KINDS["conv2d"].backward

    def backward(
        delta: Array, cache: Any, layer: Groups, wanted: frozenset[str]
    ) -> tuple[Array, Groups]:
        grads = right(delta, cache, layer, wanted)[1]
        return _conv_input_grad(delta, cache, layer, flip, stride), grads

    return backward


def _pool_backward(to_every: bool, divided: bool, kind: str) -> Backward:
    """Max pool: the delta to every input of the window; avg pool: not divided by its size."""

    def backward(
        delta: Array, cache: Any, layer: Groups, wanted: frozenset[str]
    ) -> tuple[Array, Groups]:
        if kind == "max_pool2d":
            picked, shape, stride = cache
            share = np.ones_like(picked, dtype=delta.dtype) if to_every else picked
            kernel = picked.shape[-2:]
        else:
            shape, kernel, stride = cache
            share = np.ones((*delta.shape, *kernel), dtype=delta.dtype)
            share = share / (1 if not divided else kernel[0] * kernel[1])
        share = share * delta[..., None, None]
        dx = np.zeros(shape, dtype=delta.dtype)
        oh, ow = delta.shape[2:]
        for u in range(kernel[0]):
            for v in range(kernel[1]):
                rows = slice(u, u + stride[0] * (oh - 1) + 1, stride[0])
                cols_ = slice(v, v + stride[1] * (ow - 1) + 1, stride[1])
                dx[:, :, rows, cols_] += share[..., u, v]
        return dx, {}

    return backward


def _dropout_backward(masked: bool) -> Backward:
    """Dropout's ``dE/dx``: ``delta * mask / (1 - rate)``, or (``masked=False``) the scale
    without the mask, as if every input had been kept."""

    def backward(
        delta: Array, scale: Any, layer: Groups, wanted: frozenset[str]
    ) -> tuple[Array, Groups]:
        return delta * (scale if masked else np.max(scale)), {}

    return backward


def _residual_backward(skip: bool) -> Backward:
    """A residual block's ``dE/dx``: the skip's ``delta`` plus what came back through the block,
    or (``skip=False``) only the block's part, as if ``x`` reached ``net`` through ``F`` alone."""
    right = HAND_KINDS["residual"].backward

    def backward(
        delta: Array, cache: Any, layer: Groups, wanted: frozenset[str]
    ) -> tuple[Array, Groups]:
        dx, grads = right(delta, cache, layer, wanted)
        return (dx if skip else dx - delta), grads

    return backward


def _rnn_backward(through_time: bool) -> Backward:
    """Backprop through time; ``through_time=False`` drops what ``h_t`` passes to the later
    states (``dh_t = g_t`` only, not ``g_t + da_{t+1} Whh``)."""

    def backward(
        delta: Array, cache: Any, layer: Groups, wanted: frozenset[str]
    ) -> tuple[Array, Groups]:
        x, states, every = cache
        g = delta if every else np.zeros_like(states)
        if not every:
            g[:, -1] = delta
        da, later = np.zeros_like(states), np.zeros_like(states[:, 0])
        for t in reversed(range(states.shape[1])):
            da[:, t] = (g[:, t] + (later if through_time else 0.0)) * (1.0 - states[:, t] ** 2)
            later = da[:, t] @ layer["Whh"]
        before = np.concatenate([np.zeros_like(states[:, :1]), states[:, :-1]], axis=1)
        grads: Groups = {}
        if "Wxh" in wanted:
            grads["Wxh"] = np.einsum("ntu,nti->ui", da, x)
        if "Whh" in wanted:
            grads["Whh"] = np.einsum("ntu,ntv->uv", da, before)
        if "b" in wanted:
            per_unit = da.sum(axis=(0, 1))
            grads["b"] = np.asarray(per_unit.sum()) if layer["b"].ndim == 0 else per_unit
        return da @ layer["Wxh"], grads

    return backward


hand_again = with_kinds(
    {
        "conv2d": _conv_backward(flip=True, stride=True),
        "max_pool2d": _pool_backward(to_every=False, divided=True, kind="max_pool2d"),
        "avg_pool2d": _pool_backward(to_every=False, divided=True, kind="avg_pool2d"),
        "dropout": _dropout_backward(masked=True),
        "residual": _residual_backward(skip=True),
        "rnn": _rnn_backward(through_time=True),
    },
    "hand_again",
)  # the rewritten backward passes, bug-free: the harness passes
conv_without_flip = with_kinds(
    {"conv2d": _conv_backward(flip=False, stride=True)}, "conv_without_flip"
)
conv_stride_ignored = with_kinds(
    {"conv2d": _conv_backward(flip=True, stride=False)}, "conv_stride_ignored"
)
max_pool_to_every_input = with_kinds(
    {"max_pool2d": _pool_backward(to_every=True, divided=True, kind="max_pool2d")},
    "max_pool_to_every_input",
)
avg_pool_not_divided = with_kinds(
    {"avg_pool2d": _pool_backward(to_every=False, divided=False, kind="avg_pool2d")},
    "avg_pool_not_divided",
)
dropout_mask_not_in_backward = with_kinds(
    {"dropout": _dropout_backward(masked=False)}, "dropout_mask_not_in_backward"
)
residual_skip_dropped = with_kinds(
    {"residual": _residual_backward(skip=False)}, "residual_skip_dropped"
)
rnn_without_through_time = with_kinds(
    {"rnn": _rnn_backward(through_time=False)}, "rnn_without_through_time"
)
bce_sigmoid_twice = with_kinds({}, "bce_sigmoid_twice", frozenset({"binary_cross_entropy"}))


def decay_on_biases(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """Correct gradients, plus ``lambda b`` on every trainable bias (decay is for weights)."""
    grads = hand_again(spec, params, inputs, targets)
    lam = spec.dtype.type(spec.weight_decay)
    return [
        {k: g + lam * params[i][k] if k == "b" else g for k, g in gi.items()}
        for i, gi in enumerate(grads)
    ]


__all__ = [
    "avg_pool_not_divided",
    "bce_sigmoid_twice",
    "conv_stride_ignored",
    "conv_without_flip",
    "decay_on_biases",
    "dropout_mask_not_in_backward",
    "hand_again",
    "max_pool_to_every_input",
    "residual_skip_dropped",
    "rnn_without_through_time",
    "with_kinds",
]
