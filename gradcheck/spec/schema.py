"""What a spec file may hold: pydantic models of its TOML tables, and the checks across fields.

The models are strict and frozen and forbid unknown keys (:class:`~gradcheck.layers.tables.Table`).
A ``[[layers]]`` table is one of the declared layer kinds (:data:`gradcheck.layers.KINDS`), checked
by its kind. :func:`cross_check` runs once every field is valid and returns each problem that
needs more than one field as one ``field.path: problem (got value)`` line.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Discriminator, Field, Tag, field_validator

from gradcheck.layers import ACTIVATIONS, KINDS, LOSSES, LossInfo, Shape, kind_of
from gradcheck.layers.conv import Conv2dLayer
from gradcheck.layers.dense import DenseLayer
from gradcheck.layers.dropout import DropoutLayer
from gradcheck.layers.norms import BatchNormLayer, LayerNormLayer
from gradcheck.layers.pooling import FlattenLayer, PoolLayer
from gradcheck.layers.residual import ResidualLayer
from gradcheck.layers.rnn import RnnLayer
from gradcheck.layers.tables import Bias, FiniteFloat, Init, Numbers, Table

__all__ = [
    "MAX_PARAMS",
    "Bias",
    "Documented",
    "Init",
    "InputLayer",
    "Layer",
    "Optimizer",
    "Sample",
    "SpecModel",
    "batch_norm_inputs",
    "batch_norm_problems",
    "checked_shapes",
    "cross_check",
    "layer_shapes",
]

if TYPE_CHECKING:
    LossName = str
else:  # the declared names, so the schema and its errors list exactly what is declared
    LossName = Literal[tuple(LOSSES)]


def _kind_tag(value: Any) -> Any:
    """A table's kind: its ``kind`` key, ``dense`` where it has none (every older spec)."""
    if isinstance(value, dict):
        return value.get("kind", "dense")
    return getattr(value, "kind", "dense")


if TYPE_CHECKING:
    Layer = (
        DenseLayer
        | Conv2dLayer
        | PoolLayer
        | DropoutLayer
        | FlattenLayer
        | RnnLayer
        | ResidualLayer
        | BatchNormLayer
        | LayerNormLayer
    )
else:  # one branch per declared kind, picked by its ``kind`` key
    Layer = Annotated[
        Annotated[DenseLayer, Tag("dense")]
        | Annotated[Conv2dLayer, Tag("conv2d")]
        | Annotated[PoolLayer, Tag("max_pool2d")]
        | Annotated[PoolLayer, Tag("avg_pool2d")]
        | Annotated[DropoutLayer, Tag("dropout")]
        | Annotated[FlattenLayer, Tag("flatten")]
        | Annotated[BatchNormLayer, Tag("batch_norm")]
        | Annotated[LayerNormLayer, Tag("layer_norm")]
        | Annotated[RnnLayer, Tag("rnn")]
        | Annotated[ResidualLayer, Tag("residual")],
        Discriminator(_kind_tag),
    ]
# a residual block's inner tables are layers of any kind: the union above, itself included
ResidualLayer.model_rebuild(_types_namespace={"Layer": Layer})
assert set(KINDS) == {
    "dense",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "dropout",
    "flatten",
    "rnn",
    "residual",
    "batch_norm",
    "layer_norm",
}
MAX_PARAMS = 10_000_000


class InputLayer(Table):
    """The input layer: its width (``size``) or one sample's ``shape`` (``[1, 8, 8]`` for a
    one-channel 8x8 image, whose samples give 64 values in C order), and optional unit names."""

    size: int | None = Field(default=None, ge=1, le=100_000)
    shape: list[int] | None = Field(default=None, min_length=1, max_length=3)
    names: list[str] | None = None

    @property
    def sample_shape(self) -> Shape:
        """``shape``, or ``(size,)``."""
        if self.shape is not None:
            return tuple(self.shape)
        return (self.size or 0,)


class Optimizer(Table):
    """Plain full-batch SGD: ``p <- p - learning_rate * dE/dp``. The learning rate may be left
    out where nothing trains (a document that shows no update); training then says it is needed."""

    name: Literal["sgd"] = "sgd"
    learning_rate: FiniteFloat | None = Field(default=None, gt=0)

    @field_validator("name", mode="before")
    @classmethod
    def _only_sgd(cls, v: Any) -> Any:
        if isinstance(v, str) and v != "sgd":  # the CLI's other updates are a run's choice
            raise ValueError(
                "must be 'sgd': a spec holds the document's plain gradient descent; train "
                "with momentum or adam by `gradcheck train SPEC --optimizer NAME`"
            )
        return v


class Sample(Table):
    """One training sample: an input vector and its target vector."""

    input: list[FiniteFloat]
    target: list[FiniteFloat]


