"""The finite-difference oracle: ``dE/dparams`` from an own float64 forward pass.

Per scalar entry ``D(h) = (E(p + h) - E(p - h)) / 2h``, a second step ``2h`` for the Richardson
value ``R = (4 D(h) - D(2h)) / 3`` and the error estimate ``|D(2h) - D(h)| / 3 + 1.5 delta / h``
(``delta``: rounding noise of ``E``). All perturbed copies go through one batched NumPy forward
pass (:mod:`gradcheck.oracles.fd_network`), each joining it at its parameter's layer.

Kinks. A relu/leaky_relu pre-activation within its rounding bound of 0 (the error model's
:func:`~gradcheck.oracles.error_model.kink_bands`: from the network's dtype and the terms it
sums) is on its kink: rounded in another order it lands on either side, so every convention for
the derivative there is right; so is a max-pool window whose two largest inputs lie that near
each other (any of the inputs that near its largest may take the gradient: a piece each), and a
relu unit inside a residual block (a kind's own units,
:func:`~gradcheck.oracles.fd_network.kind_slot`). An entry whose stencil moves such a unit is
``at_kink``; one whose stencil carries a unit away from its kink across 0 crosses a kink
(``kinks`` holds both). For an entry at a kink the oracle brackets the valid values: it holds
each such unit on one piece (an activation's left or right, continued through 0, so ``E`` is
smooth again) and differences ``E`` for every choice of pieces (per sample, every combination of
its units up to :data:`ENUMERATED_UNITS`, else every choice of at most one unit per stage: a
layer's units lie side by side, their changes add, and across layers they multiply; see
:func:`bracket`). ``E`` sums over samples (a kind whose net takes the whole batch joins them
into one), so ``lower`` and ``upper`` are the derivative with every unit on its first
piece plus, per sample, the most negative and most positive change any choice makes: the
derivatives backprop gives for any slope between the one-sided ones at each unit, whichever
convention a candidate takes, however many samples sit on kinks. A kinked loss's margins
(``svm``'s hinge) are units on kinks in the same way, in one slot after the layers'. Weight
decay enters each copy's ``E`` as its exact value at the perturbed parameter. ``delta``, the
bands and the term magnitudes come from the error model (:mod:`gradcheck.oracles.error_model`).
Imports neither :mod:`gradcheck.hand` nor the JAX oracle, so a bug in either cannot hide in a
shared helper.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from gradcheck.oracles.error_model import (
    Terms,
    forward_terms,
    rounding_noise,
    term_magnitudes,
    with_kinks,
)
from gradcheck.oracles.fd_network import (
    FD_KINDS,
    Base,
    base_pass,
    own_options,
    stencil_losses,
    unit_stages,
)
from gradcheck.spec import Array, Location, Params, Spec, SpecError

__all__ = [
    "DEFAULT_REL_STEP",
    "ENUMERATED_UNITS",
    "STENCIL",
    "Bracket",
    "FDResult",
    "Forced",
    "Held",
    "KinkHull",
    "bracket",
    "finite_difference",
    "finite_difference_grads",
    "held_pass",
    "kink_bracket",
    "richardson",
]

_EPS64 = float(np.finfo(np.float64).eps)
DEFAULT_REL_STEP = _EPS64 ** (1.0 / 3.0)  # balances truncation O(h^2) against rounding O(eps/h)
STENCIL = np.array([1.0, -1.0, 2.0, -2.0])  # multiples of h: D(h) from +-1, D(2h) from +-2
_CHUNK = 1 << 21  # floats per batched layer activation; bounds FD memory for large layers
ENUMERATED_UNITS = 8  # units on kinks per sample whose every combination of pieces is tried
_MAX_PATTERNS = 1024  # beyond this many combinations, units are tried by stage
_MAX_STAGED = 4096  # beyond this many choices by stage, the bracket is unbounded
# a block's exact range: at most this many vertices enumerated times coefficients, and floats
# held (vertices x entries x the free stage's pieces); beyond, its entries are not judged
_MAX_VERTEX_WORK = 1 << 23
_MAX_VERTEX_FLOATS = 1 << 24
BoolParams = list[dict[str, np.ndarray]]
Forced = tuple[np.ndarray | None, ...]


@dataclasses.dataclass(frozen=True)
class FDResult:
    """Per-entry finite differences, every field shaped like ``params`` (float64 / bool).

    ``values``: Richardson value ``(4 D(h) - D(2h)) / 3``; ``errors``: its error estimate;
    ``steps``: ``h`` per entry; ``kinks``: the stencil ``p +- h, p +- 2h`` crossed a kink or
    moved a unit on one; ``at_kink``: it moved a unit on a kink (a pre-activation within its
    rounding bound of 0); ``lower``/``upper``: there, the least and greatest derivative backprop
    gives for any slope between the one-sided ones at each such unit, ``interval_errors`` a bound
    on either's error (NaN where not at a kink); ``loss``: ``E(params)``; ``scales``: the
    magnitude of the terms each entry sums, from the error model (every entry, ``only`` or not;
    see :func:`gradcheck.oracles.error_model.term_magnitudes`). Entries left out by ``only`` hold
    NaN and False.
    """

    values: Params
    errors: Params
    steps: Params
    kinks: BoolParams
    at_kink: BoolParams
    lower: Params
    upper: Params
    interval_errors: Params
    loss: float
    scales: Params
    hull: KinkHull | None = None


@dataclasses.dataclass(frozen=True)
class KinkHull:
    """Where entries sit at a kink, the values a backprop may give them together: ``base`` (every
    unit on its first piece) plus, per group of ``changes`` (a sample's units, every
    combination of their pieces tried), a point of the convex hull of 0 and that group's rows
    (each the change one combination makes). ``entries``: each column's ``(layer, group, flat
    index)``. Per-entry brackets are this set's shadow on each entry alone; it exists only
    where the groups' changes add: every combination of a block's units tried (a block: a
    sample, or the whole batch where a kind's net takes it, a ``batch_norm``), or its units,
    tried one at a time, lie side by side (one group per unit)."""

    entries: tuple[tuple[int, str, int], ...]
    base: np.ndarray
    changes: tuple[np.ndarray, ...]


def richardson(
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
    setup = fd_setup(spec, params, inputs, targets, rel_step=rel_step, only=only, checked=checked)
    found, touched = _differences(spec, setup.base, setup.pieces, setup.noise)
    return fd_result(setup, found, touched)


@dataclasses.dataclass(frozen=True)
class FDSetup:
    """What :func:`finite_difference` knows before its stencils run: the arguments, the float64
    ``base`` pass (its units near kinks marked), the forward ``terms``, the rounding ``noise`` of
    ``E`` and the entries to difference (``pieces``, in layer order, with their steps)."""

    spec: Spec
    arguments: tuple[Params, Array, Array]
    base: Base
    terms: Terms
    noise: float
    pieces: list[_Piece]


def fd_setup(
    spec: Spec,
    params: Params,
    inputs: Array,
    targets: Array,
    *,
    rel_step: float | None = None,
    only: list[Location] | None = None,
    checked: bool = False,
) -> FDSetup:
    """The base pass, error model and steps of :func:`finite_difference` (same arguments)."""
    base = base_pass(spec, params, inputs, targets, checked)
    terms = forward_terms(spec, base)  # once: the kink bands and the term magnitudes share it
    base = with_kinks(spec, base, terms)
    noise = rounding_noise(spec, base)
    rel = DEFAULT_REL_STEP if rel_step is None else float(rel_step)
    pieces = []
    for (i, g), flat in _selected(spec, params, only).items():
        h = rel * np.maximum(np.abs(np.reshape(params[i][g], -1)[flat]), 1.0)
        pieces.append(_Piece(i, g, flat, h.astype(np.float64)))
    return FDSetup(spec, (params, inputs, targets), base, terms, noise, pieces)


def fd_result(
    setup: FDSetup, found: dict[str, np.ndarray], touched: list[np.ndarray | None]
) -> FDResult:
    """The :class:`FDResult` from the stencils' flat ``values``, ``errors``, ``kinks`` and
    ``at_kink`` (pieces in order) and the units on kinks they ``touched``: entries at a kink
    bracketed, every field laid out like ``params``."""
    spec, base, pieces, noise = setup.spec, setup.base, setup.pieces, setup.noise
    params = setup.arguments[0]
    found["steps"] = np.concatenate([piece.steps for piece in pieces]) if pieces else np.zeros(0)
    for key in ("lower", "upper", "interval_errors"):
        found[key] = np.full(found["values"].shape, np.nan)
    hull = None
    if found["at_kink"].any():
        at = found["at_kink"]
        kinked = _restricted(pieces, at)

        def run(forced: Forced) -> Held:
            held = held_pass(spec, setup.arguments, base, forced)
            values, moved = _differences(spec, held, kinked, noise)
            return values["values"], values["errors"], moved

        bounds = kink_bracket(spec, base, run, touched)
        found["lower"][at], found["upper"][at], found["interval_errors"][at] = bounds[:3]
        if bounds.hull:
            entries = tuple((q.layer, q.group, int(f)) for q in kinked for f in q.flat)
            hull = KinkHull(entries, bounds.base, bounds.changes)
    out = _laid_out(params, pieces, found)
    scales = term_magnitudes(spec, params, base, setup.terms)
    return FDResult(**out, loss=base.loss, scales=scales, hull=hull)


def held_pass(
    spec: Spec, arguments: tuple[Params, Array, Array], base: Base, forced: Forced
) -> Base:
    """The float64 pass with the units ``forced`` holds on a piece, its units near kinks and
    their pieces those of the unheld ``base`` (so its stencils report the units they move)."""
    params, inputs, targets = arguments
    held = base_pass(spec, params, inputs, targets, checked=True, forced=forced)
    return dataclasses.replace(held, near=base.near, ways=base.ways)


def kink_bracket(
    spec: Spec, base: Base, run: Callable[[Forced], Held], touched: Touched
) -> Bracket:
    """:func:`bracket` over the units ``touched``, with their pieces and stages from ``base``;
    a kind whose net takes a copy's whole batch couples the samples' choices (batch
    statistics; dropout's mask, to be safe), so its samples' units form one block."""
    coupled = any(FD_KINDS[kind].per_copy for kind in spec.kinds)
    return bracket(run, touched, base.ways, unit_stages(spec, base), coupled)


def _laid_out(
    params: Params, pieces: list[_Piece], found: dict[str, np.ndarray]
) -> dict[str, list[dict[str, np.ndarray]]]:
    """Each flat field of ``found`` shaped like ``params``; entries no piece holds are NaN
    (numbers) or False (flags). A group whose entries are one whole piece, in order, is a
    reshaped slice (the common case: every entry differenced)."""
    out: dict[str, list[dict[str, np.ndarray]]] = {k: [{} for _ in params] for k in found}
    whole = {(q.layer, q.group): q for q in pieces}
    lo = 0
    spans = {}
    for q in pieces:
        spans[q.layer, q.group] = lo
        lo += q.flat.size
    for i, layer in enumerate(params):
        for group, a in layer.items():
            shape = np.shape(a)
            piece = whole.get((i, group))
            size = math.prod(shape)
            if piece is not None and piece.flat.size == size and _in_order(piece.flat):
                at = spans[i, group]
                for key, result in found.items():
                    out[key][i][group] = result[at : at + size].reshape(shape)
                continue
            for key, result in found.items():
                fill = False if result.dtype == bool else np.nan
                target = np.full(shape, fill, dtype=result.dtype)
                if piece is not None:
                    at = spans[i, group]
                    target.reshape(-1)[piece.flat] = result[at : at + piece.flat.size]
                out[key][i][group] = target
    return out


def _in_order(flat: np.ndarray) -> bool:
    """``flat`` is ``0, 1, ..., n - 1``."""
    return bool(np.array_equal(flat, np.arange(flat.size)))


def _differences(
    spec: Spec, base: Base, pieces: list[_Piece], noise: float
) -> tuple[dict[str, np.ndarray], list[np.ndarray | None]]:
    """The stencils of ``pieces`` (in order) through ``base``: flat ``values``, ``errors``,
    ``kinks``, ``at_kink``; and per layer the units on a kink some stencil moved."""
    per_chunk = max(1, _CHUNK // (len(STENCIL) * base.nets[0].shape[0] * max(spec.sizes)))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("values", "errors", "kinks", "at_kink")}
    touched: list[np.ndarray | None] = [None] * (2 * len(base.nets) + 1)  # Base's slots
    for chunk in _chunks(pieces, per_chunk):
        found = stencil_losses(spec, base, _perturbed_nets(spec, base, chunk))
        h = np.concatenate([piece.steps for piece in chunk])
        losses = (
            found.losses.reshape(-1, len(STENCIL)) + base.decay + _decay_changes(spec, base, chunk)
        )
        value, error = richardson(losses, base.loss, h, noise)
        at_kink = np.any(found.at_kink.reshape(-1, len(STENCIL)), axis=1)
        crossed = np.any(found.crossed.reshape(-1, len(STENCIL)), axis=1)
        for key, part in (
            ("values", value),
            ("errors", error),
            ("kinks", crossed | at_kink),
            ("at_kink", at_kink),
        ):
            parts[key].append(part)
        touched = [_union(a, b) for a, b in zip(touched, found.touched, strict=True)]
    joined = {
        k: np.concatenate(v) if v else np.zeros(0, bool if k in ("kinks", "at_kink") else float)
        for k, v in parts.items()
    }
    return joined, touched


def _decay_changes(spec: Spec, base: Base, pieces: list[_Piece]) -> np.ndarray:
    """Per entry and stencil step ``s``: ``lambda/2 ((w + s)^2 - w^2) = lambda s (w + s/2)``
    for a decayed group's entry ``w``, 0 for the others."""
    parts = []
    for piece in pieces:
        steps = piece.steps[:, None] * STENCIL
        if spec.weight_decay and piece.group in spec.decayed[piece.layer]:
            w = base.layers[piece.layer][piece.group].reshape(-1)[piece.flat][:, None]
            parts.append(spec.weight_decay * steps * (w + steps / 2.0))
        else:
            parts.append(np.zeros_like(steps))
    return np.concatenate(parts) if parts else np.zeros((0, len(STENCIL)))


def _union(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return b if a is None else a if b is None else a | b


def _restricted(pieces: list[_Piece], keep: np.ndarray) -> list[_Piece]:
    """``pieces`` with only the entries ``keep`` marks (flat, in order) left."""
    kept, lo = [], 0
    for piece in pieces:
        mask = keep[lo : lo + piece.flat.size]
        lo += piece.flat.size
        if mask.any():
            kept.append(_Piece(piece.layer, piece.group, piece.flat[mask], piece.steps[mask]))
    return kept


class _Unit(NamedTuple):
    """A unit on its kink: its ``slot``, where it is in ``touched[slot]`` (sample first), how many
    ``pieces`` meet there and its ``stage`` (units of one stage lie side by side: no path from a
    parameter to ``E`` passes through two of them)."""

    slot: int
    at: tuple[int, ...]
    pieces: int
    stage: tuple[int, int]


class Pattern(NamedTuple):
    """Pieces to hold the touched units on: ``forced``, the units of ``block`` (a sample, or
    the whole batch where the samples' terms of ``E`` are coupled; -1: the all-first-piece
    pattern) ``chosen`` as ``(unit number, piece >= 1)`` pairs, the others on their first piece;
    ``staged``: the block's combinations are tried at most one unit per stage (too many units to
    try every combination)."""

    block: int
    forced: Forced
    chosen: tuple[tuple[int, int], ...]
    staged: bool


def _units(
    touched: list[np.ndarray | None],
    ways: tuple[np.ndarray | None, ...],
    stages: tuple[np.ndarray | None, ...],
    coupled: bool,
) -> dict[int, list[_Unit]]:
    """The touched units by block: per sample, or all in block 0 where ``coupled``."""
    blocks: dict[int, list[_Unit]] = {}
    for i, t in enumerate(touched):
        count = ways[i] if i < len(ways) else None
        sub = stages[i] if i < len(stages) else None
        for s, *at in np.argwhere(t) if t is not None else ():  # a unit: (sample, *its index)
            unit = (int(s), *map(int, at))
            pieces = 2 if count is None else max(2, int(count[unit]))
            stage = (i, 0 if sub is None else int(sub[unit[-1]]))
            blocks.setdefault(0 if coupled else int(s), []).append(_Unit(i, unit, pieces, stage))
    return blocks


def _staged_choices(found: list[_Unit]) -> list[tuple[tuple[int, int], ...]]:
    """Every choice of at most one ``(unit, piece >= 1)`` per stage, none empty, in stage order."""
    by_stage: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for n, unit in enumerate(found):
        by_stage.setdefault(unit.stage, []).extend((n, j) for j in range(1, unit.pieces))
    options = [[None, *pairs] for _, pairs in sorted(by_stage.items())]
    return [
        tuple(pair for pair in chosen if pair is not None)
        for chosen in itertools.product(*options)
        if any(pair is not None for pair in chosen)
    ]


def _staged_count(found: list[_Unit]) -> int:
    per_stage: dict[tuple[int, int], int] = {}
    for unit in found:
        per_stage[unit.stage] = per_stage.get(unit.stage, 0) + unit.pieces - 1
    return math.prod(k + 1 for k in per_stage.values()) - 1


def _patterns(
    touched: list[np.ndarray | None],
    ways: tuple[np.ndarray | None, ...] = (),
    stages: tuple[np.ndarray | None, ...] = (),
    coupled: bool = False,
) -> tuple[list[Pattern], bool, dict[int, list[_Unit]]]:
    """Which pieces to hold the touched units on, whether every block's choices were tried, and
    the units of each block.

    First every unit on its first piece; then per block (a sample, or the whole batch where
    ``coupled``) each combination of pieces of its units (``ways[i]`` of them at a unit of slot
    ``i``, two where it is None), or, where a block has more than :data:`ENUMERATED_UNITS` units
    or all blocks together would need more than ``_MAX_PATTERNS`` combinations, each choice of
    at most one unit per stage (``stages[i]``: per unit of slot ``i`` its stage within the
    slot, None: one). Where those would be more than ``_MAX_STAGED`` too, only one unit at a
    time, and the second result is False: the units of a block in several stages then combine
    in ways not tried."""
    left = tuple(None if t is None else np.where(t, -1, 0).astype(np.int32) for t in touched)
    blocks = _units(touched, ways, stages, coupled)
    every = sum(math.prod(u.pieces for u in found) - 1 for found in blocks.values())
    many = {
        b for b, found in blocks.items() if len(found) > ENUMERATED_UNITS or every > _MAX_PATTERNS
    }
    complete = sum(_staged_count(blocks[b]) for b in many) <= _MAX_STAGED
    patterns = [Pattern(-1, left, (), False)]
    for b, found in sorted(blocks.items()):
        choices: list[tuple[tuple[int, int], ...]]
        if b not in many:
            every_piece = itertools.product(*(range(u.pieces) for u in found))
            choices = [tuple((n, j) for n, j in enumerate(c) if j) for c in every_piece if any(c)]
        elif complete:
            choices = _staged_choices(found)
        else:
            choices = [((n, j),) for n, u in enumerate(found) for j in range(1, u.pieces)]
        for chosen in choices:
            held = {i: f.copy() for i, f in enumerate(left) if f is not None}
            for n, j in chosen:
                held[found[n].slot][found[n].at] = j
            forced = tuple(held.get(i) for i in range(len(left)))
            patterns.append(Pattern(b, forced, chosen, b in many))
    multi_stage = any(len({u.stage for u in blocks[b]}) > 1 for b in many)
    return patterns, complete or not multi_stage, blocks


class Bracket(NamedTuple):
    """:func:`bracket`'s result: ``lower``, ``upper`` and their error bound per entry; ``base``,
    the values with every unit on its first piece; ``changes``, per group (a block's every
    combination, or one unit's pieces where a block's units were tried by stage and lie in one
    stage) the change each of its choices makes, ``(choices, entries)``; ``hull``: the values a
    backprop may give are exactly ``base`` plus a point of the hull of 0 and each group's rows,
    summed over the groups (False where units of several stages were combined: the set is then
    not convex)."""

    lower: np.ndarray
    upper: np.ndarray
    error: np.ndarray
    base: np.ndarray
    changes: tuple[np.ndarray, ...]
    hull: bool


Touched = list[np.ndarray | None]
# what a held run gives: its values and errors, and the units on kinks its stencils moved (None:
# not tracked)
Held = tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, Touched | None]
_WIDENINGS = 4  # times the units on kinks may grow under held pieces before none is bracketed


def bracket(
    run: Callable[[Forced], Held],
    touched: Touched,
    ways: tuple[np.ndarray | None, ...] = (),
    stages: tuple[np.ndarray | None, ...] = (),
    coupled: bool = False,
) -> Bracket:
    """:func:`_bracket_over` the units ``touched``, and again over more where runs with units
    held on pieces move units on kinks the unheld stencils left alone (a batch_norm after a
    layer whose units all shift alike: held on different pieces per sample they shift apart);
    unbounded where they still grow after :data:`_WIDENINGS` rounds."""
    for _ in range(_WIDENINGS):
        found, seen = _bracket_over(run, touched, ways, stages, coupled)
        grown = [_union(a, b) for a, b in zip(touched, seen or touched, strict=True)]
        if all(_same(a, b) for a, b in zip(grown, touched, strict=True)):
            return found
        touched = grown
    lower, upper = np.full_like(found.lower, -np.inf), np.full_like(found.upper, np.inf)
    return found._replace(lower=lower, upper=upper, hull=False)


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and bool((a == b).all()))


def _bracket_over(
    run: Callable[[Forced], Held],
    touched: Touched,
    ways: tuple[np.ndarray | None, ...],
    stages: tuple[np.ndarray | None, ...],
    coupled: bool,
) -> tuple[Bracket, Touched | None]:
    """``lower``, ``upper`` and their error bound from ``run(forced) -> (values, errors[,
    touched])`` over the patterns of :func:`_patterns`, and the units the runs moved.

    A backprop's value is multi-affine in its choices at the units (a path from a parameter to
    ``E`` passes through at most one unit of a stage, each unit's choice a point of the simplex
    of its pieces): ``V = base + sum_S coef_S prod c``, ``S`` a choice of at most one (unit,
    piece) per stage, ``coef_S`` the alternating sum of the tried values over the subsets of
    ``S`` (Moebius inversion). Where every combination of a block was tried, its contribution
    lies between the least and the greatest change any combination makes; where they were
    tried by stage, between the least and the greatest of ``V - base`` over every choice of
    pieces (:func:`_vertex_range`). Blocks add (``E`` sums over samples; coupled samples form
    one block). Where not every choice could be tried, or that range is too large to enumerate,
    the entries are bracketed by ``-inf`` and ``inf``."""
    patterns, complete, units_of = _patterns(touched, ways, stages, coupled)
    seen: Touched | None = None

    def tried_at(forced: Forced) -> tuple[np.ndarray, np.ndarray]:
        nonlocal seen
        found = run(forced)
        moved = found[2] if len(found) == 3 else None
        if moved is not None:
            seen = (
                moved if seen is None else [_union(a, b) for a, b in zip(seen, moved, strict=True)]
            )
        return found[0], found[1]

    base_values, base_errors = tried_at(patterns[0].forced)
    lower, upper, error = base_values.copy(), base_values.copy(), base_errors.copy()
    blocks: dict[int, dict[tuple[tuple[int, int], ...], tuple[np.ndarray, np.ndarray]]] = {}
    staged: set[int] = set()
    for pattern in patterns[1:]:
        blocks.setdefault(pattern.block, {})[pattern.chosen] = tried_at(pattern.forced)
        if pattern.staged:
            staged.add(pattern.block)
    changes: list[np.ndarray] = []
    hull = complete
    for b, tried in blocks.items():
        if b not in staged:  # every combination: its extremes
            change = np.stack([values - base_values for values, _ in tried.values()])
            changes.append(change)
            lower += np.minimum(change.min(axis=0), 0.0)
            upper += np.maximum(change.max(axis=0), 0.0)
            error += np.stack([e for _, e in tried.values()]).max(axis=0) + base_errors
            continue
        tried[()] = (base_values, base_errors)
        coefs = {chosen: _coefficient(tried, chosen) for chosen in tried if chosen}
        by_units: dict[tuple[int, ...], list[tuple[np.ndarray, np.ndarray]]] = {}
        for chosen, pair in coefs.items():
            by_units.setdefault(tuple(n for n, _ in chosen), []).append(pair)
        exact = _vertex_range(units_of[b], coefs)
        for units, found in by_units.items():
            coef = np.stack([c for c, _ in found])
            error += np.stack([e for _, e in found]).max(axis=0)
            hull = hull and len(units) == 1
            changes.append(coef)
        if exact is None:  # too many vertices: each product bounded by its sign alone would
            complete = hull = False  # pass values no choice gives (x2 past the true range)
        else:
            lower += exact[0]
            upper += exact[1]
    if not complete:
        lower[:], upper[:] = -np.inf, np.inf
    return Bracket(lower, upper, error, base_values, tuple(changes), hull), seen


def _vertex_range(
    found: list[_Unit],
    coefs: dict[tuple[tuple[int, int], ...], tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray] | None:
    """The least and the greatest of ``sum_S coef_S prod c`` over every choice of pieces (each
    unit wholly on one: a multi-affine function takes its extremes at vertices), per entry; None
    where that is more than :data:`_MAX_VERTEX_WORK` or :data:`_MAX_VERTEX_FLOATS`. Every unit
    outside the stage with the most units is enumerated; given them, each unit of that stage
    picks its own extreme piece."""
    stages: dict[tuple[int, int], list[int]] = {}
    for n, unit in enumerate(found):
        stages.setdefault(unit.stage, []).append(n)
    free = set(sorted(stages.values(), key=len)[-1])
    others = [n for n in range(len(found)) if n not in free]
    count = math.prod(found[n].pieces for n in others)
    entries = next(iter(coefs.values()))[0].size
    held = count * entries * (1 + sum(found[n].pieces - 1 for n in free))
    if count * len(coefs) > _MAX_VERTEX_WORK or held > _MAX_VERTEX_FLOATS:
        return None
    grid = np.array(
        list(itertools.product(*(range(found[n].pieces) for n in others))), dtype=np.int64
    ).reshape(count, len(others))
    column = {n: c for c, n in enumerate(others)}
    shape = (count, *next(iter(coefs.values()))[0].shape)
    fixed = np.zeros(shape)  # per choice of the other units: their own terms
    terms: dict[int, dict[int, np.ndarray]] = {}  # free unit -> piece -> its term per choice
    for chosen, (value, _) in coefs.items():
        holds = np.ones(count, dtype=bool)
        own = None
        for n, j in chosen:
            if n in column:
                holds &= grid[:, column[n]] == j
            else:
                own = (n, j)
        part = np.where(holds[:, None], value[None, :], 0.0)
        if own is None:
            fixed += part
        else:
            pieces = terms.setdefault(own[0], {})
            pieces[own[1]] = pieces.get(own[1], 0.0) + part
    least, most = fixed.copy(), fixed.copy()
    for pieces in terms.values():  # piece 0 adds nothing
        stacked = np.stack(list(pieces.values()))
        least += np.minimum(stacked.min(axis=0), 0.0)
        most += np.maximum(stacked.max(axis=0), 0.0)
    return least.min(axis=0), most.max(axis=0)


def _coefficient(
    tried: dict[tuple[tuple[int, int], ...], tuple[np.ndarray, np.ndarray]],
    chosen: tuple[tuple[int, int], ...],
) -> tuple[np.ndarray, np.ndarray]:
    """``coef_S = sum_{R in S} (-1)^{|S| - |R|} V(R)`` over the subsets ``R`` of ``chosen``
    (all of them tried), and the sum of their errors."""
    value, error = np.zeros_like(tried[()][0]), np.zeros_like(tried[()][1])
    for r in range(len(chosen) + 1):
        for subset in itertools.combinations(chosen, r):
            v, e = tried[subset]
            value += (-1.0) ** (len(chosen) - r) * v
            error += e
    return value, error


@dataclasses.dataclass(frozen=True)
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
            steps = (piece.steps[:, None] * STENCIL).reshape(-1)
            flat = np.repeat(piece.flat, len(STENCIL))
            moved = kind.perturbed(
                base.nets[i],
                base.outs[i],
                base.layers[i],
                piece.group,
                flat,
                steps,
                own_options(spec, base, i),
            )
            nets.append(moved)
        starts.append((i, np.concatenate(nets)))
    return starts


def finite_difference_grads(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """``dE/dparams`` by central differences (Richardson values), float64, shaped like params."""
    return finite_difference(spec, params, inputs, targets).values
