"""How far two correct computations of ``E`` and ``dE/dparams`` may round apart: an error model.

* :func:`rounding_noise` bounds the rounding noise of ``E`` itself: ``kappa L sqrt(max width)
  eps`` times the magnitude of the terms the loss sums (it sets the finite-difference error).
* :func:`term_magnitudes` runs the delta rule on absolute values: ``|delta_L|`` from the loss's
  terms (``A_L + |t|`` for ``out - t``), ``|delta_l| = (|delta_{l+1}| @ |W_{l+1}|) |act_l'|`` with
  ``act'`` as the magnitude of its terms (tanh ``1 + o^2``, sigmoid ``o (1 + o)``: ``1 - o``
  cancels as ``o -> 1``; elu ``1 + |o|`` below 0; a unit near its kink takes the larger side),
  ``m_W = max(|delta|.T @ |out_{l-1}|, D.T @ A_{l-1})``, ``m_b = sum |delta|`` (other kinds:
  the same sums, :mod:`gradcheck.oracles.error_kinds`, :mod:`gradcheck.oracles.error_norms`).
  A product is taken to first order, each factor's terms times the other's values (``D``: the
  size of ``delta``'s values, a first pass over ``|out_l|``): multiplying two term sizes
  compounds the cancellation of every layer into the next. Where nothing cancels ``m =
  |grad|``; where terms cancel it is their size, which the rounding scales with.
* Forward, ``T_l = A_{l-1} @ |W_l|.T + |b_l|`` is the size of the terms layer ``l``'s
  pre-activation sums (``A_0 = |x|``), ``c l eps T_l`` its rounding bound in the network's dtype
  (``c =`` :data:`ROUNDING_PER_LAYER`, ``l`` the layer from 1), and ``A_l = max(|out_l|, k_l
  T_l)`` the size an output enters the next sums and the gradients at, ``k_l`` the activation's
  steepest slope near its pre-activation: one that cancels to nearly 0 still rounds with its
  terms; a saturated unit passes nothing on.
* :func:`kink_bands`: a kinked layer's pre-activation within ``c l eps T_l`` of 0 is on the kink
  for every implementation: rounded in another order, it may land on either side; so is a
  kind's own unit (:func:`near_kinks`: a max-pool window's two largest inputs, a residual
  block's inner pre-activation) within ``c (l + 1) eps`` times its terms. A kinked
  loss's margin (``svm``: ``s_j - s_y + 1``) is on its kink within the bounds of the scores it
  subtracts plus ``eps`` of its own size (:func:`near_kinks`' last slot).
* Weight decay ``lambda/2 sum W^2`` adds its own size to ``E``'s and ``lambda |W|`` to each
  decayed entry's term magnitude.

Each activation and loss is registered here on its own (a fourth side beside hand, FD and JAX),
over the finite-difference oracle's float64 forward pass (:mod:`gradcheck.oracles.fd_network`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.layers import ACTIVATIONS, Registry
from gradcheck.oracles.error_kinds import ERROR_KINDS
from gradcheck.oracles.error_norms import NORM_TERMS
from gradcheck.oracles.fd_network import FD_ACTIVATIONS, FD_KINDS, Base, loss_margins
from gradcheck.spec import Params, Spec

__all__ = [
    "ERROR_ACTIVATIONS",
    "ERROR_LOSSES",
    "ERROR_OWN_KINKS",
    "ROUNDING_PER_LAYER",
    "LossTerms",
    "forward_terms",
    "kink_bands",
    "kink_ways",
    "near_kinks",
    "rounding_noise",
    "term_magnitudes",
    "with_kinks",
]

_EPS64 = float(np.finfo(np.float64).eps)
_KAPPA = 2.0
ROUNDING_PER_LAYER = 16.0  # c: rounding per layer, in eps times the magnitude of the terms summed

# |g| through the activation: (g, z, o, slope) -> |g| * |act'| on the magnitudes of its terms.
ERROR_ACTIVATIONS: Registry[Callable[[np.ndarray, np.ndarray, np.ndarray, float], np.ndarray]] = (
    Registry("error model", "activation")
)
ERROR_ACTIVATIONS.add("identity", lambda g, z, o, s: g)
ERROR_ACTIVATIONS.add("sigmoid", lambda g, z, o, s: g * o * (1.0 + o))
ERROR_ACTIVATIONS.add("tanh", lambda g, z, o, s: g * (1.0 + o * o))
ERROR_ACTIVATIONS.add("relu", lambda g, z, o, s: g * (z > 0))
ERROR_ACTIVATIONS.add("leaky_relu", lambda g, z, o, s: g * np.where(z > 0, 1.0, abs(s)))
ERROR_ACTIVATIONS.add("softplus", lambda g, z, o, s: g * FD_ACTIVATIONS["sigmoid"](z, 0.0))
# elu' = 1 + out below 0, as JAX computes it (the derivative of expm1): 1 + out cancels.
ERROR_ACTIVATIONS.add("elu", lambda g, z, o, s: g * np.where(z > 0, 1.0, 1.0 + np.abs(o)))
ERROR_ACTIVATIONS.add(
    "softmax",
    lambda g, z, o, s: np.abs(o) * (g + np.sum(g * np.abs(o), axis=-1, keepdims=True)),
)


@dataclass(frozen=True)
class LossTerms:
    """``output(net, out, t)``: the term magnitudes of ``dE/dout`` (or of ``dE/dnet`` where
    ``fused`` names the output activation the loss is written with); ``size(net, out, t)``: the
    magnitude of the terms ``E`` sums; ``kink_band(out, t, bound, eps)``, for a kinked loss, how
    far each of its margins may round given ``bound``, how far each output may (network dtype's
    ``eps``)."""

    output: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    size: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    fused: str | None = None
    kink_band: Callable[[np.ndarray, np.ndarray, np.ndarray, float], np.ndarray] | None = None


ERROR_LOSSES: Registry[LossTerms] = Registry("error model", "loss")


def _squares_size(norm: Callable[[np.ndarray], float]) -> Callable[..., float]:
    return lambda net, out, t: (
        norm(t) * float(np.sum(np.abs(out - t) * (np.abs(out) + np.abs(t) + 1.0)))
    )


def _cross_entropy_terms(net: np.ndarray, o: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``dE/dnet = (softmax(net) * sum_k t_k - t) / B`` on the magnitudes of its terms, ``o``
    the softmax output's (its value, or the terms its rounding carries from ``net``: a ``net``
    that cancels rounds ``softmax(net)`` with the size of its terms)."""
    return np.asarray((np.abs(o) * t.sum(axis=-1, keepdims=True) + t) / t.shape[0])