class Documented(Table):
    """A number a document claims for this network, kept exactly as printed.

    ``quantity`` names what it claims to be (see :mod:`gradcheck.golden.quantities` for the
    grammar), ``printed`` is the string as the document prints it, ``where`` locates it in the
    document, ``expression`` is the document's own arithmetic for it, if it shows any: numbers,
    ``+ - * / ^`` (or ``**``), ``× · ÷ −``, parentheses and ``exp ln log sqrt sigmoid tanh``
    (parsed by the golden command, :mod:`gradcheck.golden.expressions`, never run as code).
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


class SpecModel(Table):
    """A gradcheck network spec (a TOML file): layers, loss, optimizer, samples."""

    name: str = Field(min_length=1)
    description: str = ""
    source: str = ""
    dtype: Literal["float64", "float32"] = "float64"
    loss: LossName
    # lambda of the optional L2 term lambda/2 sum W^2 over weights (not biases); 0: none
    weight_decay: FiniteFloat = Field(default=0.0, ge=0)
    optimizer: Optimizer = Optimizer()
    input: InputLayer
    layers: list[Layer] = Field(min_length=1)
    samples: list[Sample] = Field(min_length=1)
    # a factory: a list default is deep-copied on every validation; the schema still shows []
    documented: list[Documented] = Field(default_factory=list, json_schema_extra={"default": []})


# -- checks across fields --------------------------------------------------------------------
def layer_shapes(m: SpecModel) -> tuple[list[Shape], list[str]]:
    """One sample's shape at the input and after each layer, as far as the layers are valid, and
    every layer's problems (a layer after an invalid one is not checked)."""
    shapes = [m.input.sample_shape]
    problems: list[str] = []
    for i, layer in enumerate(m.layers):
        kind = kind_of(layer)
        found = kind.problems(layer, f"layers[{i}]", shapes[-1])
        problems.extend(found)
        if found:
            break
        shapes.append(kind.shape_after(layer, shapes[-1]))
    return shapes, problems


def batch_norm_inputs(m: SpecModel) -> Iterator[tuple[str, Shape]]:
    """Each ``batch_norm`` layer's field path and one sample's shape at its input, the layers
    inside residual blocks included (the layers' shapes must be valid)."""

    def walk(layers: list[Any], shape: Shape, at: str) -> Iterator[tuple[str, Shape]]:
        for i, layer in enumerate(layers):
            where = f"{at}[{i}]"
            kind = getattr(layer, "kind", "dense")
            if kind == "batch_norm":
                yield where, shape
            elif kind == "residual":
                yield from walk(layer.layers, shape, f"{where}.layers")
            shape = kind_of(layer).shape_after(layer, shape)

    return walk(m.layers, m.input.sample_shape, "layers")


def batch_norm_problems(m: SpecModel, batch: int) -> list[str]:
    """A ``batch_norm`` fed one value per feature (a batch of 1, or of 1x1 images) normalises it
    to 0: its output is ``beta`` whatever its input, and every gradient below it is 0."""
    if batch != 1:  # ``batch * values per feature`` (positive counts) is 1 only in a batch of 1
        return []
    return [
        f"{where}: batch_norm over a batch of {batch} sees one value per feature; it normalises "
        "that value to 0, so its output is beta whatever its input and every gradient below it "
        "is 0: give two samples or more"
        for where, shape in batch_norm_inputs(m)
        if batch * math.prod(shape[1:]) == 1
    ]


def _input_problems(m: SpecModel) -> list[str]:
    given = (m.input.size is not None) + (m.input.shape is not None)
    if given != 1:
        return [
            f"input: give exactly one of 'size' or 'shape' (got {'both' if given else 'neither'})"
        ]
    if m.input.shape is not None and min(m.input.shape) < 1:
        return [f"input.shape: every size must be >= 1 (got {m.input.shape!r})"]
    return []


def _activation(layer: Any) -> str:
    return str(getattr(layer, "activation", "identity"))


def cross_check(m: SpecModel) -> list[str]:
    """Problems that need more than one field: shapes, output-only activations, the loss's
    output activation, names, samples, size, the float32 range."""
    return checked_shapes(m)[0]


