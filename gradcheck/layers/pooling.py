"""The parameter-free kinds that reshape images, declared once: ``max_pool2d``, ``avg_pool2d``
and ``flatten``.

Pooling, per channel over windows of ``kernel`` taken every ``stride`` (default: the kernel, so
windows do not overlap), no padding: ``out[n, c, i, j] = max`` (or ``mean``) of
``x[n, c, sh i + u, sw j + v]`` over ``u < kh, v < kw``. ``flatten`` turns ``(C, H, W)`` into
``C H W`` values in C order, so a dense layer can follow. None has parameters or an activation.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gradcheck.layers.conv import pair
from gradcheck.layers.tables import Table

__all__ = ["FlattenLayer", "PoolLayer", "flatten_problems", "pool_problems"]

Shape = tuple[int, ...]
POOL_GLYPH = "grid"
FLATTEN_GLYPH = "bar"
MAX_FORWARD = "out_l[n,c,i,j] = max over the kernel window at (sh*i, sw*j) of out_{l-1}[n,c]"
AVG_FORWARD = "out_l[n,c,i,j] = mean over the kernel window at (sh*i, sw*j) of out_{l-1}[n,c]"
FLATTEN_FORWARD = "out_l = out_{l-1}.reshape(batch, -1) (C order)"


class PoolLayer(Table):
    """Max or average pooling over ``kernel`` windows every ``stride`` (default: the kernel)."""

    kind: Literal["max_pool2d", "avg_pool2d"]
    kernel: int | list[int] = Field(default=2)
    stride: int | list[int] | None = None


class FlattenLayer(Table):
    """``(C, H, W) -> C H W`` values per sample, C order."""

    kind: Literal["flatten"]


def _windows(layer: PoolLayer) -> tuple[tuple[int, int], tuple[int, int]]:
    kernel = pair(layer.kernel)
    return kernel, kernel if layer.stride is None else pair(layer.stride)


def pool_problems(layer: PoolLayer, at: str, shape: Shape) -> list[str]:
    """Input rank, window sizes and an empty output."""
    if len(shape) != 3:
        return [f"{at}: {layer.kind} takes (channels, height, width) inputs (got {list(shape)})"]
    for field in ("kernel", "stride"):
        v = getattr(layer, field)
        if isinstance(v, list) and len(v) != 2:
            return [f"{at}.{field}: one number or a pair (got {v!r})"]
        if v is not None and min(pair(v)) < 1:
            return [f"{at}.{field}: every size must be >= 1 (got {v!r})"]
    (kh, kw), _ = _windows(layer)
    if kh > shape[1] or kw > shape[2]:
        return [
            f"{at}.kernel: a {kh}x{kw} window does not fit a {shape[1]}x{shape[2]} input: "
            "the output would be empty"
        ]
    return []


def pool_shape_after(layer: PoolLayer, shape: Shape) -> Shape:
    """``(C, H, W) -> (C, (H - kh) // sh + 1, (W - kw) // sw + 1)``."""
    (kh, kw), (sh, sw) = _windows(layer)
    return (shape[0], (shape[1] - kh) // sh + 1, (shape[2] - kw) // sw + 1)


def pool_options(layer: PoolLayer) -> dict[str, Any]:
    kernel, stride = _windows(layer)
    return {"kernel": kernel, "stride": stride}


def flatten_problems(layer: FlattenLayer, at: str, shape: Shape) -> list[str]:
    return []


def flatten_shape_after(layer: FlattenLayer, shape: Shape) -> Shape:
    n = 1
    for s in shape:
        n *= s
    return (n,)
