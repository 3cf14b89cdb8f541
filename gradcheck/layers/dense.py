"""The ``dense`` layer kind, declared once: ``out = activation(W @ x + b)``.

Its TOML table, its checks given the width below it, its parameter groups (``W`` of shape
``(size, n_in)``, one row per output neuron whichever ``layout`` the table is written in, and an
optional bias), their initial values, their display names and its diagram glyph. The sides
implement it in :mod:`gradcheck.hand.dense`, :mod:`gradcheck.oracles.fd_network`,
:mod:`gradcheck.oracles.jax_network`, :mod:`gradcheck.generate.dense_draws` and
:mod:`gradcheck.golden.precise_layers`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from gradcheck.errors import show_value
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

__all__ = ["DenseLayer", "groups", "named", "numbers", "param_names", "problems", "unit_names"]

GLYPH = "circle"  # the report draws each neuron of a dense layer as a circle
FORWARD = (  # for people, in a candidate's layout (a row per sample)
    "net_l = out_{l-1} @ W_l.T + b_l and out_l = act_l(net_l), with act_l = "
    "`spec.activations[l-1]`; a 0-d `b` adds one number to every neuron, no `b` adds nothing"
)
DECAYED = frozenset({"W"})  # weight_decay's lambda/2 W^2 applies to W, never to the bias
Group = tuple[np.ndarray, bool]  # (initial values, trainable)
Location = tuple[int, str, tuple[int, ...]]


class DenseLayer(Table):
    """One dense layer: ``out = activation(W @ x + b)``; ``W`` as a matrix or an init rule;
    ``layout``: how ``weights`` and ``weight_names`` are written, ``out_in`` a row per output
    neuron (the default), ``in_out`` a row per input (``[input][hidden]``, as many documents and
    programs print them); ``slope`` for leaky_relu only; ``trainable = false`` freezes ``W``."""

    kind: Literal["dense"] = "dense"
    size: int = Field(ge=1, le=100_000)
    activation: ActivationName = "identity"
    slope: FiniteFloat | None = Field(default=None, ge=0)
    layout: Literal["out_in", "in_out"] = "out_in"
    weights: list[list[FiniteFloat]] | None = None
    init: Init | None = None
    trainable: bool = True
    weight_names: list[list[str]] | None = None
    names: list[str] | None = None
    bias: Bias = Bias(mode="none")


def problems(layer: DenseLayer, at: str, n_in: int) -> list[str]:
    """Shape, slope and bias problems of one layer fed ``n_in`` values."""
    n_out = layer.size
    found: list[str] = []
    if (layer.weights is None) == (layer.init is None):
        both = "both" if layer.weights is not None else "neither"
        found.append(
            f"{at}: give exactly one of 'weights' (a matrix) or 'init' (a rule) (got {both})"
        )
    rows, cols = (n_out, n_in) if layer.layout == "out_in" else (n_in, n_out)
    per = (
        "one row per output neuron and one column per input"
        if layer.layout == "out_in"
        else "one row per input and one column per output neuron (layout in_out)"
    )
    for field, matrix in (("weights", layer.weights), ("weight_names", layer.weight_names)):
        if matrix is not None and (len(matrix) != rows or any(len(r) != cols for r in matrix)):
            found.append(
                f"{at}.{field}: expected shape {rows}x{cols}, {per} (got {_shape(matrix)})"
            )
    if layer.names is not None and len(layer.names) != n_out:
        found.append(f"{at}.names: expected {n_out} names, one per neuron (got {len(layer.names)})")
    takes_slope = ACTIVATIONS[layer.activation].takes_slope
    if takes_slope and layer.slope is None:
        found.append(f"{at}.slope: {layer.activation} needs a slope, e.g. slope = 0.01")
    if not takes_slope and layer.slope is not None:
        found.append(
            f"{at}.slope: only leaky_relu takes a slope, this layer is {layer.activation} "
            f"(got {layer.slope!r})"
        )
    return found + _bias_problems(layer.bias, at, n_out)


def _bias_problems(b: Bias, at: str, n_out: int) -> list[str]:
    found: list[str] = []
    if b.mode == "none":
        for field in ("value", "name", "names"):
            if getattr(b, field) is not None:
                found.append(
                    f"{at}.bias.{field}: mode 'none' takes no {field} (got {getattr(b, field)!r})"
                )
        return found
    if b.mode == "shared" and isinstance(b.value, list):
        found.append(f"{at}.bias.value: a shared bias is one number (got {show_value(b.value)})")
    if b.mode == "per_neuron" and isinstance(b.value, list) and len(b.value) != n_out:
        found.append(
            f"{at}.bias.value: expected {n_out} values, one per neuron (got {len(b.value)})"
        )
    if b.name is not None and b.mode != "shared":
        found.append(
            f"{at}.bias.name: only a shared bias has one name, use 'names' (got {b.name!r})"
        )
    if b.names is not None and b.mode != "per_neuron":
        found.append(
            f"{at}.bias.names: only a per_neuron bias has names, use 'name' "
            f"(got {show_value(b.names)})"
        )
    elif b.names is not None and len(b.names) != n_out:
        found.append(
            f"{at}.bias.names: expected {n_out} names, one per neuron (got {len(b.names)})"
        )
    return found


def _shape(matrix: Sequence[Sequence[object]]) -> str:
    lengths = [len(row) for row in matrix]
    if len(set(lengths)) <= 1:
        return f"{len(matrix)}x{lengths[0] if lengths else 0}"
    return f"{len(matrix)} rows of lengths {lengths}"


def n_params(layer: DenseLayer, n_in: int) -> int:
    """An upper bound on the layer's parameters: ``size * (n_in + 1)``."""
    return layer.size * (n_in + 1)