def checked_shapes(m: SpecModel) -> tuple[list[str], list[Shape]]:
    """:func:`cross_check`'s problems and the shapes it inferred on the way (one sample's at the
    input and after each layer, as :func:`layer_shapes`; every layer's where there are no
    problems), so that a valid spec need not infer them again."""
    problems = _input_problems(m)
    if problems:
        return problems, []
    shapes, found = layer_shapes(m)
    problems.extend(found)
    if found:
        return problems, shapes
    sizes = [math.prod(s) for s in shapes]
    if len(shapes[-1]) != 1:
        problems.append(
            f"layers[{len(m.layers) - 1}]: the output layer must give one value per output "
            f"(got shape {list(shapes[-1])}): end with a flatten or a dense layer"
        )
    if m.input.names is not None and len(m.input.names) != sizes[0]:
        problems.append(
            f"input.names: expected {sizes[0]} names, one per input (got {len(m.input.names)})"
        )
    for i, layer in enumerate(m.layers):
        if ACTIVATIONS[_activation(layer)].output_only and i != len(m.layers) - 1:
            problems.append(
                f"layers[{i}].activation: {_activation(layer)} is allowed on the output layer "
                f"only (got {_activation(layer)!r} on layer {i + 1} of {len(m.layers)})"
            )
    needs = LOSSES[m.loss].output_activation
    if needs is not None and _activation(m.layers[-1]) != needs:
        problems.append(
            f"loss: {m.loss} needs activation {needs!r} on the output layer "
            f"(got {_activation(m.layers[-1])!r})"
        )
    for s, sample in enumerate(m.samples):
        if LOSSES[m.loss].one_hot and not _one_hot(sample.target):
            problems.append(
                f"samples[{s}].target: loss {m.loss} needs a one-hot target, one 1 (the true "
                f"class) and 0 elsewhere, e.g. [0.0, 1.0, 0.0] (got {sample.target!r})"
            )
        j = _first_outside(LOSSES[m.loss], sample.target)
        if j is not None:
            problems.append(
                f"samples[{s}].target[{j}]: loss {m.loss} needs targets "
                f"{LOSSES[m.loss].target_range()} (got {sample.target[j]!r})"
            )
        for field, values, n, per in (
            ("input", sample.input, sizes[0], "input"),
            ("target", sample.target, sizes[-1], "output"),
        ):
            if len(values) != n:
                problems.append(
                    f"samples[{s}].{field}: expected {n} values, one per {per} (got {len(values)})"
                )
    problems.extend(batch_norm_problems(m, len(m.samples)))
    problems.extend(_duplicate_names(m))
    n_params = sum(kind_of(ly).n_params(ly, s) for ly, s in zip(m.layers, shapes, strict=False))
    if n_params > MAX_PARAMS:
        problems.append(
            f"layers: at most {MAX_PARAMS} parameters per network (got about {n_params})"
        )
    if m.dtype == "float32":
        limit = float(np.finfo(np.float32).max)
        problems.extend(
            f"{path}: outside the float32 range of +-{limit:.4g} (got {v!r})"
            for path, v in _beyond(_numbers(m), limit)
        )
    return problems, shapes


def _first_outside(loss: LossInfo, target: list[float]) -> int | None:
    """The index of the first entry of ``target`` outside the loss's range (None where every
    entry is inside, or the loss takes any target)."""
    if loss.targets is None:
        return None
    outside = np.flatnonzero(loss.outside(np.asarray(target, float)))
    return int(outside[0]) if outside.size else None


def _one_hot(target: list[float]) -> bool:
    """One entry 1 and every other 0."""
    return sorted(target)[-1:] == [1.0] and sum(v == 0.0 for v in target) == len(target) - 1


def _duplicate_names(m: SpecModel) -> list[str]:
    """Every display name (units and scalar parameters) must be unique across the spec."""
    named: list[tuple[str, str]] = [
        (f"input.names[{j}]", n) for j, n in enumerate(m.input.names or [])
    ]
    for i, layer in enumerate(m.layers):
        named += kind_of(layer).named(layer, f"layers[{i}]")
    first: dict[str, str] = {}
    problems: list[str] = []
    for path, name in named:
        if name in first:
            problems.append(f"{path}: name already used at {first[name]} (got {name!r})")
        else:
            first[name] = path
    return problems


def _numbers(m: SpecModel) -> Numbers:
    """Every real number in the spec with its field path, a list of them as one run."""
    if m.optimizer.learning_rate is not None:
        yield "optimizer.learning_rate", m.optimizer.learning_rate
    yield "weight_decay", m.weight_decay
    for i, layer in enumerate(m.layers):
        yield from kind_of(layer).numbers(layer, f"layers[{i}]")
    for s, sample in enumerate(m.samples):
        yield f"samples[{s}].input", sample.input
        yield f"samples[{s}].target", sample.target


def _beyond(numbers: Numbers, limit: float) -> Iterator[tuple[str, float]]:
    """Each of ``numbers`` whose magnitude exceeds ``limit``, with its own path (a run's
    ``j``-th at ``path[j]``; a run is read number by number only where one does)."""
    for path, v in numbers:
        if not isinstance(v, list):
            if abs(v) > limit:
                yield path, v
        elif v and max(map(abs, v)) > limit:
            yield from ((f"{path}[{j}]", x) for j, x in enumerate(v) if abs(x) > limit)
