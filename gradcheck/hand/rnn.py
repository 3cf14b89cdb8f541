"""The ``rnn`` layer kind, derived by hand: backpropagation through time, step by step.

Forward, over ``x`` of shape ``(batch, T, n_in)`` with ``h_0 = 0``:
``a_t = x_t Wxh^T + h_{t-1} Whh^T + b`` and ``h_t = tanh(a_t)``; the layer's output (its
``net``, the kind carries its own tanh) is ``h_T`` or every ``h_t``. Backward, given ``delta =
dE/dnet`` (``g_t``: its part at step ``t``, zero before ``T`` when only ``h_T`` is emitted), from
``t = T`` down to 1, with ``dh_{T+1}``'s contribution ``c_{T+1} = 0``:

* ``dh_t = g_t + c_{t+1}``: what ``h_t`` feeds the output directly plus what it feeds the later
  states, ``c_{t+1} = da_{t+1} Whh`` (``a_{t+1}`` reads ``h_t`` through ``Whh``);
* ``da_t = dh_t * (1 - h_t^2)`` (``tanh' = 1 - tanh^2``);
* ``dWxh += da_t^T x_t``, ``dWhh += da_t^T h_{t-1}``, ``db += sum over the batch of da_t``
  (summed over units too for a shared bias);
* ``dx_t = da_t Wxh``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.hand.kinds import HAND_KINDS, Groups, HandKind, Options
from gradcheck.spec import Array

__all__ = ["rnn_states", "through_time"]


def rnn_states(layer: Groups, x: Array) -> Array:
    """Every state ``h_t = tanh(x_t Wxh^T + h_{t-1} Whh^T + b)``, ``(batch, T, size)``."""
    wxh, whh = layer["Wxh"], layer["Whh"]
    b = layer.get("b", np.zeros((), dtype=x.dtype))
    h = np.zeros((x.shape[0], whh.shape[0]), dtype=x.dtype)
    states = np.empty((x.shape[0], x.shape[1], whh.shape[0]), dtype=x.dtype)
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ wxh.T + h @ whh.T + b)
        states[:, t] = h
    return states


def _forward(layer: Groups, x: Array, options: Options) -> tuple[Array, Any]:
    states = rnn_states(layer, x)
    every = bool(options["all_states"])
    net: Array = states if every else states[:, -1]
    return net, (x, states, every)


def through_time(upstream: Array, states: Array, whh: Array) -> Array:
    """``da_t`` for every step: ``dh_t = g_t + da_{t+1} Whh``, ``da_t = dh_t (1 - h_t^2)``."""
    da = np.zeros_like(states)
    later = np.zeros_like(states[:, 0])  # c_{T+1} = 0: nothing after the last step
    for t in reversed(range(states.shape[1])):
        dh = upstream[:, t] + later
        da[:, t] = dh * (1.0 - states[:, t] * states[:, t])
        later = da[:, t] @ whh
    return da


def _backward(
    delta: Array, cache: Any, layer: Groups, wanted: frozenset[str]
) -> tuple[Array, Groups]:
    x, states, every = cache
    upstream = delta if every else np.zeros_like(states)
    if not every:
        upstream[:, -1] = delta  # only h_T reaches the layers above
    da = through_time(upstream, states, layer["Whh"])
    before = np.concatenate([np.zeros_like(states[:, :1]), states[:, :-1]], axis=1)  # h_{t-1}
    grads: Groups = {}
    if "Wxh" in wanted:
        grads["Wxh"] = np.einsum("ntu,nti->ui", da, x)
    if "Whh" in wanted:
        grads["Whh"] = np.einsum("ntu,ntv->uv", da, before)
    if "b" in wanted:
        per_unit: Array = da.sum(axis=(0, 1))
        grads["b"] = np.asarray(per_unit.sum()) if layer["b"].ndim == 0 else per_unit
    dx: Array = da @ layer["Wxh"]
    return dx, grads


HAND_KINDS.add("rnn", HandKind(_forward, _backward))
