"""The ``rnn`` layer kind, declared once: a vanilla tanh RNN over a sequence, zero initial state.

``h_t = tanh(x_t Wxh^T + h_{t-1} Whh^T + b)`` for ``t = 1..T`` with ``h_0 = 0``, over inputs of
shape ``(T, n_in)`` per sample (``[input] shape = [T, n_in]``, each sample's values in C order,
step by step). ``Wxh`` is ``(size, n_in)`` and ``Whh`` ``(size, size)``, one row per hidden unit
as for dense; the bias is none, one shared number or one per unit (``bias.mode``), trainable or
frozen as for dense; ``trainable = false`` freezes both weight matrices. ``states = "last"``
emits ``h_T`` (``size`` values), ``"all"`` every state (``(T, size)``: a flatten must come before a
dense layer). The tanh is part of the kind, so the table has no ``activation``. The sides
implement it in :mod:`gradcheck.hand.rnn`, :mod:`gradcheck.oracles.fd_rnn`,
:mod:`gradcheck.oracles.jax_layers` and :mod:`gradcheck.generate.sequences`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from gradcheck.layers.tables import (
    Bias,
    FiniteFloat,
    Init,
    Numbers,
    Table,
    bias_values,
    init_weights,
)

__all__ = ["RnnLayer", "groups", "numbers", "options", "problems", "shape_after"]

DECAYED = frozenset({"Wxh", "Whh"})  # weight_decay's lambda/2 W^2: both matrices, never the bias
GLYPH = "grid"  # the report draws it as a block, like the image kinds
FORWARD = (
    "h_t = tanh(x_t @ Wxh_l.T + h_{t-1} @ Whh_l.T + b_l) for t = 1..T with h_0 = 0 and x_t = "
    "out_{l-1}[:, t]; out_l = h_T (states = last) or every h_t, (batch, T, size) (states = all)"
)
Shape = tuple[int, ...]
Group = tuple[np.ndarray, bool]
Matrix = list[list[FiniteFloat]]


class RnnLayer(Table):
    """A tanh RNN of ``size`` units over ``(T, n_in)`` inputs: ``input_weights`` ``Wxh`` as a
    ``size x n_in`` matrix and ``recurrent_weights`` ``Whh`` as ``size x size`` (a row per unit),
    or an ``init`` rule for both (``Whh`` drawn with ``seed + 1``); ``states``: ``last`` (h_T) or
    ``all`` (every h_t); ``trainable = false`` freezes both matrices."""

    kind: Literal["rnn"]
    size: int = Field(ge=1, le=4096)
    states: Literal["last", "all"] = "last"
    input_weights: Matrix | None = None
    recurrent_weights: Matrix | None = None
    init: Init | None = None
    trainable: bool = True
    bias: Bias = Bias(mode="none")


def shape_after(layer: RnnLayer, shape: Shape) -> Shape:
    """``(T, n_in) -> (size,)`` for ``states = "last"``, ``(T, size)`` for ``"all"``."""
    return (layer.size,) if layer.states == "last" else (shape[0], layer.size)


def problems(layer: RnnLayer, at: str, shape: Shape) -> list[str]:
    """Input rank, where the weights come from, their shapes, and the bias."""
    if len(shape) != 2:
        return [
            f"{at}: rnn takes (steps, features) inputs, e.g. [input] shape = [4, 2] "
            f"(got shape {list(shape)})"
        ]
    given = [
        name
        for name, value in (
            ("input_weights", layer.input_weights),
            ("recurrent_weights", layer.recurrent_weights),
            ("init", layer.init),
        )
        if value is not None
    ]
    found: list[str] = []
    if given not in (["input_weights", "recurrent_weights"], ["init"]):
        found.append(
            f"{at}: give either both 'input_weights' and 'recurrent_weights' or 'init' "
            f"(got {' and '.join(given) or 'neither'})"
        )
    h = layer.size
    for field, matrix, want, per in (
        ("input_weights", layer.input_weights, (h, shape[1]), "a row per unit, a column per input"),
        ("recurrent_weights", layer.recurrent_weights, (h, h), "a row per unit, a column per unit"),
    ):
        if matrix is not None and _shape(matrix) != want:
            found.append(
                f"{at}.{field}: expected shape {want[0]}x{want[1]}, {per} (got {_show(matrix)})"
            )
    return found + _bias_problems(layer.bias, at, h)


def _bias_problems(b: Bias, at: str, size: int) -> list[str]:
    if b.name is not None or b.names is not None:
        return [f"{at}.bias: an rnn bias takes no names"]
    if b.mode == "none" and b.value is not None:
        return [f"{at}.bias.value: mode 'none' takes no value (got {b.value!r})"]
    if b.mode == "shared" and isinstance(b.value, list):
        return [f"{at}.bias.value: a shared bias is one number (got {b.value!r})"]
    if b.mode == "per_neuron" and isinstance(b.value, list) and len(b.value) != size:
        return [f"{at}.bias.value: expected {size} values, one per unit (got {len(b.value)})"]
    return []


def _shape(matrix: Matrix) -> tuple[int, int] | None:
    """``(rows, columns)`` of a rectangular matrix, None if its rows differ in length."""
    lengths = {len(row) for row in matrix}
    return (len(matrix), lengths.pop() if lengths else 0) if len(lengths) <= 1 else None


def _show(matrix: Matrix) -> str:
    shape = _shape(matrix)
    if shape is None:
        return f"{len(matrix)} rows of lengths {[len(r) for r in matrix]}"
    return f"{shape[0]}x{shape[1]}"


def n_params(layer: RnnLayer, shape: Shape) -> int:
    """``size (n_in + size + 1)``."""
    return layer.size * (shape[-1] + layer.size + 1)


def groups(layer: RnnLayer, shape: Shape, dtype: np.dtype[Any]) -> dict[str, Group]:
    """``Wxh`` ``(size, n_in)`` (fans ``n_in``, ``size``), ``Whh`` ``(size, size)`` (fans
    ``size``, ``size``; an init rule draws it with ``seed + 1``) and ``b``."""
    h, n_in = layer.size, shape[1]
    if layer.input_weights is not None and layer.recurrent_weights is not None:
        wxh = np.array(layer.input_weights, dtype=dtype)
        whh = np.array(layer.recurrent_weights, dtype=dtype)
    else:
        assert layer.init is not None  # guaranteed by problems()
        wxh = init_weights(layer.init, (h, n_in), n_in, h, dtype)
        second = layer.init.model_copy(update={"seed": layer.init.seed + 1})
        whh = init_weights(second, (h, h), h, h, dtype)
    found: dict[str, Group] = {"Wxh": (wxh, layer.trainable), "Whh": (whh, layer.trainable)}
    b = bias_values(layer.bias, h, dtype)
    if b is not None:
        found["b"] = (b, layer.bias.trainable)
    return found


def options(layer: RnnLayer) -> dict[str, Any]:
    """``all_states``: every ``h_t`` is the output, not ``h_T`` alone."""
    return {"all_states": layer.states == "all"}


def numbers(layer: RnnLayer, at: str) -> Numbers:
    """Every real number in the table with its field path, a weight row as one run."""
    for field in ("input_weights", "recurrent_weights"):
        for r, row in enumerate(getattr(layer, field) or []):
            yield f"{at}.{field}[{r}]", row
    if layer.init is not None:
        yield f"{at}.init.scale", layer.init.scale
    if layer.bias.value is not None:
        yield f"{at}.bias.value", layer.bias.value
