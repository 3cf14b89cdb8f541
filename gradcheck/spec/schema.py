"""What a spec file may hold: pydantic models of its TOML tables, and the checks across fields.

The models are strict and frozen (TOML already has types: ``"0.5"`` is a mistake, not a number
to coerce) and forbid unknown keys. :func:`cross_check` runs once every field is valid and returns
each problem that needs more than one field as one ``field.path: problem (got value)`` line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gradcheck.errors import show_value

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "MAX_PARAMS",
    "Bias",
    "Documented",
    "Init",
    "InputLayer",
    "Layer",
    "Optimizer",
    "Sample",
    "SpecModel",
    "cross_check",
]

Activation = Literal["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax"]
Loss = Literal["half_sse", "mse", "softmax_cross_entropy"]
ACTIVATIONS: tuple[str, ...] = get_args(Activation)
LOSSES: tuple[str, ...] = get_args(Loss)
MAX_PARAMS = 10_000_000
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class _Model(BaseModel):
    # strict: TOML already has types, so "0.5" or true is a mistake, not a number to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Init(_Model):
    """Initialise a weight matrix from a rule: ``W ~ scale * D(seed)``.

    ``normal``: N(0, scale^2); ``uniform``: U(-scale, scale); ``xavier``/``he``: normal with
    std ``scale * sqrt(2 / (fan_in + fan_out))`` / ``scale * sqrt(2 / fan_in)``.
    """

    rule: Literal["normal", "uniform", "xavier", "he"]
    scale: FiniteFloat = Field(default=1.0, gt=0)
    seed: int = Field(default=0, ge=0)


class Bias(_Model):
    """A layer's bias: ``none``, ``shared`` (one scalar for the layer, as in the sigmoid 2-2-2
    seed) or ``per_neuron`` (the default once a bias table is given); frozen if not trainable."""

    mode: Literal["none", "shared", "per_neuron"] = "per_neuron"
    value: FiniteFloat | list[FiniteFloat] | None = None
    trainable: bool = True
    name: str | None = None
    names: list[str] | None = None


class Layer(_Model):
    """One layer: ``out = activation(W @ x + b)``; ``W`` as a matrix (row = output neuron) or an
    init rule; ``slope`` for leaky_relu only; ``trainable = false`` freezes ``W``."""

    size: int = Field(ge=1, le=100_000)
    activation: Activation = "identity"
    slope: FiniteFloat | None = Field(default=None, ge=0)
    weights: list[list[FiniteFloat]] | None = None
    init: Init | None = None
    trainable: bool = True
    weight_names: list[list[str]] | None = None
    names: list[str] | None = None
    bias: Bias = Bias(mode="none")


class InputLayer(_Model):
    """The input layer: its width and optional unit names (``i1``, ``i2``)."""

    size: int = Field(ge=1, le=100_000)
    names: list[str] | None = None


class Optimizer(_Model):
    """Plain full-batch SGD: ``p <- p - learning_rate * dE/dp``."""

    name: Literal["sgd"] = "sgd"
    learning_rate: FiniteFloat = Field(gt=0)


class Sample(_Model):
    """One training sample: an input vector and its target vector."""

    input: list[FiniteFloat]
    target: list[FiniteFloat]


class Documented(_Model):
    """A number a document claims for this network, kept exactly as printed.

    ``quantity`` names what it claims to be (see :mod:`gradcheck.golden.quantities` for the
    grammar), ``printed`` is the string as the document prints it, ``where`` locates it in the
    document, ``expression`` is the document's own arithmetic for it, if it shows any: numbers,
    ``+ - * /``, ``**`` with a small integer exponent, and parentheses (checked by the golden
    command, which evaluates it exactly and never with ``eval``).
    """

    quantity: str
    printed: str
    where: str = ""
    expression: str | None = None

    @field_validator("printed")
    @classmethod
    def _numeric(cls, v: str) -> str:
        cleaned = v.strip()
        try:
            float(cleaned)
        except ValueError:
            raise ValueError(f"not a number as printed: {v!r}") from None
        return cleaned


class SpecModel(_Model):
    """A gradcheck network spec (a TOML file): layers, loss, optimizer, samples."""

    name: str = Field(min_length=1)
    description: str = ""
    source: str = ""
    dtype: Literal["float64", "float32"] = "float64"
    loss: Loss
    optimizer: Optimizer
    input: InputLayer
    layers: list[Layer] = Field(min_length=1)
    samples: list[Sample] = Field(min_length=1)
    documented: list[Documented] = []


# -- checks across fields --------------------------------------------------------------------
def cross_check(m: SpecModel) -> list[str]:
    """Problems that need more than one field: shapes, softmax placement, names, samples."""
    sizes = [m.input.size, *(layer.size for layer in m.layers)]
    problems: list[str] = []
    if m.input.names is not None and len(m.input.names) != m.input.size:
        problems.append(
            f"input.names: expected {m.input.size} names, one per input (got {len(m.input.names)})"
        )
    for i, layer in enumerate(m.layers):
        problems.extend(_layer_problems(layer, f"layers[{i}]", sizes[i], sizes[i + 1]))
        if layer.activation == "softmax" and i != len(m.layers) - 1:
            problems.append(
                f"layers[{i}].activation: softmax is allowed on the output layer only "
                f"(got 'softmax' on layer {i + 1} of {len(m.layers)})"
            )
    if m.loss == "softmax_cross_entropy" and m.layers[-1].activation != "softmax":
        problems.append(
            "loss: softmax_cross_entropy needs activation 'softmax' on the output layer "
            f"(got {m.layers[-1].activation!r})"
        )
    for s, sample in enumerate(m.samples):
        for field, values, n, per in (
            ("input", sample.input, sizes[0], "input"),
            ("target", sample.target, sizes[-1], "output"),
        ):
            if len(values) != n:
                problems.append(
                    f"samples[{s}].{field}: expected {n} values, one per {per} (got {len(values)})"
                )
    problems.extend(_duplicate_names(m))
    n_params = sum(a * (b + 1) for a, b in zip(sizes[1:], sizes[:-1], strict=False))
    if n_params > MAX_PARAMS:
        problems.append(
            f"layers: at most {MAX_PARAMS} parameters per network (got about {n_params})"
        )
    if m.dtype == "float32":
        limit = float(np.finfo(np.float32).max)
        problems.extend(
            f"{path}: outside the float32 range of +-{limit:.4g} (got {v!r})"
            for path, v in _numbers(m)
            if abs(v) > limit
        )
    return problems


def _layer_problems(layer: Layer, at: str, n_in: int, n_out: int) -> list[str]:
    """Shape, slope and bias problems of one layer mapping ``n_in`` inputs to ``n_out``."""
    problems: list[str] = []
    if (layer.weights is None) == (layer.init is None):
        both = "both" if layer.weights is not None else "neither"
        problems.append(
            f"{at}: give exactly one of 'weights' (a matrix) or 'init' (a rule) (got {both})"
        )
    for field, matrix in (("weights", layer.weights), ("weight_names", layer.weight_names)):
        if matrix is not None and (len(matrix) != n_out or any(len(r) != n_in for r in matrix)):
            problems.append(
                f"{at}.{field}: expected shape {n_out}x{n_in}, one row per output neuron and "
                f"one column per input (got {_shape(matrix)})"
            )
    if layer.names is not None and len(layer.names) != n_out:
        problems.append(
            f"{at}.names: expected {n_out} names, one per neuron (got {len(layer.names)})"
        )
    if layer.activation == "leaky_relu" and layer.slope is None:
        problems.append(f"{at}.slope: leaky_relu needs a slope, e.g. slope = 0.01")
    if layer.activation != "leaky_relu" and layer.slope is not None:
        problems.append(
            f"{at}.slope: only leaky_relu takes a slope, this layer is {layer.activation} "
            f"(got {layer.slope!r})"
        )
    b = layer.bias
    if b.mode == "none":
        for field in ("value", "name", "names"):
            if getattr(b, field) is not None:
                problems.append(
                    f"{at}.bias.{field}: mode 'none' takes no {field} (got {getattr(b, field)!r})"
                )
        return problems
    if b.mode == "shared" and isinstance(b.value, list):
        problems.append(f"{at}.bias.value: a shared bias is one number (got {show_value(b.value)})")
    if b.mode == "per_neuron" and isinstance(b.value, list) and len(b.value) != n_out:
        problems.append(
            f"{at}.bias.value: expected {n_out} values, one per neuron (got {len(b.value)})"
        )
    if b.name is not None and b.mode != "shared":
        problems.append(
            f"{at}.bias.name: only a shared bias has one name, use 'names' (got {b.name!r})"
        )
    if b.names is not None and b.mode != "per_neuron":
        problems.append(
            f"{at}.bias.names: only a per_neuron bias has names, use 'name' "
            f"(got {show_value(b.names)})"
        )
    elif b.names is not None and len(b.names) != n_out:
        problems.append(
            f"{at}.bias.names: expected {n_out} names, one per neuron (got {len(b.names)})"
        )
    return problems


def _shape(matrix: Sequence[Sequence[object]]) -> str:
    lengths = [len(row) for row in matrix]
    if len(set(lengths)) <= 1:
        return f"{len(matrix)}x{lengths[0] if lengths else 0}"
    return f"{len(matrix)} rows of lengths {lengths}"


def _duplicate_names(m: SpecModel) -> list[str]:
    """Every display name (units and scalar parameters) must be unique across the spec."""
    named: list[tuple[str, str]] = [
        (f"input.names[{j}]", n) for j, n in enumerate(m.input.names or [])
    ]
    for i, layer in enumerate(m.layers):
        at = f"layers[{i}]"
        named += [(f"{at}.names[{j}]", n) for j, n in enumerate(layer.names or [])]
        named += [
            (f"{at}.weight_names[{r}][{c}]", n)
            for r, row in enumerate(layer.weight_names or [])
            for c, n in enumerate(row)
        ]
        if layer.bias.name is not None:
            named.append((f"{at}.bias.name", layer.bias.name))
        named += [(f"{at}.bias.names[{j}]", n) for j, n in enumerate(layer.bias.names or [])]
    first: dict[str, str] = {}
    problems: list[str] = []
    for path, name in named:
        if name in first:
            problems.append(f"{path}: name already used at {first[name]} (got {name!r})")
        else:
            first[name] = path
    return problems


def _numbers(m: SpecModel) -> Iterator[tuple[str, float]]:
    """Every real number in the spec with its field path."""
    yield "optimizer.learning_rate", m.optimizer.learning_rate
    for i, layer in enumerate(m.layers):
        at = f"layers[{i}]"
        for r, row in enumerate(layer.weights or []):
            yield from ((f"{at}.weights[{r}][{c}]", v) for c, v in enumerate(row))
        if layer.init is not None:
            yield f"{at}.init.scale", layer.init.scale
        if layer.slope is not None:
            yield f"{at}.slope", layer.slope
        value = layer.bias.value
        if isinstance(value, list):
            yield from ((f"{at}.bias.value[{j}]", v) for j, v in enumerate(value))
        elif value is not None:
            yield f"{at}.bias.value", value
    for s, sample in enumerate(m.samples):
        yield from ((f"samples[{s}].input[{j}]", v) for j, v in enumerate(sample.input))
        yield from ((f"samples[{s}].target[{j}]", v) for j, v in enumerate(sample.target))