ERROR_LOSSES.add(
    "half_sse", LossTerms(lambda net, o, t: np.abs(o) + np.abs(t), _squares_size(lambda t: 0.5))
)
ERROR_LOSSES.add(
    "sse", LossTerms(lambda net, o, t: 2.0 * (np.abs(o) + np.abs(t)), _squares_size(lambda t: 1.0))
)
ERROR_LOSSES.add(
    "mse",
    LossTerms(
        lambda net, o, t: 2.0 * (np.abs(o) + np.abs(t)) / t.size,
        _squares_size(lambda t: 2.0 / t.size),
    ),
)
ERROR_LOSSES.add(
    "softmax_cross_entropy",
    LossTerms(
        _cross_entropy_terms,
        lambda net, out, t: float(np.sum(np.abs(t)) * (np.max(np.abs(net)) + 1.0)) / t.shape[0],
        fused="softmax",
    ),
)


def _binary_terms(net: np.ndarray, o: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``dE/dnet = (sigmoid(net) - t) / B`` on the magnitudes of its terms, ``o`` the sigmoid
    output's (as for :func:`_cross_entropy_terms`)."""
    return np.asarray((np.abs(o) + t) / t.shape[0])


# E sums softplus(net) - t net: terms of size about (1 + |net|) (1 + |t|) each.
ERROR_LOSSES.add(
    "binary_cross_entropy",
    LossTerms(
        _binary_terms,
        lambda net, out, t: float(np.sum((np.abs(net) + 1.0) * (np.abs(t) + 1.0))) / t.shape[0],
        fused="sigmoid",
    ),
)


def _svm_terms(net: np.ndarray, o: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``dE/ds``: at most ``1/B`` for ``j != y``, ``(n - 1)/B`` for the true class."""
    return np.asarray(((1.0 - t) + t * (t.shape[-1] - 1)) / t.shape[0])


def _svm_size(net: np.ndarray, o: np.ndarray, t: np.ndarray) -> float:
    """``E`` sums ``s_j - s_y + 1``: terms of size ``|s_j| + |s_y| + 1`` each (``j != y``)."""
    s_y = np.sum(np.abs(o) * t, axis=-1, keepdims=True)
    return float(np.sum((1.0 - t) * (np.abs(o) + s_y + 1.0)) / t.shape[0])


def _svm_band(o: np.ndarray, t: np.ndarray, bound: np.ndarray, eps: float) -> np.ndarray:
    """``s_j - s_y + 1`` may round by the bounds of ``s_j`` and ``s_y`` and ``eps`` of each
    operation's size."""
    s_y, bound_y = (np.sum(a * t, axis=-1, keepdims=True) for a in (np.abs(o), bound))
    return np.asarray(bound + bound_y + 2.0 * eps * (np.abs(o) + s_y + 1.0))


# Multiclass hinge on the scores (identity output, so ``o = net``).
ERROR_LOSSES.add("svm", LossTerms(_svm_terms, _svm_size, kink_band=_svm_band))


def rounding_noise(spec: Spec, base: Base) -> float:
    """A bound on the rounding noise of ``E``: ``kappa eps`` times the magnitude the loss sums
    (the weight decay term included)."""
    size = ERROR_LOSSES[spec.loss].size(base.nets[-1], base.outs[-1], base.targets)
    size += base.decay  # lambda/2 sum W^2: a sum of positive terms
    kappa = _KAPPA * len(spec.activations) * float(np.sqrt(max(spec.sizes)))
    return float(kappa * _EPS64 * size)


Terms = tuple[list[np.ndarray], list[np.ndarray]]  # (A, T) of forward_terms
_PROBE = 2.0**-20  # relative step for an activation's slope; the estimate is shaded by as much


def _summed(
    spec: Spec, i: int, magnitudes: dict[str, np.ndarray], a: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """``T_i``: the kind's net of the magnitudes, or (a norm) its own terms, which need the
    input's values ``x`` (:data:`~gradcheck.oracles.error_norms.NORM_TERMS`)."""
    options = dict(spec.options[i])
    if spec.kinds[i] in NORM_TERMS:
        return NORM_TERMS[spec.kinds[i]](magnitudes, a, x, options)
    return FD_KINDS[spec.kinds[i]].net(magnitudes, a, options)


def forward_terms(spec: Spec, base: Base) -> Terms:
    """``(A, T)``: ``T[l]`` the magnitude of the terms layer ``l``'s pre-activation sums, ``A[l]``
    that of its input ``out_l``: ``|x|`` for the inputs, then ``max(|out_l|, k_l T[l-1])`` with
    ``k_l`` the activation's steepest slope over ``z +- d`` (``d = 2^-20 (|z| + T)``, shaded by a
    factor ``1 - 2^-20`` for the rounding of the probe itself): a value that cancels to nearly 0
    still rounds with the size of its terms, a saturated unit passes none of it on."""
    outs, terms = [np.abs(base.outs[0])], []
    for i, layer in enumerate(base.layers):
        magnitudes = {k: np.abs(a) for k, a in layer.items()}
        terms.append(_summed(spec, i, magnitudes, outs[i], base.outs[i]))
        act, slope, out = FD_ACTIVATIONS[spec.activations[i]], spec.slopes[i], base.outs[i + 1]
        probe = _PROBE * (np.abs(base.nets[i]) + terms[i]) + np.finfo(np.float64).tiny
        steep = [np.abs(act(base.nets[i] + side * probe, slope) - out) for side in (-1.0, 1.0)]
        carried = np.maximum(*steep) / probe * (1.0 - _PROBE) * terms[i]
        outs.append(np.maximum(np.abs(out), carried))
    return outs, terms


def kink_bands(spec: Spec, base: Base, terms: Terms | None = None) -> list[np.ndarray | None]:
    """Per layer, ``c l eps T_l`` for each pre-activation of a kinked activation (None for the
    others), ``eps`` the network dtype's: how far from its exact value it may round. ``terms``:
    :func:`forward_terms` of ``base``, where the caller has it."""
    eps = float(np.finfo(spec.dtype).eps)
    sums = (forward_terms(spec, base) if terms is None else terms)[1]
    return [
        ROUNDING_PER_LAYER * (i + 1) * eps * t if ACTIVATIONS[act].kinked else None
        for i, (t, act) in enumerate(zip(sums, spec.activations, strict=True))
    ]


# A kind with kinks of its own (FDKind.kink): (|groups|, A_in, x, options, T) -> the magnitude of
# the terms each of its units sums, shaped like the units (max pooling: the pooled T itself).
ERROR_OWN_KINKS: Registry[
    Callable[
        [dict[str, np.ndarray], np.ndarray, np.ndarray, dict[str, Any], np.ndarray], np.ndarray
    ]
] = Registry("error model", "kind with kinks of its own")
ERROR_OWN_KINKS.add("max_pool2d", lambda layer, a, x, options, t: t)


def near_kinks(spec: Spec, base: Base, terms: Terms | None = None) -> tuple[np.ndarray | None, ...]:
    """Per layer, the pre-activations within their :func:`kink_bands` band of a kink at 0; then
    one slot for the loss: a kinked loss's margins within their band of 0 (None otherwise); then
    per layer its kind's own units within ``c (l + 1) eps`` times their terms of their kink (a
    max-pool window whose two largest inputs are that near each other, a residual block's inner
    pre-activation that near 0; None for a kind without). ``terms``: :func:`forward_terms` of
    ``base``, where the caller has it."""
    terms = forward_terms(spec, base) if terms is None else terms
    bands = kink_bands(spec, base, terms)
    layers = tuple(
        None if band is None else np.abs(net) <= band
        for net, band in zip(base.nets, bands, strict=True)
    )
    own = tuple(_near_own_kinks(spec, i, base, terms) for i in range(len(spec.kinds)))
    return (*layers, _near_loss_kinks(spec, base, terms), *own)


def with_kinks(spec: Spec, base: Base, terms: Terms) -> Base:
    """``base`` with its units near a kink marked (:func:`near_kinks`) and, where some are, how
    many pieces meet at each (:func:`kink_ways`)."""
    near = near_kinks(spec, base, terms)
    ways = kink_ways(spec, base, terms) if any(n is not None and n.any() for n in near) else ()
    return dataclasses.replace(base, near=near, ways=ways)


def kink_ways(spec: Spec, base: Base, terms: Terms) -> tuple[np.ndarray | None, ...]:
    """``Base.ways``: laid out as :func:`near_kinks`, per layer whose kind says so (a max-pool
    window), how many pieces meet at each of its own units' kinks given their rounding band
    (three inputs tied: three); None elsewhere (two pieces, where a unit is near its kink)."""
    slots: list[np.ndarray | None] = [None] * (len(spec.kinds) + 1)
    for i, name in enumerate(spec.kinds):
        kink = FD_KINDS[name].kink
        if kink is None or kink.ways is None:
            slots.append(None)
            continue
        options, band = _own_band(spec, i, base, terms)
        slots.append(kink.ways(base.outs[i], options, band))
    return tuple(slots)


def _near_own_kinks(spec: Spec, i: int, base: Base, terms: Terms) -> np.ndarray | None:
    """Layer ``i``'s own units (its kind's kinks) within their rounding band of their kink."""
    kink = FD_KINDS[spec.kinds[i]].kink
    if kink is None:
        return None
    options, band = _own_band(spec, i, base, terms)
    near: np.ndarray = np.abs(kink.margins(base.outs[i], options)) <= band
    return near


def _own_band(spec: Spec, i: int, base: Base, terms: Terms) -> tuple[dict[str, Any], np.ndarray]:
    """Layer ``i``'s kind options (with its groups) and its own units' rounding band,
    ``c (l + 1) eps`` times the terms each unit sums."""
    options = {**dict(spec.options[i]), "groups": base.layers[i]}
    layer = {k: np.abs(a) for k, a in base.layers[i].items()}
    own = ERROR_OWN_KINKS[spec.kinds[i]](layer, terms[0][i], base.outs[i], options, terms[1][i])
    return options, ROUNDING_PER_LAYER * (i + 2) * float(np.finfo(spec.dtype).eps) * own


def _near_loss_kinks(spec: Spec, base: Base, terms: Terms) -> np.ndarray | None:
    """The margins of a kinked loss (``kink_band`` given) within their rounding band of 0."""
    band_of = ERROR_LOSSES[spec.loss].kink_band
    margins = loss_margins(spec, base.outs[-1], base.targets)
    if band_of is None or margins is None:
        return None
    eps = float(np.finfo(spec.dtype).eps)
    depth = len(base.nets)
    bound = ROUNDING_PER_LAYER * depth * eps * terms[1][-1]
    band = band_of(base.outs[-1], base.targets, bound, eps)
    near: np.ndarray = np.abs(margins) <= band
    return near


def _through_activation(spec: Spec, i: int, base: Base, g: np.ndarray) -> np.ndarray:
    through = ERROR_ACTIVATIONS[spec.activations[i]]
    z, o, slope = base.nets[i], base.outs[i + 1], spec.slopes[i]
    near = base.near[i] if base.near else None
    if near is None or not near.any():
        return np.asarray(through(g, z, o, slope))
    tiny = float(np.finfo(np.float64).tiny)  # either side of the kink, however close it is
    sides = [
        through(g, np.where(near, side * np.maximum(np.abs(z), tiny), z), o, slope)
        for side in (-1.0, 1.0)
    ]
    return np.asarray(np.maximum(*sides))


def term_magnitudes(spec: Spec, params: Params, base: Base, terms: Terms | None = None) -> Params:
    """The delta rule on absolute values, per trainable entry, shaped like ``params``
    (``terms``: :func:`forward_terms` of ``base``, where the caller has it). Two passes: the
    first over the values' magnitudes ``|out_l|`` gives ``D_l``, the size of each layer's
    ``delta`` values; the second over the term magnitudes ``A_l`` carries ``D_l`` to each kind
    (option ``delta_values``), which takes a product of ``delta`` and its input to first order:
    each factor's terms times the other's values, never the two term sizes multiplied."""
    outs = (forward_terms(spec, base) if terms is None else terms)[0]
    wanted = [frozenset[str]() for _ in params]
    values = _delta_rule(spec, base, [np.abs(o) for o in base.outs], wanted, None)[1]
    return _delta_rule(spec, base, outs, [frozenset(p) for p in params], values)[0]


def _delta_rule(
    spec: Spec,
    base: Base,
    outs: list[np.ndarray],
    wanted: list[frozenset[str]],
    values: list[np.ndarray] | None,
) -> tuple[Params, list[np.ndarray]]:
    """The magnitudes of the ``wanted`` groups and the ``|delta|`` each layer got, over the
    input magnitudes ``outs`` (``values``: each layer's ``D``, carried to its kind)."""
    loss = ERROR_LOSSES[spec.loss]
    last = len(base.nets) - 1
    delta = loss.output(base.nets[-1], outs[-1], np.abs(base.targets))
    if loss.fused != spec.activations[last]:
        delta = _through_activation(spec, last, base, delta)
    magnitudes: Params = [{} for _ in wanted]
    deltas = [delta] * len(wanted)
    for i in reversed(range(len(wanted))):
        deltas[i] = delta
        layer = {k: np.abs(a) for k, a in base.layers[i].items()}
        options = {**dict(spec.options[i]), "x": base.outs[i]}  # the input's values
        if values is not None:
            options["delta_values"] = values[i]
            options["rounding"] = float(np.finfo(spec.dtype).eps)
        kind = ERROR_KINDS[spec.kinds[i]]
        below, magnitudes[i] = kind(delta, outs[i], layer, options, wanted[i])
        for group in spec.decayed[i] & wanted[i] if spec.weight_decay else ():
            # + lambda W: a term of its own
            magnitudes[i][group] = magnitudes[i][group] + spec.weight_decay * layer[group]
        if i > 0:
            delta = _through_activation(spec, i - 1, base, below)
    return magnitudes, deltas


# The residual kind composes this module's activations, so it registers once they exist.
from gradcheck.oracles import error_residual  # noqa: E402, F401
