"""The finite-difference oracle's own float64 network: activations, losses, layer kinds.

Written apart from :mod:`gradcheck.hand` (which it checks) and from the JAX network, each
registered under the declared names (:mod:`gradcheck.layers`). Perturbed copies of a network
run as one batched pass: ``net`` arrays are ``(copies, batch, *unit shape)``. A layer kind
(:mod:`gradcheck.oracles.fd_kinds`) tells how a step ``s`` in one of its parameters moves its
pre-activation, so a copy joins the pass at its parameter's layer.

Kinks: the finite-difference oracle marks the pre-activations that lie within their rounding
bound of a kink (``Base.near``); a pass reports which of them each copy moves. It can also hold
such units on one side of their kink (``Base.forced``): the unit then follows that side's
piece, continued through 0, ``act(0) + slope_side z`` (exact for the piecewise-linear relu and
leaky_relu), so the loss is smooth in every direction that moves it. A kind may have kinks of
its own (:class:`~gradcheck.oracles.fd_kinds.KindKink`: a max-pool window whose two largest inputs
tie, a residual block's inner relu units): they take a slot of their own (:func:`kind_slot`),
near their kink within its rounding bound, crossed when a copy takes another piece, held on
either piece.

A kinked loss (``svm``'s hinge ``max(0, m)`` at margin ``m = 0``, :data:`FD_LOSS_KINKS`) takes one
more slot after the layers' in ``near``, ``forced`` and ``touched``: its margins, ``(batch, n)``,
found, moved, crossed and held on a piece (``0`` or ``m``) the same way as a kinked unit.

Weight decay: ``Base.decay`` is ``lambda/2 sum W^2`` over every layer's decayed groups (the layer
kinds' declarations), part of ``Base.loss``; the finite-difference oracle adds each copy's exact
change of it to the copy's ``E``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from gradcheck.layers import ACTIVATIONS, LOSSES, Registry
from gradcheck.oracles import (
    fd_norms,  # noqa: F401  (registers the norm kinds)
    fd_rnn,  # noqa: F401  (registers rnn in FD_KINDS)
)
from gradcheck.oracles.fd_kinds import FD_KINDS, FDKind
from gradcheck.spec import Array, Params, Spec, check_arguments

__all__ = [
    "FD_ACTIVATIONS",
    "FD_KINDS",
    "FD_LOSSES",
    "FD_LOSS_KINKS",
    "Base",
    "FDKind",
    "LossKink",
    "Stencil",
    "base_pass",
    "decay_value",
    "kind_slot",
    "kink_pieces",
    "loss_margins",
    "own_options",
    "stencil_losses",
    "unit_stages",
]

FD_ACTIVATIONS: Registry[Callable[[np.ndarray, float], np.ndarray]] = Registry(
    "finite-difference oracle", "activation"
)
Forced = tuple[np.ndarray | None, ...]
FD_LOSSES: Registry[Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = Registry(
    "finite-difference oracle", "loss"
)


def _sigmoid(z: np.ndarray, slope: float) -> np.ndarray:
    e = np.exp(-np.abs(z))  # 1/(1+e^-z) = e^z/(1+e^z), evaluated on the side without overflow
    out: np.ndarray = np.where(z >= 0, 1.0, e) / (1.0 + e)
    return out


def _softmax(z: np.ndarray, slope: float) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


FD_ACTIVATIONS.add("identity", lambda z, slope: z)
FD_ACTIVATIONS.add("sigmoid", _sigmoid)
FD_ACTIVATIONS.add("tanh", lambda z, slope: np.tanh(z))
FD_ACTIVATIONS.add("relu", lambda z, slope: np.maximum(z, 0.0))
FD_ACTIVATIONS.add("leaky_relu", lambda z, slope: np.where(z > 0, z, slope * z))
FD_ACTIVATIONS.add("softplus", lambda z, slope: np.logaddexp(0.0, z))
FD_ACTIVATIONS.add("elu", lambda z, slope: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))))
FD_ACTIVATIONS.add("softmax", _softmax)


def _cross_entropy(net: np.ndarray, out: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``-(1/B) sum t log softmax(net)`` from the log-sum-exp of ``net``."""
    shifted = net - net.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return np.asarray(-(t * log_p).sum(axis=(-2, -1)) / t.shape[0])


