"""The finite-difference oracle's own ``residual`` kind: ``net = x + F(x)`` in float64.

``F`` runs the block's inner layers with this oracle's kinds and activations (:data:`FD_KINDS`,
:data:`~gradcheck.oracles.fd_network.FD_ACTIVATIONS`), nothing shared with the hand-derived side.
The block is not linear in its groups, so a step in one of them is run, not extrapolated:
``perturbed`` runs the block once per copy with its entry moved; ``direction`` (how ``net``
moves per unit step along ``v``, for the random-direction check) is the block's own central
difference along ``v`` with Richardson's extrapolation, ``(8 (f(h) - f(-h)) - (f(2h) -
f(-2h))) / 12 h``, whose error (``h^4`` and ``eps / h``) lies far below the outer stencil's.
Registered ``per_copy``: an inner kind may need one copy's whole batch (dropout's mask).
"""

from __future__ import annotations

import numpy as np

from gradcheck.layers.residual import inner_groups
from gradcheck.oracles.fd_kinds import FD_KINDS, FDKind, Groups, Options
from gradcheck.oracles.fd_network import FD_ACTIVATIONS

__all__: list[str] = []

_INNER_STEP = 2.0**-14  # relative step of ``direction``'s own central difference


def _net(layer: Groups, x: np.ndarray, options: Options) -> np.ndarray:
    """``x + o_J`` with ``o_j = act_j(net_j(o_{j-1}))``, ``o_0 = x``."""
    out = x
    for j, (kind, inner_options, act, slope) in enumerate(options["layers"]):
        net = FD_KINDS[kind].net(inner_groups(layer, j), out, dict(inner_options))
        out = FD_ACTIVATIONS[act](net, slope)
    return np.asarray(x + out)


def _moved(layer: Groups, group: str, change: np.ndarray) -> Groups:
    """The block's groups with ``change`` added to ``group``."""
    return {**layer, group: layer[group] + change}


def _perturbed(
    net: np.ndarray,
    x: np.ndarray,
    layer: Groups,
    group: str,
    flat: np.ndarray,
    steps: np.ndarray,
    options: Options,
) -> np.ndarray:
    """One run of the block per copy, entry ``flat[k]`` of ``group`` moved by ``steps[k]``."""
    copies = []
    for k, s in zip(flat, steps, strict=True):
        change = np.zeros(layer[group].shape)
        change.reshape(-1)[k] = s
        copies.append(_net(_moved(layer, group, change), x, options))
    return np.stack(copies) if copies else np.empty((0, *net.shape))


def _direction(
    x: np.ndarray, layer: Groups, group: str, v: np.ndarray, options: Options
) -> np.ndarray:
    """``d net / dt`` of ``groups[group] + t v`` at 0, by a Richardson central difference."""
    h = _INNER_STEP * max(float(np.max(np.abs(layer[group]), initial=0.0)), 1.0)

    def at(t: float) -> np.ndarray:
        return _net(_moved(layer, group, t * v), x, options)

    return np.asarray((8.0 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12.0 * h))


FD_KINDS.add("residual", FDKind(_net, _perturbed, _direction, per_copy=True))
