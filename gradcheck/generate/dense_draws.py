"""How a dense layer is drawn: its choices (:class:`LayerDraw` -> :class:`RawLayer`), fitted
as a hidden or the output layer, and its spec table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck.generate.bounds import LEAKY_SLOPES, Bounds, hidden_activations, takes_slope
from gradcheck.generate.sources import Source
from gradcheck.generate.tables import bias_table, decode, trainable_flags
from gradcheck.layers import ACTIVATIONS, LOSSES

__all__ = ["LayerDraw", "RawLayer", "as_hidden", "as_output", "layer_table"]


@dataclass(frozen=True)
class RawLayer:
    """A layer's choices; weights stay words until the network's dtype and scale are drawn.

    The words are drawn ``max_out x max_in`` whatever the layer's shape and the last ``size``
    rows and ``n_in`` columns used, so deleting a layer or narrowing one leaves every draw
    valid, and unit ``j`` keeps its outgoing weights: the values the shrinker leaves nonzero
    (it zeroes early choices first) stay in use.
    """

    size: int
    activation: str
    slope: float | None
    bias_mode: str
    w_trainable: bool
    b_trainable: bool
    weight_words: NDArray[np.uint16]
    bias_words: NDArray[np.uint16]


@dataclass(frozen=True)
class LayerDraw:
    """Draws one layer's choices."""

    b: Bounds
    activations: tuple[str, ...]
    widths: tuple[int, int]
    max_in: int
    max_out: int

    def __call__(self, src: Source) -> RawLayer:
        # Five choices per layer with the "one more?" choice before it, so Hypothesis's
        # five-node deletion pass can remove a whole layer. Bias mode and frozen flags share one
        # choice (0 shrinks to no bias, both trainable; each group is frozen one time in four)
        # and a leaky-relu slope comes from the last word.
        b = self.b
        size = src.integer(*self.widths)
        activation = src.choice(self.activations)
        flags = src.integer(0, 16 * len(b.bias_modes) - 1)
        mode, frozen = b.bias_modes[flags // 16], flags % 16
        words = src.words(self.max_out * (self.max_in + 1) + 1)
        slope = LEAKY_SLOPES[words[-1] % len(LEAKY_SLOPES)] if takes_slope(activation) else None
        w_trainable, b_trainable = trainable_flags(mode, b.frozen, frozen)
        return RawLayer(
            size=size,
            activation=activation,
            slope=slope,
            bias_mode=mode,
            w_trainable=w_trainable,
            b_trainable=b_trainable,
            weight_words=words[self.max_out : -1].reshape(self.max_out, self.max_in),
            bias_words=words[: self.max_out],
        )


def mapped(r: RawLayer, allowed: tuple[str, ...], acts: tuple[str, ...]) -> RawLayer:
    """``r`` with its activation moved into ``allowed`` (by its position among the drawn ones,
    so the choice still shrinks toward the first), the slope drawn for it kept or set."""
    if r.activation in allowed:
        return r
    act = allowed[acts.index(r.activation) % len(allowed)]
    slope = (r.slope or LEAKY_SLOPES[0]) if takes_slope(act) else None
    return replace(r, activation=act, slope=slope)


def as_hidden(r: RawLayer, b: Bounds, acts: tuple[str, ...]) -> RawLayer:
    """A drawn layer below the output: width within ``widths``, a hidden activation."""
    size = min(max(r.size, b.widths[0]), b.widths[1])
    return _sized(mapped(r, hidden_activations(b), acts), size)


def as_output(r: RawLayer, b: Bounds, loss: str, acts: tuple[str, ...]) -> RawLayer:
    """The last drawn layer: width within ``n_outputs``, the activation the loss needs (softmax
    under cross-entropy) or one of the output activations; a softmax gets two units at least
    where the bounds allow (over one unit it is the constant 1, and every gradient below 0)."""
    needs = LOSSES[loss].output_activation
    if needs is not None:
        r = replace(r, activation=needs, slope=None)
    elif b.output_activations is not None:
        r = mapped(r, b.output_activations, acts)
    two = ACTIVATIONS[r.activation].output_only or LOSSES[loss].one_hot  # svm: a class to beat
    low = max(b.n_outputs[0], 2 if two else 1)
    return _sized(r, min(max(r.size, low), b.n_outputs[1]))


def _sized(r: RawLayer, size: int) -> RawLayer:
    """``r`` with ``size`` units (``r`` itself where it has them: most draws fit)."""
    return r if r.size == size else replace(r, size=size)


def layer_table(r: RawLayer, n_in: int, scale: float, dtype: str, kinked: bool) -> dict[str, Any]:
    """The spec table of a drawn layer; ``kinked`` zeroes neuron 0's weights and bias, so its
    pre-activation is exactly 0 for every sample."""
    max_out, max_in = r.weight_words.shape
    weights = decode(r.weight_words[max_out - r.size :, max_in - n_in :], -scale, scale, dtype)
    bias_values = decode(r.bias_words[len(r.bias_words) - r.size :], -scale, scale, dtype)
    if kinked:
        weights[0] = 0.0
        bias_values[:1] = 0.0
    table: dict[str, Any] = {
        "size": r.size,
        "activation": r.activation,
        "weights": weights.tolist(),
    }
    if r.slope is not None:
        table["slope"] = r.slope
    if not r.w_trainable:
        table["trainable"] = False
    table["bias"] = bias_table(r.bias_mode, bias_values, r.b_trainable)
    return table