def groups(layer: DenseLayer, n_in: int, dtype: np.dtype[Any]) -> dict[str, Group]:
    """``W`` (and ``b`` unless the bias mode is none), each with its trainable flag."""
    if layer.weights is not None:
        w = np.array(layer.weights, dtype=dtype)
        w = np.ascontiguousarray(w.T) if layer.layout == "in_out" else w
    else:
        assert layer.init is not None  # guaranteed by problems()
        w = init_weights(layer.init, (layer.size, n_in), n_in, layer.size, dtype)
    found: dict[str, Group] = {"W": (w, layer.trainable)}
    b = bias_values(layer.bias, layer.size, dtype)
    if b is not None:
        found["b"] = (b, layer.bias.trainable)
    return found


def param_names(layer: DenseLayer, i: int) -> Iterator[tuple[str, Location]]:
    """Display names of scalar parameters (``w5``, ``b1``) with their locations in layer ``i``."""
    for r, row in enumerate(layer.weight_names or []):
        for c, n in enumerate(row):
            yield n, (i, "W", (r, c) if layer.layout == "out_in" else (c, r))
    if layer.bias.mode == "shared" and layer.bias.name:
        yield layer.bias.name, (i, "b", ())
    for j, n in enumerate(layer.bias.names or []):
        yield n, (i, "b", (j,))


def unit_names(layer: DenseLayer) -> list[str]:
    """Display names of the layer's neurons (``h1``, ``o2``), if given."""
    return list(layer.names or [])


def named(layer: DenseLayer, at: str) -> Iterator[tuple[str, str]]:
    """Every display name in the table with its field path (for the uniqueness check)."""
    yield from ((f"{at}.names[{j}]", n) for j, n in enumerate(layer.names or []))
    for r, row in enumerate(layer.weight_names or []):
        yield from ((f"{at}.weight_names[{r}][{c}]", n) for c, n in enumerate(row))
    if layer.bias.name is not None:
        yield f"{at}.bias.name", layer.bias.name
    yield from ((f"{at}.bias.names[{j}]", n) for j, n in enumerate(layer.bias.names or []))


def numbers(layer: DenseLayer, at: str) -> Numbers:
    """Every real number in the table with its field path, a weight row as one run."""
    yield from ((f"{at}.weights[{r}]", row) for r, row in enumerate(layer.weights or []))
    yield from init_slope_bias_numbers(layer, at)
