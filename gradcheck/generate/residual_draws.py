"""How the generator draws a residual block into a dense stack: ``x + F(x)`` at one width.

A block is drawn after the dense layers (so drawing none leaves every other draw as it was): the
position it goes to (before dense layer ``p``, whose input width ``n`` it keeps), the activation
after the add (``identity`` first, so it shrinks to a plain sum) and one or two inner dense layers
drawn like any dense layer (:class:`~gradcheck.generate.draws.KindDraw` ``dense``); the last
inner layer is ``n`` wide, so ``F(x)`` adds to ``x``. Weights come from words drawn at the
largest width a block may take, the last ones used, as for dense layers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from gradcheck.generate.bounds import LEAKY_SLOPES, Bounds
from gradcheck.generate.dense_draws import LayerDraw, RawLayer, layer_table
from gradcheck.generate.draws import GENERATE_KINDS, KindDraw
from gradcheck.generate.sources import Source
from gradcheck.layers import ACTIVATIONS

__all__ = ["BlockDraw", "RawBlock", "block_table", "block_width"]


def block_width(b: Bounds) -> int:
    """The widest a block may be: a hidden layer's or the input's largest width."""
    return max(b.widths[1], b.n_inputs[1])


@dataclass(frozen=True)
class RawBlock:
    """A block's choices: ``position`` (reduced to an allowed one when the widths are known),
    the activation after the add and its slope, the inner layers, and whether it goes above a
    dense layer where one fits (``Bounds.layer_below``)."""

    position: int
    activation: str
    slope: float | None
    inner: list[RawLayer]
    above_dense: bool = False


@dataclass(frozen=True)
class BlockDraw:
    """Draws one block's choices among the hidden ``activations``."""

    b: Bounds
    activations: tuple[str, ...]

    def __call__(self, src: Source) -> RawBlock:
        position = src.integer(0, 15)
        outer = ("identity", *(a for a in self.activations if a != "identity"))
        activation = src.choice(outer)
        n = block_width(self.b)
        inner = src.many(1, 2, LayerDraw(self.b, self.activations, self.b.widths, n, n))
        takes = ACTIVATIONS[activation].takes_slope
        slope = LEAKY_SLOPES[position % len(LEAKY_SLOPES)] if takes else None
        above_dense = src.choice(self.b.layer_below)
        return RawBlock(position, activation, slope, inner, above_dense)


def _block_table(r: RawBlock, n: int, scale: float, dtype: str) -> dict[str, Any]:
    """The block's spec table at width ``n``: inner layers as drawn, the last one ``n`` wide."""
    tables, n_in = [], n
    for j, layer in enumerate(r.inner):
        size = n if j == len(r.inner) - 1 else layer.size
        tables.append(layer_table(replace(layer, size=size), n_in, scale, dtype, False))
        n_in = size
    table: dict[str, Any] = {"kind": "residual", "activation": r.activation, "layers": tables}
    if r.slope is not None:
        table["slope"] = r.slope
    return table


def block_table(
    r: RawBlock, b: Bounds, sizes: list[int], kinked: bool, scale: float, dtype: str
) -> tuple[int, dict[str, Any]] | None:
    """``(p, table)``: the block goes before dense layer ``p`` (``sizes[p]`` its input width),
    one of those at most :func:`block_width` wide (after the first where that one is a targeted
    kink, so it stays exactly 0; after one where the block is drawn above a dense layer and one
    fits); None where there is none."""
    room = [p for p in range(int(kinked), len(sizes) - 1) if sizes[p] <= block_width(b)]
    if not room:
        return None
    if r.above_dense and any(p > 0 for p in room):  # its input gradient reaches a dense layer
        room = [p for p in room if p > 0]
    p = room[r.position % len(room)]
    return p, _block_table(r, sizes[p], scale, dtype)


GENERATE_KINDS.add("residual", KindDraw(BlockDraw, block_table))
