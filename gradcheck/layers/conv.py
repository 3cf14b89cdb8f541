"""The ``conv2d`` layer kind, declared once: ``out = act(W * x + b)`` over NCHW images.

``out[n, f, i, j] = act(sum_{c,u,v} W[f, c, u, v] xp[n, c, s i + u, s j + v] + b[f])`` with
``xp`` the input zero-padded by ``padding`` on each side (cross-correlation, as every framework
computes it). ``W`` is ``(channels, in_channels, kh, kw)``; the bias is none, one shared number or
one per output channel (``bias.mode = "per_neuron"``), trainable or frozen as for dense. The
sides implement it in :mod:`gradcheck.hand.conv`, :mod:`gradcheck.oracles.fd_kinds` and
:mod:`gradcheck.oracles.jax_layers`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from gradcheck.layers.activations import ACTIVATIONS
from gradcheck.layers.tables import (
    ActivationName,
    Bias,
    FiniteFloat,
    Init,
    Numbers,
    Table,
    bias_values,
    init_slope_bias_numbers,
    init_weights,
)

__all__ = ["Conv2dLayer", "groups", "numbers", "pair", "problems", "shape_after"]

DECAYED = frozenset({"W"})  # weight_decay's lambda/2 W^2 applies to the kernel, never to the bias
GLYPH = "grid"  # the report draws a conv layer as a stack of feature maps
FORWARD = (
    "net_l[n,f,i,j] = sum_{c,u,v} W_l[f,c,u,v] xp[n,c,s*i+u,s*j+v] + b_l[f] (xp: out_{l-1} "
    "zero-padded by `padding`, s = `stride`, no kernel flip) and out_l = act_l(net_l)"
)
Shape = tuple[int, ...]
Group = tuple[np.ndarray, bool]
Pair = int | list[int]


def pair(value: Pair) -> tuple[int, int]:
    """``3 -> (3, 3)``, ``[2, 3] -> (2, 3)``."""
    return (value, value) if isinstance(value, int) else (value[0], value[1])


class Conv2dLayer(Table):
    """A 2-D convolution over ``(C, H, W)`` inputs: ``channels`` output maps, a ``kernel`` of
    ``kh x kw`` (one number for a square one), ``stride`` and zero ``padding``; ``W`` as a
    nested ``(channels, C, kh, kw)`` array or an init rule; ``trainable = false`` freezes ``W``."""

    kind: Literal["conv2d"]
    channels: int = Field(ge=1, le=4096)
    kernel: int | list[int] = Field(default=3)
    stride: int = Field(default=1, ge=1, le=64)
    padding: int = Field(default=0, ge=0, le=64)
    activation: ActivationName = "identity"
    slope: FiniteFloat | None = Field(default=None, ge=0)
    weights: list[list[list[list[FiniteFloat]]]] | None = None
    init: Init | None = None
    trainable: bool = True
    bias: Bias = Bias(mode="none")


def _kernel_problems(layer: Conv2dLayer, at: str) -> list[str]:
    k = layer.kernel
    if isinstance(k, list) and len(k) != 2:
        return [f"{at}.kernel: one number or [kh, kw] (got {k!r})"]
    if min(pair(k)) < 1:
        return [f"{at}.kernel: every size must be >= 1 (got {k!r})"]
    return []


def shape_after(layer: Conv2dLayer, shape: Shape) -> Shape:
    """``(C, H, W) -> (channels, (H + 2p - kh) // s + 1, (W + 2p - kw) // s + 1)``."""
    kh, kw = pair(layer.kernel)
    p, s = layer.padding, layer.stride
    return (layer.channels, (shape[1] + 2 * p - kh) // s + 1, (shape[2] + 2 * p - kw) // s + 1)


def problems(layer: Conv2dLayer, at: str, shape: Shape) -> list[str]:
    """Input rank, kernel, output size, weight shape, slope and bias problems."""
    if len(shape) != 3:
        return [f"{at}: conv2d takes (channels, height, width) inputs (got shape {list(shape)})"]
    found = _kernel_problems(layer, at)
    if found:
        return found
    kh, kw = pair(layer.kernel)
    out = shape_after(layer, shape)
    if min(out[1:]) < 1:
        found.append(
            f"{at}.kernel: a {kh}x{kw} kernel with padding {layer.padding} does not fit a "
            f"{shape[1]}x{shape[2]} input: the output would be empty"
        )
    if (layer.weights is None) == (layer.init is None):
        both = "both" if layer.weights is not None else "neither"
        found.append(f"{at}: give exactly one of 'weights' or 'init' (got {both})")
    want = (layer.channels, shape[0], kh, kw)
    if layer.weights is not None:
        got = _nested_shape(layer.weights)
        if got != want:
            found.append(
                f"{at}.weights: expected shape {list(want)} (channels, in_channels, kh, kw) "
                f"(got {got if got is not None else 'a ragged array'})"
            )
    takes_slope = ACTIVATIONS[layer.activation].takes_slope
    if takes_slope != (layer.slope is not None):
        found.append(
            f"{at}.slope: leaky_relu and only leaky_relu takes a slope "
            f"(got {layer.slope!r} with {layer.activation})"
        )
    if ACTIVATIONS[layer.activation].output_only:
        found.append(f"{at}.activation: {layer.activation} is not elementwise; not on conv2d")
    return found + _bias_problems(layer.bias, at, layer.channels)


def _bias_problems(b: Bias, at: str, channels: int) -> list[str]:
    if b.name is not None or b.names is not None:
        return [f"{at}.bias: a conv2d bias takes no names"]
    if b.mode == "none" and b.value is not None:
        return [f"{at}.bias.value: mode 'none' takes no value (got {b.value!r})"]
    if b.mode == "shared" and isinstance(b.value, list):
        return [f"{at}.bias.value: a shared bias is one number (got {b.value!r})"]
    if b.mode == "per_neuron" and isinstance(b.value, list) and len(b.value) != channels:
        return [
            f"{at}.bias.value: expected {channels} values, one per channel (got {len(b.value)})"
        ]
    return []


def _nested_shape(a: list[Any]) -> Shape | None:
    """The shape of a regular nested list, None if it is ragged."""
    try:
        return tuple(int(n) for n in np.array(a, dtype=np.float64).shape)
    except ValueError:
        return None


def n_params(layer: Conv2dLayer, shape: Shape) -> int:
    kh, kw = pair(layer.kernel)
    return layer.channels * (shape[0] * kh * kw + 1)


def multiply_adds(layer: Conv2dLayer, shape: Shape) -> int:
    """Per sample: every parameter is used once per output position, ``n_params * OH * OW``."""
    _, oh, ow = shape_after(layer, shape)
    return n_params(layer, shape) * oh * ow


def groups(layer: Conv2dLayer, shape: Shape, dtype: np.dtype[Any]) -> dict[str, Group]:
    """``W`` ``(channels, C, kh, kw)`` (fans ``C kh kw`` and ``channels kh kw``), and ``b``."""
    kh, kw = pair(layer.kernel)
    if layer.weights is not None:
        w = np.array(layer.weights, dtype=dtype)
    else:
        assert layer.init is not None  # guaranteed by problems()
        w_shape = (layer.channels, shape[0], kh, kw)
        w = init_weights(layer.init, w_shape, shape[0] * kh * kw, layer.channels * kh * kw, dtype)
    found: dict[str, Group] = {"W": (w, layer.trainable)}
    b = bias_values(layer.bias, layer.channels, dtype)
    if b is not None:
        found["b"] = (b, layer.bias.trainable)
    return found


def options(layer: Conv2dLayer) -> dict[str, Any]:
    return {"stride": layer.stride, "padding": layer.padding}


def numbers(layer: Conv2dLayer, at: str) -> Numbers:
    """Every real number in the table with its field path, a kernel row as one run."""
    for f, maps in enumerate(layer.weights or []):
        for c, rows in enumerate(maps):
            yield from ((f"{at}.weights[{f}][{c}][{u}]", row) for u, row in enumerate(rows))
    yield from init_slope_bias_numbers(layer, at)