def _binary_cross_entropy(net: np.ndarray, out: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(1/B) sum [log(1 + e^net) - t net]`` from ``net``: ``max(net, 0) + log1p(e^-|net|)``."""
    softplus = np.maximum(net, 0.0) + np.log1p(np.exp(-np.abs(net)))
    return np.asarray((softplus - t * net).sum(axis=(-2, -1)) / t.shape[0])


# E per copy, ``out`` shaped (copies, batch, n).
FD_LOSSES.add("half_sse", lambda net, out, t: np.asarray(0.5 * ((out - t) ** 2).sum(axis=(-2, -1))))
FD_LOSSES.add("sse", lambda net, out, t: np.asarray(((out - t) ** 2).sum(axis=(-2, -1))))
FD_LOSSES.add("mse", lambda net, out, t: np.asarray(((out - t) ** 2).mean(axis=(-2, -1))))
FD_LOSSES.add("softmax_cross_entropy", _cross_entropy)
FD_LOSSES.add("binary_cross_entropy", _binary_cross_entropy)


@dataclass(frozen=True)
class LossKink:
    """A loss that sums hinge terms ``weight max(0, m)``: ``margins(out, t)`` are the ``m``
    (kink at 0), ``weights(t)`` their factors (0: not a term), ``reach(moved, t)`` which margins
    a change in the outputs ``moved`` (bool, like ``out``) moves."""

    margins: Callable[[np.ndarray, np.ndarray], np.ndarray]
    weights: Callable[[np.ndarray], np.ndarray]
    reach: Callable[[np.ndarray, np.ndarray], np.ndarray]


def _svm_margins(out: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``m_j = s_j - s_y + 1`` with ``s = out`` and ``s_y`` the score where ``t`` is 1."""
    return np.asarray(out - (out * t).sum(axis=-1, keepdims=True) + 1.0)


# The kinked losses (declared ``kinked``): only these are looked up, so another name raises.
FD_LOSS_KINKS: dict[str, LossKink] = {
    "svm": LossKink(
        _svm_margins,
        lambda t: (1.0 - t) / t.shape[0],  # every j != y, mean over samples
        lambda moved, t: (1.0 - t) * (moved | (moved & (t > 0)).any(axis=-1, keepdims=True)) > 0,
    ),
}


def _hinge_loss(
    kink: LossKink, out: np.ndarray, t: np.ndarray, forced: np.ndarray | None
) -> np.ndarray:
    """``sum weight max(0, m)`` per copy, margins ``forced`` holds on the piece ``0`` (-1) or
    ``m`` (+1)."""
    m = kink.margins(out, t)
    piece = np.maximum(m, 0.0)
    if forced is not None:
        piece = np.where(forced > 0, m, np.where(forced < 0, 0.0, piece))
    return np.asarray((kink.weights(t) * piece).sum(axis=(-2, -1)))


FD_LOSSES.add("svm", lambda net, out, t: _hinge_loss(FD_LOSS_KINKS["svm"], out, t, None))


def loss_margins(spec: Spec, out: np.ndarray, t: np.ndarray) -> np.ndarray | None:
    """The kinked loss's margins at ``out`` (None for a loss without kinks)."""
    return FD_LOSS_KINKS[spec.loss].margins(out, t) if LOSSES[spec.loss].kinked else None


def _loss(
    spec: Spec, net: np.ndarray, out: np.ndarray, t: np.ndarray, forced: Forced
) -> np.ndarray:
    """``E`` per copy; a kinked loss's margins held where ``forced``'s last slot says."""
    held = forced[len(spec.kinds)] if len(forced) > len(spec.kinds) else None
    if held is not None and held.any():
        return _hinge_loss(FD_LOSS_KINKS[spec.loss], out, t, held)
    return FD_LOSSES[spec.loss](net, out, t)


def decay_value(spec: Spec, layers: list[dict[str, np.ndarray]]) -> float:
    """``lambda/2 sum W^2`` over every layer's decayed groups (trainable and frozen)."""
    if not spec.weight_decay:
        return 0.0
    total = sum(
        float(np.sum(layer[g] ** 2))
        for layer, decayed in zip(layers, spec.decayed, strict=True)
        for g in decayed & set(layer)
    )
    return 0.5 * spec.weight_decay * total


@dataclass(frozen=True)
class Base:
    """The unperturbed network in float64: every group, each pre-activation and output.

    ``near[i]`` (``(batch, n_{i+1})`` bool, or None for a layer without a kink): pre-activations
    within their rounding bound of a kink (set by the finite-difference oracle from the error
    model); ``forced[i]`` (int, or None): ``-1`` holds a unit on the first piece of its kink (an
    activation's left, a max-pool window's largest input), ``+j`` on piece ``j`` (the right; the
    window's input of rank ``j``), ``0`` leaves it free; ``ways[i]`` (int, or None: two
    everywhere): how many pieces meet at each unit's kink. All empty: no unit is near a kink,
    none is held. After the layers' slots, one for a kinked loss's margins (None for a loss
    without kinks), then one per layer for its kind's own units (:func:`kind_slot`; a max-pool
    layer's windows, the gap between their two largest inputs; a residual block's inner
    pre-activations). ``loss`` includes ``decay``, the weight decay term."""

    layers: list[dict[str, np.ndarray]]  # every group, trainable and frozen, float64
    nets: list[np.ndarray]  # nets[i]: (batch, n_{i+1})
    outs: list[np.ndarray]  # outs[0]: inputs
    targets: np.ndarray
    loss: float
    decay: float = 0.0
    near: tuple[np.ndarray | None, ...] = ()
    forced: tuple[np.ndarray | None, ...] = ()
    ways: tuple[np.ndarray | None, ...] = ()


_TAU = 2.0**-20  # a power of two: the slopes of a piecewise-linear kink come out exact


def kink_pieces(name: str, slope: float) -> tuple[float, float, float]:
    """``(act(0), left slope, right slope)`` of a kinked activation at its kink at 0."""
    act = FD_ACTIVATIONS[name]
    at_zero = float(act(np.zeros(1), slope)[0])
    steps = np.array([-_TAU, _TAU])
    left, right = (act(steps, slope) - at_zero) / steps
    return at_zero, float(left), float(right)


def _activate(spec: Spec, i: int, net: np.ndarray, forced: np.ndarray | None) -> np.ndarray:
    """Layer ``i``'s activation of ``net``, with the units ``forced`` holds on one piece."""
    out = FD_ACTIVATIONS[spec.activations[i]](net, spec.slopes[i])
    if forced is None or not forced.any():
        return out
    at_zero, left, right = kink_pieces(spec.activations[i], spec.slopes[i])
    piece = at_zero + np.where(forced > 0, right, left) * net
    held: np.ndarray = np.where(forced != 0, piece, out)
    return held


def base_pass(
    spec: Spec,
    params: Params,
    inputs: Array,
    targets: Array,
    checked: bool = False,
    forced: Forced = (),
) -> Base:
    """The forward pass at ``params`` (``checked``: the arguments were already checked), with
    the units ``forced`` holds on one side of their kink (see :class:`Base`)."""
    if not checked:
        check_arguments(spec, params, inputs, targets)
    frozen = spec.frozen_params()
    layers = [
        {k: np.asarray(a, dtype=np.float64) for k, a in {**f, **p}.items()}
        for p, f in zip(params, frozen, strict=True)
    ]
    outs = [np.asarray(inputs, dtype=np.float64)]
    nets: list[np.ndarray] = []
    for i, (layer, kind) in enumerate(zip(layers, spec.kinds, strict=True)):
        own = _own_held(spec, forced, i)
        if own is not None:
            nets.append(_held_net(spec, i, layer, outs[-1][None], outs[-1], own)[0])
        else:
            nets.append(FD_KINDS[kind].net(layer, outs[-1], dict(spec.options[i])))
        outs.append(_activate(spec, i, nets[-1], forced[i] if forced else None))
    t = np.asarray(targets, dtype=np.float64)
    decay = decay_value(spec, layers)
    loss = float(_loss(spec, nets[-1][None], outs[-1][None], t, forced)[0]) + decay
    return Base(layers, nets, outs, t, loss, forced=forced, decay=decay)


class Stencil(NamedTuple):
    """What :func:`stencil_losses` found, per copy: ``losses`` (E), ``crossed`` (a kinked unit
    away from its kink changed sign), ``at_kink`` (a unit near its kink moved); and
    ``touched[i]``: the units of layer ``i`` near a kink that some copy moved (``(batch, n)``
    bool, None where none is), and in one slot more a kinked loss's margins near its kink. The
    losses leave out the weight decay term (the caller adds it per copy)."""

    losses: np.ndarray
    crossed: np.ndarray
    at_kink: np.ndarray
    touched: list[np.ndarray | None]


def own_options(spec: Spec, base: Base, i: int) -> dict[str, Any]:
    """Layer ``i``'s options for its kind's net where ``base`` holds its own units on a piece
    (``"held"``: the residual kind's inner units), else its options as the spec gives them."""
    held = _own_held(spec, base.forced, i)
    options = dict(spec.options[i])
    return options if held is None else {**options, "held": held}


def unit_stages(spec: Spec, base: Base) -> tuple[np.ndarray | None, ...]:
    """Laid out as ``Base.near``: per layer whose kind's own units lie in series (a residual
    block's inner layers), each unit's stage within the slot; None elsewhere (one stage)."""
    slots: list[np.ndarray | None] = [None] * (len(spec.kinds) + 1)
    for i, name in enumerate(spec.kinds):
        kink = FD_KINDS[name].kink
        options = {**dict(spec.options[i]), "groups": base.layers[i]}
        stages = None if kink is None else kink.stages
        slots.append(None if stages is None else stages(base.outs[i], options))
    return tuple(slots)


def _own_held(spec: Spec, forced: Forced, i: int) -> np.ndarray | None:
    """What ``forced`` holds of layer ``i``'s own units (None where it holds none)."""
    slot = kind_slot(spec, i)
    held = forced[slot] if len(forced) > slot else None
    return held if held is not None and held.any() else None


def kind_slot(spec: Spec, i: int) -> int:
    """The slot of layer ``i``'s own kinks (its kind's, not its activation's) in ``Base.near``,
    ``forced`` and ``touched``: after the layers' and the loss's."""
    return len(spec.kinds) + 1 + i


def _held_net(
    spec: Spec,
    i: int,
    layer: dict[str, np.ndarray],
    out: np.ndarray,
    base_x: np.ndarray,
    forced: np.ndarray,
) -> np.ndarray:
    """Layer ``i``'s net of copies ``out`` with the units of its kind's own kinks that ``forced``
    holds on a piece (chosen at ``base_x``, the unperturbed input), copy by copy."""
    kink = FD_KINDS[spec.kinds[i]].kink
    assert kink is not None
    options = {**dict(spec.options[i]), "groups": layer}
    return np.stack([kink.held(copy, base_x, options, forced) for copy in out])


def _carried(
    spec: Spec, i: int, layer: dict[str, np.ndarray], out: np.ndarray, base: Base | None = None
) -> np.ndarray:
    """Layer ``i``'s net of copies ``out`` ``(copies, batch, ...)``: copies and samples as one
    axis, or copy by copy for a kind whose net needs a copy's whole batch or whose own kinks
    ``base`` holds."""
    kind, options = FD_KINDS[spec.kinds[i]], dict(spec.options[i])
    held = None if base is None else _own_held(spec, base.forced, i)
    if held is not None:
        assert base is not None
        return _held_net(spec, i, layer, out, base.outs[i], held)
    if kind.per_copy:
        return np.stack([kind.net(layer, copy, options) for copy in out])
    flat = out.reshape(-1, *out.shape[2:])
    net = kind.net(layer, flat, options)
    return net.reshape(*out.shape[:2], *net.shape[1:])


def _carried_with_units(
    spec: Spec, i: int, layer: dict[str, np.ndarray], out: np.ndarray, base: Base
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`_carried`, and for a kind whose own units lie inside it, their values per copy
    from the same run (held on pieces where ``base`` holds them)."""
    kink = FD_KINDS[spec.kinds[i]].kink
    if kink is None or kink.inner is None:
        return _carried(spec, i, layer, out, base), None
    options = own_options(spec, base, i)  # its units held where ``base`` holds them
    pairs = [kink.inner(layer, copy, options) for copy in out]
    return np.stack([n for n, _ in pairs]), np.stack([u for _, u in pairs])


def _depends(spec: Spec, i: int, layer: dict[str, np.ndarray], moved: np.ndarray) -> np.ndarray:
    """Which pre-activations of layer ``i`` a ``moved`` input reaches through a nonzero weight:
    the kind's net of indicator weights (no bias) and indicator inputs, positive where one does."""
    kind = FD_KINDS[spec.kinds[i]]
    if kind.reach is not None:
        return np.stack([kind.reach(copy) for copy in moved])
    weights = {k: (a != 0).astype(np.float64) for k, a in layer.items() if k != "b"}
    reach: np.ndarray = _carried(spec, i, weights, moved.astype(np.float64)) > 0
    return reach


def _own_units(
    spec: Spec,
    i: int,
    base: Base,
    copies: tuple[np.ndarray, np.ndarray | None],
    fresh: int,
    moved: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per copy and unit of layer ``i``'s own kinks: whether the copy is on another piece than
    the base (another first largest input of a max-pool window, another sign of a block's inner
    pre-activation), and whether it moves the unit. ``copies``: the carried copies' inputs and,
    for a kind whose units lie inside it, their units' values; then ``fresh`` copies started in
    the layer's own parameters (they move every inner unit, as far as this pass knows, and cross
    none); ``moved``: which of the net's units each copy moves."""
    kink = FD_KINDS[spec.kinds[i]].kink
    assert kink is not None
    options = {**dict(spec.options[i]), "groups": base.layers[i]}
    x, values = copies
    if kink.inner is not None:
        units = kink.inner(base.layers[i], base.outs[i], options)[1]
        carried = np.zeros((0, *units.shape)) if values is None else values
        started = np.zeros((fresh, *units.shape), dtype=bool)
        crossing = np.concatenate([np.sign(carried) != np.sign(units), started])
        return crossing, np.concatenate([carried != units, ~started])
    at_base = kink.winners(base.outs[i], options)
    if FD_KINDS[spec.kinds[i]].per_copy:  # its net needs one copy's whole batch
        winners = np.stack([kink.winners(copy, options) for copy in x]) if len(x) else x[:0]
        winners = winners.reshape(len(x), *at_base.shape)
    else:
        flat = x.reshape(-1, *x.shape[2:])
        winners = kink.winners(flat, options).reshape(len(x), *at_base.shape)
    started = np.zeros((fresh, *at_base.shape), dtype=bool)
    return np.concatenate([winners != at_base, started]), moved


def _kinks(
    on_kink: np.ndarray | None, changed: np.ndarray, moved: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per copy: crossed a kink (a unit off its kink changed piece), moved a unit on one; and
    the units on a kink some copy moved (None where none is near)."""
    per_copy = (len(changed), -1)
    if on_kink is None:
        crossed = np.asarray(changed.reshape(per_copy).any(axis=1))
        return crossed, np.zeros(len(changed), dtype=bool), None
    touch = np.asarray(moved & on_kink)
    crossed = np.asarray((changed & ~on_kink).reshape(per_copy).any(axis=1))
    return crossed, np.asarray(touch.reshape(per_copy).any(axis=1)), np.asarray(touch.any(axis=0))


def stencil_losses(spec: Spec, base: Base, starts: list[tuple[int, np.ndarray]]) -> Stencil:
    """Run perturbed copies to the loss in one batched pass per layer.

    ``starts`` holds, in layer order, ``(l, net)``: copies ``(copies, batch, n_l)`` of layer
    ``l``'s pre-activation (everything below ``l`` is the unperturbed ``base``). Returns ``E``
    per copy (in ``starts`` order) and the kinks each copy crossed or moved (:class:`Stencil`).
    Which units a copy moves is tracked exactly (a started pre-activation that differs from the
    base, then through every nonzero weight and every output that changed), not by comparing
    recomputed values: a batched matmul may round otherwise than the base pass did.
    """
    near = base.near if any(n is not None and n.any() for n in base.near) else ()
    out = net = np.empty((0, *base.outs[0].shape))
    crossed = at_kink = np.zeros(0, dtype=bool)
    moved = moved_out = np.zeros(out.shape, dtype=bool)
    slots = len(base.layers)
    touched: list[np.ndarray | None] = [None] * (2 * slots + 1)
    for i, layer in enumerate(base.layers):
        fresh = [n for start, n in starts if start == i]
        if not len(out):
            if not fresh:
                continue
            net = np.concatenate(fresh)
            if near:
                moved = net != base.nets[i]
        else:
            carried, values = _carried_with_units(spec, i, layer, out, base)
            net = np.concatenate([carried, *fresh])
            if near:
                reach = _depends(spec, i, layer, moved_out)
                started = [n != base.nets[i] for n in fresh]
                moved = np.concatenate([reach.reshape(carried.shape), *started])
        new = len(net) - len(out)
        crossed = np.concatenate([crossed, np.zeros(new, dtype=bool)])
        at_kink = np.concatenate([at_kink, np.zeros(new, dtype=bool)])
        if FD_KINDS[spec.kinds[i]].kink is not None:  # a held pass tracks them too
            slot = kind_slot(spec, i)
            copies = (out, values if len(out) else None)
            changed, units = _own_units(spec, i, base, copies, len(net) - len(out), moved)
            crossing, moving, touched[slot] = _kinks(near[slot] if near else None, changed, units)
            crossed, at_kink = crossed | crossing, at_kink | moving
        if ACTIVATIONS[spec.activations[i]].kinked:
            changed = np.sign(net) != np.sign(base.nets[i])
            crossing, moving, touched[i] = _kinks(near[i] if near else None, changed, moved)
            crossed, at_kink = crossed | crossing, at_kink | moving
        out = _activate(spec, i, net, base.forced[i] if base.forced else None)
        if near:
            moved_out = moved & (out != base.outs[i + 1])
    margins = loss_margins(spec, out, base.targets)
    if margins is not None:
        kink = FD_LOSS_KINKS[spec.loss]
        terms = kink.weights(base.targets) > 0
        base_margins = kink.margins(base.outs[-1], base.targets)
        changed = (np.sign(margins) != np.sign(base_margins)) & terms
        on_kink = near[slots] if near else None
        if on_kink is not None:
            changed &= ~on_kink
            touch = kink.reach(moved_out, base.targets) & on_kink
            at_kink |= touch.any(axis=(1, 2))
            touched[slots] = touch.any(axis=0)
        crossed |= changed.any(axis=(1, 2))
    held = base.forced if base.forced else ()
    losses = _loss(spec, net, out, base.targets, held)
    return Stencil(losses, crossed, at_kink, touched)


# The residual kind composes this module's kinds and activations, so it registers once they exist.
from gradcheck.oracles import fd_residual  # noqa: E402, F401
