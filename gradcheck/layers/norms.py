"""The ``batch_norm`` and ``layer_norm`` layer kinds, declared once (training mode, no activation).

Both compute ``out = gamma * x_hat + beta`` with ``x_hat = (x - mean) / sqrt(var + eps)`` and a
biased ``var`` (divided by the count). ``batch_norm`` takes its statistics over the batch: per
feature after a dense layer (input ``(N, D)``, ``gamma``/``beta`` ``(D,)``), per channel after a
conv or pool (input ``(N, C, H, W)``, statistics over ``N, H, W``, ``gamma``/``beta`` ``(C,)``).
``layer_norm`` takes them over every non-batch axis of each sample, ``gamma``/``beta`` shaped
like one sample. ``gamma`` (default 1) and ``beta`` (default 0) are tables like a dense bias:
``gamma = {value = [...], trainable = false}``, a value one number for every entry or one per
entry (a layer_norm's over an image in C order). Neither decays under ``weight_decay``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from gradcheck.layers.tables import FiniteFloat, Numbers, Table

__all__ = ["BatchNormLayer", "LayerNormLayer", "NormGroup", "group_shape"]

Shape = tuple[int, ...]
Group = tuple[np.ndarray, bool]
GLYPH = "grid"
DECAYED: frozenset[str] = frozenset()  # a norm's scale and shift are not weights
BATCH_FORWARD = (
    "out_l = gamma * (x - mean) / sqrt(var + eps) + beta, mean and biased var over the batch "
    "(and over H, W for images), per feature or channel"
)
LAYER_FORWARD = (
    "out_l = gamma * (x - mean) / sqrt(var + eps) + beta, mean and biased var over each "
    "sample's values; gamma and beta shaped like one sample"
)
_DEFAULTS = {"gamma": 1.0, "beta": 0.0}


class NormGroup(Table):
    """A norm's ``gamma`` or ``beta``: one number for every entry or one per entry (default
    1 for gamma, 0 for beta), frozen if not trainable."""

    value: FiniteFloat | list[FiniteFloat] | None = None
    trainable: bool = True


class BatchNormLayer(Table):
    """Batch normalisation in training mode (batch statistics), then ``gamma x_hat + beta``."""

    kind: Literal["batch_norm"]
    eps: FiniteFloat = Field(default=1e-5, gt=0.0)
    gamma: NormGroup = NormGroup()
    beta: NormGroup = NormGroup()


class LayerNormLayer(Table):
    """Layer normalisation (each sample's statistics), then ``gamma x_hat + beta``."""

    kind: Literal["layer_norm"]
    eps: FiniteFloat = Field(default=1e-5, gt=0.0)
    gamma: NormGroup = NormGroup()
    beta: NormGroup = NormGroup()


NormLayer = BatchNormLayer | LayerNormLayer


def group_shape(layer: NormLayer, shape: Shape) -> Shape:
    """``gamma``'s and ``beta``'s shape: ``(D,)`` or ``(C,)`` for batch_norm, ``shape`` for
    layer_norm."""
    return shape[:1] if layer.kind == "batch_norm" else shape


def problems(layer: NormLayer, at: str, shape: Shape) -> list[str]:
    """Input rank (batch_norm: a vector or an image) and the length of each group's values."""
    if layer.kind == "batch_norm" and len(shape) not in (1, 3):
        return [
            f"{at}: batch_norm takes (features,) or (channels, height, width) samples "
            f"(got shape {list(shape)})"
        ]
    n = int(np.prod(group_shape(layer, shape)))
    per = "feature" if len(shape) == 1 else "channel"
    if layer.kind == "layer_norm":
        per = "value of a sample, in C order"
    found = []
    for name in ("gamma", "beta"):
        value = getattr(layer, name).value
        if isinstance(value, list) and len(value) != n:
            found.append(
                f"{at}.{name}.value: expected {n} values, one per {per} (got {len(value)})"
            )
    return found


def shape_after(layer: NormLayer, shape: Shape) -> Shape:
    return shape


def n_params(layer: NormLayer, shape: Shape) -> int:
    return 2 * int(np.prod(group_shape(layer, shape)))


def groups(layer: NormLayer, shape: Shape, dtype: np.dtype[Any]) -> dict[str, Group]:
    """``gamma`` and ``beta``, shaped :func:`group_shape`, each trainable or frozen."""
    found: dict[str, Group] = {}
    for name in ("gamma", "beta"):
        table: NormGroup = getattr(layer, name)
        value = _DEFAULTS[name] if table.value is None else table.value
        values = np.broadcast_to(
            np.array(value, dtype=dtype), int(np.prod(group_shape(layer, shape)))
        )
        found[name] = (values.reshape(group_shape(layer, shape)).copy(), table.trainable)
    return found


def options(layer: NormLayer) -> dict[str, Any]:
    return {"eps": layer.eps}


def numbers(layer: NormLayer, at: str) -> Numbers:
    """Every real number in the table with its field path, a list of values as one run."""
    yield f"{at}.eps", layer.eps
    for name in ("gamma", "beta"):
        value = getattr(layer, name).value
        if value is not None:
            yield f"{at}.{name}.value", value
