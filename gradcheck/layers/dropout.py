"""The ``dropout`` layer kind, declared once: inverted dropout with a fixed mask.

``out = x * mask / (1 - rate)`` with ``mask`` a 0/1 array shaped like the batch, drawn from
``seed``: ``mask = U(0, 1) >= rate`` from NumPy's ``default_rng(seed)`` over the batch's shape
(:func:`dropout_mask`, part of what the spec means, like an init rule). With the mask fixed the
network stays a deterministic function that finite differences can check. No parameters, no
activation; the output has the input's shape.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from gradcheck.layers.tables import FiniteFloat, Table

__all__ = ["DropoutLayer", "dropout_mask"]

Shape = tuple[int, ...]
GLYPH = "grid"
FORWARD = "out_l = out_{l-1} * mask / (1 - rate), mask = default_rng(seed).random(shape) >= rate"


class DropoutLayer(Table):
    """Inverted dropout at ``rate`` (``0 <= rate < 1``) with the mask drawn from ``seed``."""

    kind: Literal["dropout"]
    rate: FiniteFloat = Field(ge=0.0, lt=1.0)
    seed: int = Field(default=0, ge=0)


def dropout_mask(seed: int, rate: float, shape: tuple[int, ...]) -> NDArray[np.bool_]:
    """The fixed mask of a batch shaped ``shape``: ``default_rng(seed).random(shape) >= rate``."""
    keep: NDArray[np.bool_] = np.random.default_rng(seed).random(shape) >= rate
    return keep


def problems(layer: DropoutLayer, at: str, shape: Shape) -> list[str]:
    return []


def shape_after(layer: DropoutLayer, shape: Shape) -> Shape:
    return shape


def options(layer: DropoutLayer) -> dict[str, Any]:
    return {"rate": layer.rate, "seed": layer.seed}
