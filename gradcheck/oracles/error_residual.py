"""The error model's ``residual`` kind: the block's backward pass on absolute values.

Through the block from its output down, each inner layer's own entry of
:data:`~gradcheck.oracles.error_kinds.ERROR_KINDS` gives its groups' term magnitudes and what it
passes down, and ``|dE/dx| = |delta| + (what came back through the block)``: the skip's terms and
the block's. The inner pre-activations are not known here (only the magnitudes ``A`` of the
block's input are), so each inner activation passes the most its term magnitude can
(:data:`~gradcheck.oracles.error_model.ERROR_ACTIVATIONS` at either end of its range: 2 for
sigmoid and tanh, 1 for relu, ``max(1, slope)`` for leaky_relu), and an inner output's magnitude
is bounded by ``max(|act(T)|, |act(-T)|, k T)`` over its terms ``T``: an upper bound, so a
block's tolerance is never tighter than its rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gradcheck.layers import ACTIVATIONS
from gradcheck.layers.residual import inner_groups, prefixed
from gradcheck.oracles.error_kinds import ERROR_KINDS, Groups
from gradcheck.oracles.error_model import ERROR_ACTIVATIONS, ERROR_OWN_KINKS
from gradcheck.oracles.fd_network import FD_ACTIVATIONS, FD_KINDS

__all__: list[str] = []

_FAR = 1e3  # a pre-activation far on either side: every activation's slope is at its end there


def _steepest(act: str, slope: float, g: np.ndarray) -> np.ndarray:
    """``|g|`` through ``act`` at the larger of its term slopes at either end of its range."""
    through = ERROR_ACTIVATIONS[act]
    ends = [
        through(g, np.full(g.shape, side * _FAR), np.full(g.shape, side), slope)
        for side in (-1.0, 1.0)
    ]
    return np.asarray(np.maximum(*ends))


def _out_bound(act: str, slope: float, terms: np.ndarray) -> np.ndarray:
    """A bound on the magnitude of ``act(z)`` for ``|z| <= terms``, at least ``k terms``."""
    value = FD_ACTIVATIONS[act]
    return np.asarray(
        np.maximum.reduce(
            [
                np.abs(value(terms, slope)),
                np.abs(value(-terms, slope)),
                _steepest(act, slope, terms),
            ]
        )
    )


def _inner_forward(
    layer: Groups, inner: Any, a: np.ndarray, x: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Per inner layer, the magnitude bound its input enters at (from ``a``), its values (from
    ``x``) and the magnitude of the terms its pre-activation sums."""
    outs, values, sums = [a], [x], []
    for j, (kind, inner_options, act, slope) in enumerate(inner):
        terms = np.abs(FD_KINDS[kind].net(inner_groups(layer, j), outs[-1], dict(inner_options)))
        sums.append(terms)
        outs.append(_out_bound(act, slope, terms))
        net = FD_KINDS[kind].net(inner_groups(layer, j), values[-1], dict(inner_options))
        values.append(FD_ACTIVATIONS[act](net, slope))
    return outs, values, sums


def _own_terms(
    layer: Groups, a: np.ndarray, x: np.ndarray, options: Mapping[str, Any], t: np.ndarray
) -> np.ndarray:
    """The terms of the block's inner kinked pre-activations, side by side as the finite-
    difference oracle lays its inner units out (a nested block's own before its pre-activation),
    ``(batch, units)``."""
    inner = options["layers"]
    outs, values, sums = _inner_forward(layer, inner, a, x)
    kinked = []
    for j, (kind, inner_options, act, _) in enumerate(inner):
        if kind == "residual":  # a nested block's own units come first
            nested = inner_groups(layer, j)
            kinked.append(_own_terms(nested, outs[j], values[j], dict(inner_options), sums[j]))
        if ACTIVATIONS[act].kinked:
            kinked.append(sums[j].reshape(len(sums[j]), -1))
    return np.concatenate(kinked, axis=1) if kinked else np.zeros((len(a), 0))


def _inner_backward(
    delta: np.ndarray,
    layer: Groups,
    inner: Any,
    forward: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]],
    wanted: frozenset[str],
    delta_values: list[np.ndarray] | None,
    rounding: float = 0.0,
) -> tuple[np.ndarray, Groups, list[np.ndarray]]:
    """What comes back through the block from ``delta``, the inner groups' magnitudes and the
    delta each inner layer got (``delta_values``: the values' own, carried to each inner kind
    with the network dtype's epsilon ``rounding``)."""
    outs, values, _ = forward
    grads: Groups = {}
    deltas: list[np.ndarray] = [delta] * len(inner)
    g = delta
    for j in reversed(range(len(inner))):
        kind, inner_options, act, slope = inner[j]
        head = prefixed(j, "")
        inner_wanted = frozenset(k.removeprefix(head) for k in wanted if k.startswith(head))
        deltas[j] = _steepest(act, slope, g)
        options = {**dict(inner_options), "x": values[j]}  # a norm's terms need its input's values
        if delta_values is not None:
            options["delta_values"], options["rounding"] = delta_values[j], rounding
        g, found = ERROR_KINDS[kind](
            deltas[j], outs[j], inner_groups(layer, j), options, inner_wanted
        )
        grads.update({prefixed(j, k): m for k, m in found.items()})
    return g, grads, deltas


def _residual(
    delta: np.ndarray,
    a: np.ndarray,
    layer: Groups,
    options: Mapping[str, Any],
    wanted: frozenset[str],
) -> tuple[np.ndarray, Groups]:
    inner, x = options["layers"], options["x"]
    value = options.get("delta_values")
    inner_values = None
    if value is not None:  # the inner deltas' values, over bounds from the block input's values
        forward = _inner_forward(layer, inner, np.abs(x), x)
        inner_values = _inner_backward(value, layer, inner, forward, frozenset(), None)[2]
    forward = _inner_forward(layer, inner, a, x)
    rounding = float(options.get("rounding", 0.0))
    g, grads, _ = _inner_backward(delta, layer, inner, forward, wanted, inner_values, rounding)
    return np.asarray(delta + g), grads


ERROR_KINDS.add("residual", _residual)
ERROR_OWN_KINKS.add("residual", _own_terms)
