"""The finite-difference oracle: ``dE/dparams`` from an own float64 forward pass.

Per scalar entry ``D(h) = (E(p + h) - E(p - h)) / 2h``, a second step ``2h`` for the Richardson
value ``R = (4 D(h) - D(2h)) / 3`` and the error estimate ``|D(2h) - D(h)| / 3 + 1.5 delta / h``
(``delta``: rounding noise of ``E``). All perturbed copies go through one batched NumPy forward
pass (:mod:`gradcheck.oracles.fd_network`), each joining it at its parameter's layer. Entries
whose stencil moves a kinked activation's pre-activation across zero are flagged as kinks; for
those sitting on one, the one-sided derivatives ``(4 E(p +- h) - E(p +- 2h) - 3 E(p)) / (+-2h)``
bound the valid subgradients. ``delta`` and the term magnitudes come from the error model
(:mod:`gradcheck.oracles.error_model`). Imports neither :mod:`gradcheck.hand` nor the JAX
oracle, so a bug in either cannot hide in a shared helper.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.oracles.error_model import rounding_noise, term_magnitudes
from gradcheck.oracles.fd_network import FD_KINDS, Base, base_pass, stencil_losses
from gradcheck.spec import Array, Location, Params, Spec, SpecError

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
_CHUNK = 1 << 21  # floats per batched layer activation; bounds FD memory for large layers
_KINK_RETRY = 64.0  # a directional stencil that crosses a kink is retried with h / 64
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
    ``loss``: ``E(params)``; ``scales``: the magnitude of the terms each entry sums, from the
    error model (every entry, ``only`` or not; see
    :func:`gradcheck.oracles.error_model.term_magnitudes`). Entries left out by ``only`` hold NaN
    and False.
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
    base = base_pass(spec, params, inputs, targets, checked)
    noise = rounding_noise(spec, base)
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
        losses, kink, at_kink = stencil_losses(spec, base, _perturbed_nets(spec, base, chunk))
        h = np.concatenate([piece.steps for piece in chunk])
        per_entry = losses.reshape(-1, len(_STENCIL))
        value, error = _richardson(per_entry, base.loss, h, noise)
        left, right, side_error = _one_sided(per_entry, base.loss, h, noise)
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
    return FDResult(**out, loss=base.loss, scales=term_magnitudes(spec, params, base))


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


def _perturbed_nets(spec: Spec, base: Base, pieces: list[_Piece]) -> list[tuple[int, np.ndarray]]:
    """Layer ``l``'s pre-activation for ``p +- h, p +- 2h`` of every entry, per layer in order,
    moved as the layer's kind says (:class:`~gradcheck.oracles.fd_network.FDKind`)."""
    starts: list[tuple[int, np.ndarray]] = []
    for i in sorted({piece.layer for piece in pieces}):
        kind = FD_KINDS[spec.kinds[i]]
        nets = []
        for piece in (q for q in pieces if q.layer == i):
            steps = (piece.steps[:, None] * _STENCIL).reshape(-1)
            flat = np.repeat(piece.flat, len(_STENCIL))
            moved = kind.perturbed(
                base.nets[i], base.outs[i], base.layers[i], piece.group, flat, steps
            )
            nets.append(moved)
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
    base = base_pass(spec, params, inputs, targets, checked)
    noise = rounding_noise(spec, base)
    rel = DEFAULT_REL_STEP if rel_step is None else float(rel_step)
    rng = np.random.default_rng(seed)
    result = DirectionalResult(
        [{} for _ in params],
        [{} for _ in params],
        [{} for _ in params],
        [{} for _ in params],
        [{} for _ in params],
        base.loss,
        term_magnitudes(spec, params, base),
    )
    for i, layer in enumerate(params):
        for group, a in layer.items():
            p = np.asarray(a, dtype=np.float64)
            v = rng.standard_normal(p.shape)
            v = v / max(float(np.max(np.abs(v))), 1e-300)
            moved = FD_KINDS[spec.kinds[i]].direction(base.outs[i], group, v, base.nets[i].shape)
            h = rel * max(float(np.max(np.abs(p), initial=0.0)), 1.0)
            for _attempt in range(2):
                net = base.nets[i][None] + (h * _STENCIL)[:, None, None] * moved[None]
                losses, kink, _ = stencil_losses(spec, base, [(i, net)])
                if not kink.any():
                    break
                h /= _KINK_RETRY
            value, error = _richardson(losses[None], base.loss, np.array([h]), noise)
            result.directions[i][group] = v
            result.values[i][group] = float(value[0])
            result.errors[i][group] = float(error[0])
            result.steps[i][group] = h
            result.kinks[i][group] = bool(kink.any())
    return result
