"""Finite differences of many networks at once: :func:`finite_differences_many`.

The results are :func:`~gradcheck.oracles.finite_differences.finite_difference`'s, network by
network: the same base pass, error model, steps, Richardson values, error estimates and kink
handling. Only the stencils of networks that are alike run together: dense networks with the
same layer sizes, parameter groups and data shapes (their activations, slopes, losses, weight
decay and dtypes may differ), none of whose units lies near a kink, stacked along a leading
network axis, ``E(p +- h), E(p +- 2h)`` of every entry of every network in one
pass per layer (``W[r, c] += s`` moves ``net[:, r]`` by ``s x[:, c]``, then a stacked matmul per
layer). Every operation is elementwise or one matmul per network, as in the per-network pass, so
the numbers are the same to the bit (the tests compare them). A network near a kink (whose
stencils may need bracketing), of another kind, or too large for one stencil chunk is
differenced alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gradcheck.layers import ACTIVATIONS, LOSSES
from gradcheck.oracles.fd_network import FD_ACTIVATIONS, FD_LOSS_KINKS, FD_LOSSES
from gradcheck.oracles.finite_differences import (
    _CHUNK,
    STENCIL,
    FDResult,
    FDSetup,
    _differences,
    fd_result,
    fd_setup,
    richardson,
)
from gradcheck.spec import Array, Params, Spec

__all__ = ["finite_differences_many"]

Arguments = tuple[Spec, Params, Array, Array]


def finite_differences_many(
    cases: Sequence[Arguments], *, rel_step: float | None = None
) -> list[FDResult]:
    """``[finite_difference(*case, rel_step=rel_step, checked=True) for case in cases]``, the
    stencils of alike networks batched (the arguments must have been checked)."""
    setups = [fd_setup(*case, rel_step=rel_step, checked=True) for case in cases]
    results: list[FDResult | None] = [None] * len(setups)
    alike: dict[Any, list[int]] = {}
    for k, setup in enumerate(setups):
        key = _stackable(setup)
        if key is None:
            alone = _differences(setup.spec, setup.base, setup.pieces, setup.noise)
            results[k] = fd_result(setup, *alone)
        else:
            alike.setdefault(key, []).append(k)
    for ks in alike.values():
        setup = setups[ks[0]]
        copies = len(STENCIL) * sum(q.flat.size for q in setup.pieces)
        per_run = max(1, _CHUNK // (copies * setup.base.nets[0].shape[0] * max(setup.spec.sizes)))
        for lo in range(0, len(ks), per_run):
            run = ks[lo : lo + per_run]
            for k, found in zip(run, _stacked_differences([setups[k] for k in run]), strict=True):
                touched: list[np.ndarray | None] = [None] * (len(setups[k].base.nets) + 1)
                results[k] = fd_result(setups[k], found, touched)
    return [r for r in results if r is not None]


def _stackable(setup: FDSetup) -> tuple[Any, ...] | None:
    """What networks must share to be differenced together, or None for one differenced alone:
    a kind other than dense, a unit near a kink, no entry or more copies than one stencil chunk
    holds."""
    spec, base = setup.spec, setup.base
    if not spec.is_dense or base.forced or any(n is not None and n.any() for n in base.near):
        return None
    entries = sum(q.flat.size for q in setup.pieces)
    if not entries or entries * len(STENCIL) * base.nets[0].shape[0] * max(spec.sizes) > _CHUNK:
        return None
    groups = tuple((q.layer, q.group, q.flat.size) for q in setup.pieces)
    shapes = tuple(tuple((g, a.shape) for g, a in sorted(layer.items())) for layer in base.layers)
    return (spec.sizes, shapes, groups, base.outs[0].shape, base.targets.shape)


def _stacked_differences(setups: list[FDSetup]) -> list[dict[str, np.ndarray]]:
    """The flat ``values``, ``errors``, ``kinks``, ``at_kink`` of each of ``setups`` (alike
    networks, see :func:`_stackable`), their stencils run through one stacked pass."""
    pieces = setups[0].pieces
    layers = [
        {g: _stack([s.base.layers[i][g] for s in setups]) for g in layer}
        for i, layer in enumerate(setups[0].base.layers)
    ]
    nets = [_stack([s.base.nets[i] for s in setups]) for i in range(len(layers))]
    outs = [_stack([s.base.outs[i] for s in setups]) for i in range(len(layers) + 1)]
    steps = [_stack([s.pieces[p].steps for s in setups]) for p in range(len(pieces))]
    n = len(setups)
    out = np.empty((n, 0, *outs[0].shape[1:]))
    net = out
    crossed = np.zeros((n, 0), dtype=bool)
    for i, layer in enumerate(layers):
        fresh = [
            _moved(nets[i], outs[i], layer, q.group, q.flat, h)
            for q, h in zip(pieces, steps, strict=True)
            if q.layer == i
        ]
        carried = [_net(layer, out)] if out.shape[1] else []
        if not carried and not fresh:
            continue  # below the first layer with a trainable group
        net = np.concatenate([*carried, *fresh], axis=1)
        crossed = np.concatenate([crossed, np.zeros((n, net.shape[1] - crossed.shape[1]), bool)], 1)
        out = np.empty_like(net)
        for (name, slope), run in _alike(setups, i).items():
            out[run] = FD_ACTIVATIONS[name](net[run], slope)
            if ACTIVATIONS[name].kinked:
                changed = np.sign(net[run]) != np.sign(nets[i][run, None])
                crossed[run] |= changed.reshape(len(run), net.shape[1], -1).any(axis=2)
    found = []
    for k, setup in enumerate(setups):
        base, loss = setup.base, setup.spec.loss
        losses = FD_LOSSES[loss](net[k], out[k], base.targets)
        crossed_k = crossed[k]
        if LOSSES[loss].kinked:
            kink = FD_LOSS_KINKS[loss]
            terms = kink.weights(base.targets) > 0
            margins = kink.margins(out[k], base.targets)
            base_margins = kink.margins(base.outs[-1], base.targets)
            changed = (np.sign(margins) != np.sign(base_margins)) & terms
            crossed_k = crossed_k | changed.any(axis=(1, 2))
        h = np.concatenate([steps_k[k] for steps_k in steps])
        stencil = losses.reshape(-1, len(STENCIL)) + base.decay + _decay_change(setup, h)
        value, error = richardson(stencil, base.loss, h, setup.noise)
        kinks = crossed_k.reshape(-1, len(STENCIL)).any(axis=1)
        found.append(
            {"values": value, "errors": error, "kinks": kinks, "at_kink": np.zeros_like(kinks)}
        )
    return found


def _stack(arrays: list[np.ndarray]) -> np.ndarray:
    """``np.stack(arrays)``; one array gets its new axis as a view."""
    return arrays[0][None] if len(arrays) == 1 else np.stack(arrays)


def _alike(setups: list[FDSetup], i: int) -> dict[tuple[str, float], np.ndarray]:
    """The networks of ``setups`` by layer ``i``'s activation and slope: index arrays."""
    runs: dict[tuple[str, float], list[int]] = {}
    for k, setup in enumerate(setups):
        runs.setdefault((setup.spec.activations[i], setup.spec.slopes[i]), []).append(k)
    return {key: np.array(ks) for key, ks in runs.items()}


