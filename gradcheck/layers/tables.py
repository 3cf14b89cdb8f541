"""Pieces of TOML tables that several layer kinds share: strict models, numbers, init, bias.

The models are strict and frozen (TOML already has types: ``"0.5"`` is a mistake, not a number to
coerce) and forbid unknown keys.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from gradcheck.layers.activations import ACTIVATIONS

__all__ = [
    "ActivationName",
    "Bias",
    "FiniteFloat",
    "Init",
    "Numbers",
    "Table",
    "bias_values",
    "init_slope_bias_numbers",
    "init_weights",
]

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Numbers = Iterator[tuple[str, float | list[float]]]
"""A table's real numbers with their field paths (for the float32 range check): a number as
``(path, value)``, a list of them (a weight row, a bias's values) as one ``(path, values)`` run
whose ``j``-th number is at ``path[j]``."""

if TYPE_CHECKING:
    ActivationName = str
else:  # the declared names, so the schema and its errors list exactly what is declared
    ActivationName = Literal[tuple(ACTIVATIONS)]


class Table(BaseModel):
    """Base of every spec table: strict, frozen, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Init(Table):
    """Initialise a weight array from a rule: ``W ~ scale * D(seed)``.

    ``normal``: N(0, scale^2); ``uniform``: U(-scale, scale); ``xavier``/``he``: normal with
    std ``scale * sqrt(2 / (fan_in + fan_out))`` / ``scale * sqrt(2 / fan_in)``.
    """

    rule: Literal["normal", "uniform", "xavier", "he"]
    scale: FiniteFloat = Field(default=1.0, gt=0)
    seed: int = Field(default=0, ge=0)


class Bias(Table):
    """A layer's bias: ``none``, ``shared`` (one scalar for the layer, as in the sigmoid 2-2-2
    seed) or ``per_neuron`` (the default once a bias table is given); frozen if not trainable."""

    mode: Literal["none", "shared", "per_neuron"] = "per_neuron"
    value: FiniteFloat | list[FiniteFloat] | None = None
    trainable: bool = True
    name: str | None = None
    names: list[str] | None = None


def init_weights(
    init: Init, shape: tuple[int, ...], fan_in: int, fan_out: int, dtype: np.dtype[Any]
) -> NDArray[Any]:
    """Weights of ``shape`` drawn by ``init`` (fans as the rule's formula uses them)."""
    rng = np.random.default_rng(init.seed)
    s = init.scale
    match init.rule:
        case "normal":
            w = rng.normal(0.0, s, shape)
        case "uniform":
            w = rng.uniform(-s, s, shape)
        case "xavier":
            w = rng.normal(0.0, s * math.sqrt(2.0 / (fan_in + fan_out)), shape)
        case "he":
            w = rng.normal(0.0, s * math.sqrt(2.0 / fan_in), shape)
    return np.asarray(w, dtype=dtype)


def bias_values(bias: Bias, n: int, dtype: np.dtype[Any]) -> NDArray[Any] | None:
    """The bias array: none, a 0-d shared scalar, or ``n`` per-neuron values (default 0)."""
    if bias.mode == "none":
        return None
    if bias.mode == "shared":
        return np.array(0.0 if bias.value is None else bias.value, dtype=dtype)
    if bias.value is None:
        return np.zeros(n, dtype=dtype)
    if isinstance(bias.value, float):
        return np.full(n, bias.value, dtype=dtype)
    return np.array(bias.value, dtype=dtype)


def init_slope_bias_numbers(layer: Any, at: str) -> Numbers:
    """The real numbers of a weighted table besides its weights (its init scale, leaky_relu
    slope and bias values) as :data:`Numbers`."""
    if layer.init is not None:
        yield f"{at}.init.scale", layer.init.scale
    if layer.slope is not None:
        yield f"{at}.slope", layer.slope
    if layer.bias.value is not None:
        yield f"{at}.bias.value", layer.bias.value
