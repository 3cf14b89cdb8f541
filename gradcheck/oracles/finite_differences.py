"""The finite-difference oracle: ``dE/dparams`` from an own float64 forward pass.

Per scalar entry ``D(h) = (E(p + h) - E(p - h)) / 2h``, a second step ``2h`` for the Richardson
value ``R = (4 D(h) - D(2h)) / 3`` and the error estimate ``|D(2h) - D(h)| / 3 + 1.5 delta / h``
(``delta``: rounding noise of ``E``). All perturbed copies go through one batched NumPy forward
pass, each joining it at its parameter's layer (``W[r, c] += h`` only moves ``net[:, r]``, by
``h x[:, c]``; below it, nothing moves). Entries whose stencil moves a relu/leaky_relu
pre-activation across zero are flagged as kinks; for those sitting on one, the one-sided
derivatives ``(4 E(p +- h) - E(p +- 2h) - 3 E(p)) / (+-2h)`` bound the valid subgradients.
Imports neither :mod:`gradcheck.hand.backprop` nor the JAX oracle, so a bug in either cannot hide in
a shared helper.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.spec import Array, Location, Params, Spec, SpecError
from gradcheck.spec.arguments import check_arguments

__all__ = [
    "DEFAULT_REL_STEP",
    "DirectionalResult",
    "FDResult",
    "directional_finite_difference",
    "finite_difference",
    "finite_difference_grads",
]

_EPS64 = float(np.finfo(np.float64).eps)
DEFAULT_REL_STEP = _EPS64 ** (1.0 / 3.0)  # balances truncation O(h^2) against rounding O(eps/h)
_STENCIL = np.array([1.0, -1.0, 2.0, -2.0])  # multiples of h: D(h) from +-1, D(2h) from +-2
_KINKED = frozenset({"relu", "leaky_relu"})
_CHUNK = 1 << 21  # floats per batched layer activation; bounds FD memory for large layers
_KINK_RETRY = 64.0  # a directional stencil that crosses a kink is retried with h / 64
_KAPPA = 2.0
BoolParams = list[dict[str, np.ndarray]]


@dataclass(frozen=True)
class FDResult:
    """Per-entry finite differences, every field shaped like ``params`` (float64 / bool).

    ``values``: Richardson value ``(4 D(h) - D(2h)) / 3``; ``errors``: its error estimate;
    ``steps``: ``h`` per entry; ``kinks``: the stencil ``p +- h, p +- 2h`` moved a relu/leaky_relu
    pre-activation across zero; ``at_kink``: the point itself sits on a kink for a unit the
    entry moves (the one-sided derivatives differ there); ``left``/``right``: the one-sided
    derivatives from ``E(p)``, ``E(p -+ h)``, ``E(p -+ 2h)``, ``one_sided_errors`` a bound on
    either's error (meaningful where the point is on a kink and no other lies within ``2h``);
    ``loss``: ``E(params)``; ``scales``: the magnitude of the terms each entry sums (every
    entry, ``only`` or not; see :func:`_scales`). Entries left out by ``only`` hold NaN and False.
    """

    values: Params
    errors: Params
    steps: Params
    kinks: BoolParams
    at_kink: BoolParams
    left: Params
    right: Params
    one_sided_errors: Params
    loss: float
    scales: Params


@dataclass(frozen=True)
class DirectionalResult:
    """Finite differences of ``t -> E(p + t v_g)`` at 0, one random direction per group.

    ``directions[l][g]`` is ``v_g`` (shaped like the group, ``max |v_g| = 1``); ``values``,
    ``errors``, ``steps`` and ``kinks`` hold, per group, the Richardson value, its error estimate,
    the step in ``t`` and whether the stencil still crossed a kink after one retry; ``scales``
    the per-entry term magnitudes, as in :class:`FDResult` (the dot's is ``sum |scale| |v|``).
    """

    directions: Params
    values: list[dict[str, float]]
    errors: list[dict[str, float]]
    steps: list[dict[str, float]]
    kinks: list[dict[str, bool]]
    loss: float
    scales: Params


def _activation(name: str, z: np.ndarray, slope: float) -> np.ndarray:
    """``out = act(z)`` elementwise (softmax over the last axis), float64."""
    out: np.ndarray = z
    if name == "sigmoid":
        e = np.exp(-np.abs(z))  # 1/(1+e^-z) = e^z/(1+e^z), evaluated on the side without overflow
        out = np.where(z >= 0, 1.0, e) / (1.0 + e)
    elif name == "tanh":
        out = np.tanh(z)
    elif name == "relu":
        out = np.maximum(z, 0.0)
    elif name == "leaky_relu":
        out = np.where(z > 0, z, slope * z)
    elif name == "softplus":
        out = np.logaddexp(0.0, z)
    elif name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        out = e / e.sum(axis=-1, keepdims=True)
    return out


def _loss(name: str, net: np.ndarray, out: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``E`` per copy, ``out`` shaped ``(copies, batch, n)``; cross-entropy from log_softmax."""
    if name == "half_sse":
        return np.asarray(0.5 * ((out - t) ** 2).sum(axis=(-2, -1)))
    if name == "mse":
        return np.asarray(((out - t) ** 2).mean(axis=(-2, -1)))
    shifted = net - net.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return np.asarray(-(t * log_p).sum(axis=(-2, -1)) / t.shape[0])


def _rounding_scale(spec: Spec, net: np.ndarray, out: np.ndarray, t: np.ndarray) -> float:
    """A bound on the rounding noise of ``E``: ``kappa eps`` times the magnitude the loss sums."""
    if spec.loss == "softmax_cross_entropy":
        magnitude = float(np.sum(np.abs(t)) * (np.max(np.abs(net)) + 1.0)) / t.shape[0]
    else:
        norm = 0.5 if spec.loss == "half_sse" else 2.0 / t.size
        magnitude = norm * float(np.sum(np.abs(out - t) * (np.abs(out) + np.abs(t) + 1.0)))
    kappa = _KAPPA * len(spec.activations) * float(np.sqrt(max(spec.sizes)))
    return float(kappa * _EPS64 * magnitude)


@dataclass(frozen=True)
class _Base:
    layers: list[dict[str, np.ndarray]]  # every group, trainable and frozen, float64
    nets: list[np.ndarray]  # nets[i]: (batch, n_{i+1})
    outs: list[np.ndarray]  # outs[0]: inputs
    targets: np.ndarray
    loss: float
    noise: float  # rounding noise bound of E


def _base_pass(
    spec: Spec, params: Params, inputs: Array, targets: Array, checked: bool = False
) -> _Base:
    if not checked:
        check_arguments(spec, params, inputs, targets)
    frozen = spec.frozen_params()
    layers = [
        {k: np.asarray(a, dtype=np.float64) for k, a in {**f, **p}.items()}
        for p, f in zip(params, frozen, strict=True)
    ]
    outs = [np.asarray(inputs, dtype=np.float64)]
    nets: list[np.ndarray] = []
    for layer, act, slope in zip(layers, spec.activations, spec.slopes, strict=True):
        nets.append(outs[-1] @ layer["W"].T + layer.get("b", 0.0))
        outs.append(_activation(act, nets[-1], slope))
    t = np.asarray(targets, dtype=np.float64)
    loss = float(_loss(spec.loss, nets[-1][None], outs[-1][None], t)[0])
    return _Base(layers, nets, outs, t, loss, _rounding_scale(spec, nets[-1], outs[-1], t))


def _loss_terms(spec: Spec, base: _Base) -> np.ndarray:
    """``|dE/dnet_L|`` on the magnitudes of its terms: ``|out| + |t|`` for ``out - t`` (times
    1/B for cross-entropy's ``softmax * sum t - t``, 2/n for mse); ``|dE/dout_L|`` otherwise."""
    out, t = np.abs(base.outs[-1]), np.abs(base.targets)
    if spec.loss == "softmax_cross_entropy":
        net = base.nets[-1]
        p = np.abs(_activation("softmax", net, 0.0))
        return np.asarray((p * t.sum(axis=-1, keepdims=True) + t) / t.shape[0])
    g = out + t if spec.loss == "half_sse" else 2.0 * (out + t) / t.size
    return _through_activation(spec, len(base.nets) - 1, base, g)


def _through_activation(spec: Spec, i: int, base: _Base, g: np.ndarray) -> np.ndarray:
    """``|g| * |act'|`` with ``act'`` as the magnitude of its terms (tanh ``1 + o^2``, sigmoid
    ``o (1 + o)``: ``1 - o`` cancels as ``o -> 1``); softmax ``|o| (|g| + sum |g o|)``."""
    act, z, o = spec.activations[i], base.nets[i], base.outs[i + 1]
    if act == "softmax":
        return np.asarray(np.abs(o) * (g + np.sum(g * np.abs(o), axis=-1, keepdims=True)))
    slope = abs(spec.slopes[i])
    derivative = {
        "identity": np.ones_like(z),
        "sigmoid": o * (1.0 + o),
        "tanh": 1.0 + o * o,
        "relu": (z > 0).astype(np.float64),
        "leaky_relu": np.where(z > 0, 1.0, slope),
        "softplus": _activation("sigmoid", z, 0.0),
    }[act]
    return np.asarray(g * derivative)


def _scales(spec: Spec, params: Params, base: _Base) -> Params:
    """The delta rule on absolute values: ``|delta_L|`` from :func:`_loss_terms`, ``|delta_l| =
    (|delta_{l+1}| @ |W_{l+1}|) |act_l'|``, ``scale_W = |delta|.T @ |out_{l-1}|``, ``scale_b =
    sum |delta|`` (over samples, and neurons for a shared bias). Where nothing cancels this is
    ``|grad|``; where terms cancel it is their size, which the rounding error scales with."""
    scales: Params = [{} for _ in params]
    delta = _loss_terms(spec, base)
    for i in reversed(range(len(params))):
        if "W" in params[i]:
            scales[i]["W"] = delta.T @ np.abs(base.outs[i])
        if "b" in params[i]:
            per_neuron = delta.sum(axis=0)
            scales[i]["b"] = per_neuron if np.ndim(params[i]["b"]) else np.asarray(per_neuron.sum())
        if i > 0:
            delta = _through_activation(spec, i - 1, base, delta @ np.abs(base.layers[i]["W"]))
    return scales


def _stencil_losses(
    spec: Spec, base: _Base, starts: list[tuple[int, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run perturbed copies to the loss in one batched pass per layer.

    ``starts`` holds, in layer order, ``(l, net)``: copies ``(copies, batch, n_l)`` of layer
    ``l``'s pre-activation (everything below ``l`` is the unperturbed ``base``). Returns ``E``
    per copy (in ``starts`` order) and whether a relu-like pre-activation changed sign, from 0.
    """
    out = net = np.empty((0, *base.outs[0].shape))
    kink = at_kink = np.zeros(0, dtype=bool)
    for i, layer in enumerate(base.layers):
        fresh = [n for start, n in starts if start == i]
        if not len(out):
            if not fresh:
                continue
            net = np.concatenate(fresh)
        else:
            carried = out.reshape(-1, out.shape[-1]) @ layer["W"].T + layer.get("b", 0.0)
            net = np.concatenate([carried.reshape(len(out), *base.nets[i].shape), *fresh])
        new = len(net) - len(out)
        kink = np.concatenate([kink, np.zeros(new, dtype=bool)])
        at_kink = np.concatenate([at_kink, np.zeros(new, dtype=bool)])
        if spec.activations[i] in _KINKED:
            sign = np.sign(base.nets[i])
            moved = np.sign(net) != sign
            kink |= moved.any(axis=(1, 2))
            at_kink |= (moved & (sign == 0)).any(axis=(1, 2))
        out = _activation(spec.activations[i], net, spec.slopes[i])
    return _loss(spec.loss, net, out, base.targets), kink, at_kink


def _richardson(
    losses: np.ndarray, centre: float, h: np.ndarray, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """From ``E(p + m h)`` for m = 1, -1, 2, -2 (columns): value ``R`` and its error estimate.

    The rounding noise ``delta`` is the larger of the model bound and the measured fourth
    difference ``|E(2h) - 4E(h) + 6E(0) - 4E(-h) + E(-2h)| / 8`` (pure noise at these steps).
    """
    d1 = (losses[:, 0] - losses[:, 1]) / (2.0 * h)
    d2 = (losses[:, 2] - losses[:, 3]) / (4.0 * h)
    fourth = losses[:, 2] + losses[:, 3] - 4.0 * (losses[:, 0] + losses[:, 1]) + 6.0 * centre
    delta = np.maximum(noise, np.abs(fourth) / 8.0)
    return (4.0 * d1 - d2) / 3.0, np.abs(d2 - d1) / 3.0 + 1.5 * delta / h


def _one_sided(
    losses: np.ndarray, centre: float, h: np.ndarray, noise: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left and right derivatives ``(4 E(+-h) - E(+-2h) - 3 E(0)) / (+-2h)`` and a bound on their
    error: the gap to the first-order ``(E(+-h) - E(0)) / +-h`` (it overstates the O(h^2)
    truncation) plus rounding ``4 delta / h``, with the model noise ``delta`` (the fourth
    difference measures the kink here, not noise)."""
    first = (losses[:, :2] - centre) / (h[:, None] * _STENCIL[:2])
    second = (4.0 * losses[:, :2] - losses[:, 2:] - 3.0 * centre) / (
        2.0 * h[:, None] * _STENCIL[:2]
    )
    error = np.max(np.abs(second - first), axis=1) + 4.0 * noise / h
    return second[:, 1], second[:, 0], error


def _selected(spec: Spec, params: Params, only: list[Location] | None) -> dict[Any, np.ndarray]:
    """(layer, group) -> flat indices of the entries to difference, in layer order: the order
    :func:`_stencil_losses` returns the copies' losses in, whatever the order of ``only``."""
    if only is None:
        return {(i, g): np.arange(np.size(a)) for i, p in enumerate(params) for g, a in p.items()}
    chosen: dict[Any, list[int]] = {}
    for layer, group, index in only:
        if layer >= len(params) or group not in params[layer]:
            raise SpecError(f"{spec.path}: only: no trainable group {group!r} in layer {layer}")
        shape = np.shape(params[layer][group])
        flat = int(np.ravel_multi_index(index, shape)) if shape else 0
        chosen.setdefault((layer, group), []).append(flat)
    return {key: np.unique(flat) for key, flat in sorted(chosen.items())}


def finite_difference(
    spec: Spec,
    params: Params,
    inputs: Array,
    targets: Array,
    *,
    rel_step: float | None = None,
    only: list[Location] | None = None,
    checked: bool = False,
) -> FDResult:
    """Central differences of ``E`` with a Richardson step for every trainable entry (or ``only``).

    ``h = rel_step * max(|p|, 1)`` per entry, ``rel_step`` defaulting to ``eps_float64 ** (1/3)``.
    ``checked=True``: the caller has already run ``check_arguments`` on these arguments.
    """
    base = _base_pass(spec, params, inputs, targets, checked)
    rel = DEFAULT_REL_STEP if rel_step is None else float(rel_step)
    flags = ("kinks", "at_kink")
    numbers = ("values", "errors", "steps", "left", "right", "one_sided_errors")
    out: dict[str, list[dict[str, np.ndarray]]] = {k: [{} for _ in params] for k in flags + numbers}
    for i, layer in enumerate(params):
        for group, a in layer.items():
            for key in out:
                out[key][i][group] = np.full(np.shape(a), False if key in flags else np.nan)
    pieces = []
    for (i, g), flat in _selected(spec, params, only).items():
        h = rel * np.maximum(np.abs(np.reshape(params[i][g], -1)[flat]), 1.0)
        pieces.append(_Piece(i, g, flat, h.astype(np.float64)))
    per_chunk = max(1, _CHUNK // (len(_STENCIL) * base.nets[0].shape[0] * max(spec.sizes)))
    for chunk in _chunks(pieces, per_chunk):
        losses, kink, at_kink = _stencil_losses(spec, base, _perturbed_nets(base, chunk))
        h = np.concatenate([piece.steps for piece in chunk])
        per_entry = losses.reshape(-1, len(_STENCIL))
        value, error = _richardson(per_entry, base.loss, h, base.noise)
        left, right, side_error = _one_sided(per_entry, base.loss, h, base.noise)
        found = {"values": value, "errors": error, "steps": h, "left": left, "right": right}
        found["one_sided_errors"] = side_error
        for key, moved in (("kinks", kink), ("at_kink", at_kink)):
            found[key] = np.any(moved.reshape(-1, len(_STENCIL)), axis=1)
        lo = 0
        for piece in chunk:
            for key, result in found.items():
                target = out[key][piece.layer][piece.group].reshape(-1)  # a view (contiguous)
                target[piece.flat] = result[lo : lo + piece.flat.size]
            lo += piece.flat.size
    return FDResult(**out, loss=base.loss, scales=_scales(spec, params, base))


@dataclass(frozen=True)
class _Piece:
    """Entries ``flat`` of ``params[layer][group]`` and their steps ``h``."""

    layer: int
    group: str
    flat: np.ndarray
    steps: np.ndarray


def _chunks(pieces: list[_Piece], size: int) -> Iterator[list[_Piece]]:
    """Consecutive runs of about ``size`` entries (a large group is split)."""
    chunk: list[_Piece] = []
    room = size
    for piece in pieces:
        lo = 0
        while lo < piece.flat.size:
            take = min(room, piece.flat.size - lo)
            part = slice(lo, lo + take)
            chunk.append(_Piece(piece.layer, piece.group, piece.flat[part], piece.steps[part]))
            lo, room = lo + take, room - take
            if room == 0:
                yield chunk
                chunk, room = [], size
    if chunk:
        yield chunk


def _perturbed_nets(base: _Base, pieces: list[_Piece]) -> list[tuple[int, np.ndarray]]:
    """Layer ``l``'s pre-activation for ``p +- h, p +- 2h`` of every entry, per layer in order:
    ``W[r, c] += s`` moves ``net[:, r]`` by ``s x[:, c]``, ``b[r] += s`` moves ``net[:, r]`` by
    ``s``, a shared ``b += s`` moves all of ``net`` by ``s``."""
    starts: list[tuple[int, np.ndarray]] = []
    for i in sorted({piece.layer for piece in pieces}):
        nets = []
        for piece in (q for q in pieces if q.layer == i):
            steps = (piece.steps[:, None] * _STENCIL).reshape(-1)
            flat = np.repeat(piece.flat, len(_STENCIL))
            net = np.repeat(base.nets[i][None], steps.size, axis=0)
            copy = np.arange(steps.size)
            if piece.group == "W":
                r, c = np.unravel_index(flat, base.layers[i]["W"].shape)
                net[copy, :, r] += steps[:, None] * base.outs[i][:, c].T
            elif base.layers[i]["b"].ndim == 1:
                net[copy, :, flat] += steps[:, None]
            else:
                net += steps[:, None, None]
            nets.append(net)
        starts.append((i, np.concatenate(nets)))
    return starts


def finite_difference_grads(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """``dE/dparams`` by central differences (Richardson values), float64, shaped like params."""
    return finite_difference(spec, params, inputs, targets).values


def directional_finite_difference(
    spec: Spec,
    params: Params,
    inputs: Array,
    targets: Array,
    *,
    seed: int = 0,
    rel_step: float | None = None,
    checked: bool = False,
) -> DirectionalResult:
    """``d/dt E(p + t v_g)`` at 0 for one random direction ``v_g ~ N(0, I)`` per trainable group,
    scaled to ``max |v_g| = 1``: four forward passes per group whatever its size. Compare with
    ``<grad_g, v_g>``. ``checked`` as for :func:`finite_difference`."""
    base = _base_pass(spec, params, inputs, targets, checked)
    rel = DEFAULT_REL_STEP if rel_step is None else float(rel_step)
    rng = np.random.default_rng(seed)
    result = DirectionalResult(
        [{} for _ in params],
        [{} for _ in params],
        [{} for _ in params],
        [{} for _ in params],
        [{} for _ in params],
        base.loss,
        _scales(spec, params, base),
    )
    for i, layer in enumerate(params):
        for group, a in layer.items():
            p = np.asarray(a, dtype=np.float64)
            v = rng.standard_normal(p.shape)
            v = v / max(float(np.max(np.abs(v))), 1e-300)
            moved = base.outs[i] @ v.T if group == "W" else np.broadcast_to(v, base.nets[i].shape)
            h = rel * max(float(np.max(np.abs(p), initial=0.0)), 1.0)
            for _attempt in range(2):
                net = base.nets[i][None] + (h * _STENCIL)[:, None, None] * moved[None]
                losses, kink, _ = _stencil_losses(spec, base, [(i, net)])
                if not kink.any():
                    break
                h /= _KINK_RETRY
            value, error = _richardson(losses[None], base.loss, np.array([h]), base.noise)
            result.directions[i][group] = v
            result.values[i][group] = float(value[0])
            result.errors[i][group] = float(error[0])
            result.steps[i][group] = h
            result.kinks[i][group] = bool(kink.any())
    return result
