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

from gradcheck.layers import ACTIVATIONS
from gradcheck.layers.residual import inner_groups
from gradcheck.oracles.fd_kinds import FD_KINDS, FDKind, Groups, KindKink, Options
from gradcheck.oracles.fd_network import FD_ACTIVATIONS, kink_pieces

__all__: list[str] = []

_INNER_STEP = 2.0**-14  # relative step of ``direction``'s own central difference


def _inner(layer: Groups, x: np.ndarray, options: Options) -> tuple[np.ndarray, list[np.ndarray]]:
    """``x + o_J`` with ``o_j = act_j(net_j(o_{j-1}))``, ``o_0 = x``, and the pre-activations
    ``net_j`` of the inner layers whose activation is kinked, each ``(batch, -1)``, a nested
    block's own units before its ``net_j``. Where ``options["held"]`` (``(batch, units)``, those
    nets side by side) is ``-1``/``+1`` a unit follows the left/right piece of its kink,
    continued through 0."""
    held = options.get("held")
    out, units = x, list[np.ndarray]()
    for j, (kind, inner_options, act, slope) in enumerate(options["layers"]):
        if kind == "residual":  # a nested block: its own inner units come first, held alike
            nested_options = {**dict(inner_options), "held": _past(held, units)}
            net, nested = _inner(inner_groups(layer, j), out, nested_options)
            units += nested
        else:
            net = FD_KINDS[kind].net(inner_groups(layer, j), out, dict(inner_options))
        out = FD_ACTIVATIONS[act](net, slope)
        if ACTIVATIONS[act].kinked:
            flat = net.reshape(len(net), -1)
            rest = _past(held, units)
            if rest is not None:
                part = rest[:, : flat.shape[1]]
                at_zero, left, right = kink_pieces(act, slope)
                piece = at_zero + np.where(part > 0, right, left) * flat
                out = np.where(part != 0, piece, out.reshape(len(out), -1)).reshape(out.shape)
            units.append(flat)
    return np.asarray(x + out), units


def _past(held: np.ndarray | None, units: list[np.ndarray]) -> np.ndarray | None:
    """The columns of ``held`` after those of the ``units`` laid out so far (None: none held)."""
    return None if held is None else held[:, sum(u.shape[1] for u in units) :]


def _net(layer: Groups, x: np.ndarray, options: Options) -> np.ndarray:
    """``x + o_J`` with ``o_j = act_j(net_j(o_{j-1}))``, ``o_0 = x`` (:func:`_inner`)."""
    return _inner(layer, x, options)[0]


def _with_units(layer: Groups, x: np.ndarray, options: Options) -> tuple[np.ndarray, np.ndarray]:
    """The block's net at ``x`` and its inner kinked pre-activations, ``(batch, units)``."""
    net, units = _inner(layer, x, options)
    return net, np.concatenate(units, axis=1) if units else np.zeros((len(x), 0))


def _units(x: np.ndarray, options: Options) -> np.ndarray:
    """The block's inner kinked pre-activations at input ``x``, ``(batch, units)``."""
    return _with_units(options["groups"], x, options)[1]


def _stages(x: np.ndarray, options: Options) -> np.ndarray:
    """Per inner unit, the inner layer it lies in (a nested block's layers each their own): the
    block's layers run one after another, the units of one layer side by side."""
    units = _inner(options["groups"], x, options)[1]
    return np.repeat(np.arange(len(units)), [u.shape[1] for u in units])


def _held(x: np.ndarray, base_x: np.ndarray, options: Options, forced: np.ndarray) -> np.ndarray:
    """The block's net at ``x`` with the inner units ``forced`` holds on a piece."""
    return _net(options["groups"], x, {**options, "held": forced})


def _changed(layer: Groups, group: str, change: np.ndarray) -> Groups:
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
        copies.append(_net(_changed(layer, group, change), x, options))
    return np.stack(copies) if copies else np.empty((0, *net.shape))


def _direction(
    x: np.ndarray, layer: Groups, group: str, v: np.ndarray, options: Options
) -> np.ndarray:
    """``d net / dt`` of ``groups[group] + t v`` at 0, by a Richardson central difference."""
    h = _INNER_STEP * max(float(np.max(np.abs(layer[group]), initial=0.0)), 1.0)

    def at(t: float) -> np.ndarray:
        return _net(_changed(layer, group, t * v), x, options)

    return np.asarray((8.0 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12.0 * h))


FD_KINDS.add(
    "residual",
    FDKind(
        _net,
        _perturbed,
        _direction,
        per_copy=True,
        kink=KindKink(
            _units,
            lambda x, o: np.sign(_units(x, o)).astype(np.int8),
            _held,
            inner=_with_units,
            stages=_stages,
        ),
    ),
)
