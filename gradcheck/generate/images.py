"""How the generator draws an image front end: an input ``(C, H, W)``, one or two stages of
``conv2d`` / ``max_pool2d`` / ``avg_pool2d`` / ``dropout`` (a conv stage possibly followed by a
norm, :mod:`~gradcheck.generate.norms`), then ``flatten`` before the dense layers.

Every choice shrinks toward the simplest (one channel, the smallest image, one stage, the first
allowed kind, kernel 1, stride 1, no padding, no bias, a square pooling window; a wider one tells a
pool's rows from its columns) and a stage can be deleted whole. Weights come from words drawn at
their largest (``MAX_CHANNELS^2 MAX_KERNEL^2``) and the last ones used, as for dense layers. A
stage whose window would not fit the image below it is narrowed to fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck.generate.norms import NormDraw, RawNorm, norm_table
from gradcheck.generate.sources import Source
from gradcheck.generate.tables import bias_table
from gradcheck.layers import ACTIVATIONS, KINDS, Shape

__all__ = [
    "IMAGE_KINDS",
    "MAX_FLAT_VALUES",
    "MAX_IMAGE_VALUES",
    "MAX_STAGES",
    "RawStage",
    "StageDraw",
    "image_shape",
    "image_tables",
    "pool_ties",
]

IMAGE_KINDS = ("conv2d", "max_pool2d", "avg_pool2d", "dropout")  # stages; flatten closes it
DROPOUT_RATES = (0.25, 0.5, 0.75)
MAX_CHANNELS, MIN_SIDE, MAX_SIDE, MAX_KERNEL = 3, 3, 6, 3
MAX_IMAGE_VALUES = 2 * MAX_SIDE * MAX_SIDE  # the largest input drawn: 2 channels of 6x6
MAX_STAGES = 2
# the most a stem gives: each stage a 1x1 conv padded by 1 (two such: 6x6 -> 8x8 -> 10x10)
MAX_FLAT_VALUES = MAX_CHANNELS * (MAX_SIDE + 2 * MAX_STAGES) ** 2
_WORDS = MAX_CHANNELS * MAX_CHANNELS * MAX_KERNEL * MAX_KERNEL + MAX_CHANNELS + 1
Decode = Callable[[NDArray[np.uint16], float, float, str], NDArray[Any]]


@dataclass(frozen=True)
class RawStage:
    """One stage's choices; weights stay words until the network's dtype and scale are drawn."""

    kind: str
    channels: int
    kernel: int
    stride: int
    padding: int
    activation: str
    slope: float | None
    bias_mode: str
    words: NDArray[np.uint16]
    norm: RawNorm | None = None  # a norm layer after a conv stage
    wide: int = 0  # a pooling window this much wider than high (its rows and columns apart)


@dataclass(frozen=True)
class StageDraw:
    """Draws one stage's choices among ``kinds`` (hidden ``activations`` for a conv)."""

    kinds: tuple[str, ...]
    activations: tuple[str, ...]
    bias_modes: tuple[str, ...]
    slopes: tuple[float, ...]
    norms: NormDraw | None = None  # a norm after a conv stage, where the kinds allow one

    def __call__(self, src: Source) -> RawStage:
        kind = src.choice(self.kinds)
        channels = src.integer(1, MAX_CHANNELS)
        kernel = src.integer(1, MAX_KERNEL)
        stride = src.integer(1, 2)
        padding = src.integer(0, 1)
        activation = src.choice(self.activations)
        mode = src.choice(self.bias_modes)
        words = src.words(_WORDS)
        takes = ACTIVATIONS[activation].takes_slope
        slope = self.slopes[int(words[-1]) % len(self.slopes)] if takes else None
        norm = self.norms(src) if self.norms is not None and kind == "conv2d" else None
        wide = src.integer(0, 1) if kind in ("max_pool2d", "avg_pool2d") else 0
        return RawStage(
            kind, channels, kernel, stride, padding, activation, slope, mode, words, norm, wide
        )


def image_shape(src: Source) -> Shape:
    """The input's ``(C, H, W)``: one or two channels, each side 3 to 6."""
    return (src.integer(1, 2), src.integer(MIN_SIDE, MAX_SIDE), src.integer(MIN_SIDE, MAX_SIDE))


def _conv_table(r: RawStage, shape: Shape, scale: float, dtype: str, decode: Decode) -> Any:
    k = min(r.kernel, shape[1] + 2 * r.padding, shape[2] + 2 * r.padding)
    n = r.channels * shape[0] * k * k
    w = decode(
        r.words[_WORDS - 1 - MAX_CHANNELS - n : _WORDS - 1 - MAX_CHANNELS], -scale, scale, dtype
    )
    table: dict[str, Any] = {
        "kind": "conv2d",
        "channels": r.channels,
        "kernel": k,
        "stride": r.stride,
        "padding": r.padding,
        "activation": r.activation,
        "weights": w.reshape(r.channels, shape[0], k, k).tolist(),
    }
    if r.slope is not None:
        table["slope"] = r.slope
    b = decode(r.words[_WORDS - 1 - r.channels : _WORDS - 1], -scale, scale, dtype)
    if r.bias_mode != "none":  # no table: the spec's default, no bias
        table["bias"] = bias_table(r.bias_mode, b)
    return table


def image_tables(
    input_shape: Shape, stages: list[RawStage], scale: float, dtype: str, decode: Decode
) -> tuple[list[dict[str, Any]], int]:
    """The stem's spec tables (ending with flatten) and the number of values it gives."""
    shape, tables = input_shape, []
    for r in stages:
        if r.kind == "conv2d":
            table = _conv_table(r, shape, scale, dtype, decode)
        elif r.kind == "dropout":  # its rate from the kernel choice, its seed from a word
            rate = DROPOUT_RATES[r.kernel - 1]
            table = {"kind": "dropout", "rate": rate, "seed": int(r.words[0])}
        else:
            k = min(r.kernel + 1, shape[1], shape[2])  # a 1x1 window pools nothing: from 2
            kw = min(k + r.wide, shape[2])  # a wider window: rows and columns told apart
            table = {"kind": r.kind, "kernel": k if kw == k else [k, kw], "stride": r.stride}
        declared = KINDS[r.kind]
        model = declared.table.model_validate(table)
        shape = declared.shape_after(model, shape)
        tables.append(table)
        if r.norm is not None:  # a norm keeps the shape
            tables.append(norm_table(r.norm, shape, dtype, decode))
    tables.append({"kind": "flatten"})
    return tables, int(np.prod(shape))


def pool_ties(
    x: NDArray[Any], kernel: tuple[int, int], stride: tuple[int, int], margin: float
) -> bool:
    """A max-pool window over ``x`` whose two largest inputs lie within ``margin`` of each other
    (a kink of the max), unless every input of the window is exactly 0 (units a relu below
    holds at 0, or zero padding without a bias: no step moves any of them). A window whose
    largest inputs are 0 beside smaller ones that move is a kink like any other."""
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(2, 3))
    windows = view[:, :, :: stride[0], :: stride[1]]
    flat = np.sort(windows.reshape(*windows.shape[:4], -1), axis=-1)
    if flat.shape[-1] < 2:
        return False
    top, second = flat[..., -1], flat[..., -2]
    close = np.abs(top - second) < margin * np.maximum(1.0, np.abs(top))
    return bool(np.any(close & ~((top == 0) & (flat[..., 0] == 0))))
