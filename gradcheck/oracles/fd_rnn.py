"""The finite-difference oracle's own float64 ``rnn``, registered in :data:`FD_KINDS`.

Written apart from :mod:`gradcheck.hand.rnn` (which it checks) and from the JAX reference:
``h_t = tanh(Wxh x_t + Whh h_{t-1} + b)`` with ``h_0 = 0``, run for many parameter copies at
once (``K`` copies of every group, one shared input batch). A step in a parameter moves every
later state through the tanh, not in proportion to the step, so a perturbed copy is the whole
recurrence rerun with that parameter moved (``perturbed``, ``along``), never a linear shift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gradcheck.oracles.fd_kinds import FD_KINDS, FDKind, Groups

__all__ = ["copies_net"]


def copies_net(copies: Groups, x: np.ndarray, all_states: bool) -> np.ndarray:
    """The net of ``K`` parameter copies (``Wxh (K, H, n)``, ``Whh (K, H, H)``, ``b`` ``(K,)``,
    ``(K, H)`` or absent) over ``x (m, T, n)``: ``(K, m, T, H)`` states, or ``(K, m, H)``."""
    wxh, whh = copies["Wxh"], copies["Whh"]
    k, units = whh.shape[0], whh.shape[1]
    b = copies.get("b")
    shift = 0.0 if b is None else (b[:, None, None] if b.ndim == 1 else b[:, None, :])
    drive = np.einsum("kui,mti->kmtu", wxh, x)  # Wxh x_t for every step at once
    h = np.zeros((k, x.shape[0], units))
    states = []
    for t in range(x.shape[1]):
        h = np.tanh(drive[:, :, t] + np.einsum("kuv,kmv->kmu", whh, h) + shift)
        states.append(h)
    return np.stack(states, axis=2) if all_states else h


def _stacked(layer: Groups, k: int) -> Groups:
    """``K`` copies of every group, each its own array."""
    return {
        g: np.repeat(np.asarray(a, dtype=np.float64)[None], k, axis=0) for g, a in layer.items()
    }


def _net(layer: Groups, x: np.ndarray, options: Mapping[str, Any]) -> np.ndarray:
    net: np.ndarray = copies_net(_stacked(layer, 1), x, bool(options["all_states"]))[0]
    return net


def _perturbed(
    net: np.ndarray,
    x: np.ndarray,
    layer: Groups,
    group: str,
    flat: np.ndarray,
    steps: np.ndarray,
    options: Mapping[str, Any],
) -> np.ndarray:
    """Copy ``k`` has entry ``flat[k]`` of ``group`` moved by ``steps[k]``, rerun from ``t = 1``."""
    copies = _stacked(layer, steps.size)
    moved = copies[group].reshape(steps.size, -1)
    moved[np.arange(steps.size), flat] += steps
    return copies_net(copies, x, bool(options["all_states"]))


def _along(
    x: np.ndarray,
    layer: Groups,
    group: str,
    v: np.ndarray,
    steps: np.ndarray,
    options: Mapping[str, Any],
) -> np.ndarray:
    """The net at ``group + s v`` for every step ``s``, ``(len(steps), *net shape)``."""
    copies = _stacked(layer, steps.size)
    copies[group] = copies[group] + steps.reshape(-1, *[1] * v.ndim) * v[None]
    return copies_net(copies, x, bool(options["all_states"]))


def _not_linear(*_: Any) -> np.ndarray:
    raise AssertionError("rnn moves its net nonlinearly: the oracle reruns it (along)")


FD_KINDS.add("rnn", FDKind(_net, _perturbed, _not_linear, along=_along))