def _decay_change(setup: FDSetup, h: np.ndarray) -> np.ndarray:
    """Per entry and stencil step ``s``: ``lambda s (w + s/2)`` for a decayed group's entry
    ``w`` (the exact change of ``lambda/2 w^2``), 0 for the others."""
    spec, base = setup.spec, setup.base
    steps = h[:, None] * STENCIL
    if not spec.weight_decay:
        return np.zeros_like(steps)
    change: np.ndarray = np.zeros_like(steps)
    lo = 0
    for q in setup.pieces:
        part = slice(lo, lo + q.flat.size)
        lo += q.flat.size
        if q.group in spec.decayed[q.layer]:
            w = base.layers[q.layer][q.group].reshape(-1)[q.flat][:, None]
            change[part] = spec.weight_decay * steps[part] * (w + steps[part] / 2.0)
    return change


def _net(layer: dict[str, np.ndarray], out: np.ndarray) -> np.ndarray:
    """A dense layer's pre-activation of copies ``out`` ``(networks, copies, batch, m)``: one
    matmul per network, ``x W^T + b``, as the per-network pass computes it."""
    n, copies = out.shape[:2]
    flat = out.reshape(n, -1, out.shape[-1])
    b = layer.get("b")
    bias: Any = 0.0 if b is None else b[:, None, :] if b.ndim == 2 else b[:, None, None]
    net = np.matmul(flat, layer["W"].transpose(0, 2, 1)) + bias
    return np.asarray(net.reshape(n, copies, -1, net.shape[-1]))


def _moved(
    net: np.ndarray,
    x: np.ndarray,
    layer: dict[str, np.ndarray],
    group: str,
    flat: np.ndarray,
    h: np.ndarray,
) -> np.ndarray:
    """Copies of the pre-activations ``net`` ``(networks, batch, n)`` for ``p + m h`` (``m`` in
    the stencil) of entries ``flat`` of ``group``, ``h`` ``(networks, entries)``: ``W[r, c] += s``
    moves ``net[:, r]`` by ``s x[:, c]``, ``b[r] += s`` moves ``net[:, r]``, a shared ``b`` all."""
    steps = (h[:, :, None] * STENCIL).reshape(len(h), -1)  # (networks, copies)
    index = np.repeat(flat, len(STENCIL))
    moved = np.repeat(net[:, None], steps.shape[1], axis=1)  # (networks, copies, batch, n)
    copy = np.arange(steps.shape[1])
    if group == "W":
        r, c = np.unravel_index(index, layer["W"].shape[1:])
        moved[:, copy, :, r] += steps.T[:, :, None] * x[:, :, c].transpose(2, 0, 1)
    elif layer["b"].ndim == 2:
        moved[:, copy, :, index] += steps.T[:, :, None]
    else:
        moved += steps[:, :, None, None]
    return moved
