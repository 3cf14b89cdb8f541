"""The frozen :class:`Spec`: a validated network, its parameters, names and samples.

A spec describes a network layer by layer, each layer of a declared kind
(:data:`gradcheck.layers.KINDS`; today ``dense``: layer ``l``, 1-based with the input as layer 0,
maps ``x`` of width ``sizes[l-1]`` to ``out = act(W @ x + b)`` of width ``sizes[l]``; ``W`` has
one *row per output neuron*, so a document's ``w1, w2`` (into ``h1``) are row 0).

Parameters are one structure shared by every gradient source: ``list[dict[str, ndarray]]``,
one dict per layer holding only the *trainable* groups (``"W"`` and/or ``"b"``). Frozen groups
live in :meth:`Spec.frozen_params` and never appear in gradients or updates. A shared bias is a
0-d array, a per-neuron bias has shape ``(n_out,)``.

Loading never executes code: TOML is parsed by :mod:`tomllib` (:mod:`gradcheck.spec.specfile`) and
checked by pydantic models (:mod:`gradcheck.spec.schema`). Every problem becomes one
:class:`SpecError` line naming the file, the field path and the value. Import from
:mod:`gradcheck.spec`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError

from gradcheck.errors import SpecError
from gradcheck.layers import ACTIVATIONS as _DECLARED_ACTIVATIONS
from gradcheck.layers import LOSSES as _DECLARED_LOSSES
from gradcheck.layers import Shape, decayed_groups, kind_of
from gradcheck.spec.schema import Documented, SpecModel, checked_shapes, layer_shapes
from gradcheck.spec.specfile import (
    dump_toml,
    read_toml,
    toml_files,
    validation_problems,
)

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "Array",
    "GradientFn",
    "Location",
    "Params",
    "Spec",
    "load_spec",
    "load_specs",
    "parse_spec",
    "spec_json_schema",
    "spec_to_toml",
]

ACTIVATIONS: tuple[str, ...] = tuple(_DECLARED_ACTIVATIONS)
"""The declared activation names, in order (:mod:`gradcheck.layers` has their declarations)."""
LOSSES: tuple[str, ...] = tuple(_DECLARED_LOSSES)
"""The declared loss names, in order."""

Array = NDArray[np.floating[Any]]
Params = list[dict[str, Array]]

GradientFn = Callable[["Spec", Params, Array, Array], Params]
"""The one signature every gradient source has: ``(spec, params, inputs, targets) -> grads``."""

# A scalar parameter's address: (layer index 0-based into params, group "W"/"b", index tuple)
Location = tuple[int, str, tuple[int, ...]]


class Spec:
    """A validated, immutable network. Build with :func:`load_spec` or :func:`parse_spec`."""

    __slots__ = ("__dict__", "model", "path")
    model: SpecModel
    path: str

    def __init__(self, model: SpecModel, path: str, shapes: Sequence[Shape] | None = None) -> None:
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "path", path)
        if shapes is not None:  # inferred by the checks that validated the model
            self.__dict__["shapes"] = tuple(shapes)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Spec is immutable; cannot set {name!r}")

    def __reduce__(self) -> tuple[type[Spec], tuple[SpecModel, str]]:
        """Pickled as its validated model and path (into worker processes); the cached
        properties are computed again on the other side."""
        return (Spec, (self.model, self.path))

    # -- shape -------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.model.name

    @cached_property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """One sample's shape at the input and after each layer: ``(n,)`` for a vector,
        ``(C, H, W)`` for an image (inferred by each kind at load time)."""
        return tuple(layer_shapes(self.model)[0])

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        """The number of values per sample at the input and after each layer."""
        return tuple(math.prod(s) for s in self.shapes)

    @cached_property
    def kinds(self) -> tuple[str, ...]:
        """Each layer's kind (``dense``), declared in :data:`gradcheck.layers.KINDS`."""
        return tuple(layer.kind for layer in self.model.layers)

    @property
    def is_dense(self) -> bool:
        """Every layer is dense (a chain of (batch, n) activations)."""
        return all(kind == "dense" for kind in self.kinds)

    @cached_property
    def options(self) -> tuple[tuple[tuple[str, object], ...], ...]:
        """Each layer's forward settings besides its groups (a conv's stride and padding), as
        sorted ``(key, value)`` pairs: hashable, so compiled code can be keyed on them."""
        return tuple(
            tuple(sorted(kind_of(layer).options(layer).items())) for layer in self.model.layers
        )

    @cached_property
    def activations(self) -> tuple[str, ...]:
        """Each layer's activation (``identity`` for a kind without one: pooling, flatten)."""
        return tuple(getattr(layer, "activation", "identity") for layer in self.model.layers)

    @cached_property
    def slopes(self) -> tuple[float, ...]:
        """Leaky-relu slope per layer (0.0 where the activation has none)."""
        return tuple(getattr(layer, "slope", None) or 0.0 for layer in self.model.layers)

    @cached_property
    def bias_modes(self) -> tuple[str, ...]:
        """Each layer's bias mode (``none`` for a kind without a bias)."""
        return tuple(
            layer.bias.mode if hasattr(layer, "bias") else "none" for layer in self.model.layers
        )

    @property
    def loss(self) -> str:
        return self.model.loss

    @property
    def weight_decay(self) -> float:
        """``lambda`` of the L2 term ``lambda/2 sum W^2`` over every layer's decayed groups
        (:attr:`decayed`) that ``E`` includes; 0 where the spec gives none."""
        return self.model.weight_decay

    @cached_property
    def decayed(self) -> tuple[frozenset[str], ...]:
        """Per layer, the groups ``weight_decay`` applies to: its kind's declared weights."""
        return tuple(decayed_groups(layer) for layer in self.model.layers)

    @property
    def learning_rate(self) -> float:
        """The SGD step; a spec that gives none (``optimizer.learning_rate``) cannot train."""
        lr = self.model.optimizer.learning_rate
        if lr is None:
            raise SpecError(
                f"{self.path}: optimizer.learning_rate: training needs one, e.g. "
                "[optimizer] learning_rate = 0.5, or gradcheck train --learning-rate 0.5 (got none)"
            )
        return lr

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(self.model.dtype)

    @property
    def documented(self) -> tuple[Documented, ...]:
        return tuple(self.model.documented)

    @property
    def n_params(self) -> int:
        return sum(int(a.size) for layer in self.initial_params() for a in layer.values())

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds of one sample's forward pass, each layer's as its kind declares."""
        total = 0
        for table, shape in zip(self.model.layers, self.shapes, strict=False):  # shape: its input
            declared = kind_of(table)
            total += (declared.multiply_adds or declared.n_params)(table, shape)
        return total

    def shape_signature(self) -> tuple[Any, ...]:
        """Everything that fixes compiled code: sizes, activations, slopes, biases, loss, dtype."""
        trainable = tuple(tuple(sorted(p)) for p in self.initial_params())
        return (
            self.shapes,
            self.kinds,
            self.options,
            self.activations,
            self.slopes,
            self.bias_modes,
            trainable,
            self.loss,
            self.model.dtype,
        )

    # -- data --------------------------------------------------------------------------------
    @cached_property
    def _all_params(self) -> list[dict[str, tuple[Array, bool]]]:
        out: list[dict[str, tuple[Array, bool]]] = []
        for layer, shape in zip(self.model.layers, self.shapes, strict=False):
            group = kind_of(layer).groups(layer, shape, self.dtype)
            for array, _ in group.values():
                array.flags.writeable = False  # the spec's own copy; callers get fresh ones
            out.append(group)
        return out

    def initial_params(self) -> Params:
        """Trainable groups per layer, fresh copies in the spec's dtype."""
        return [
            {k: a.copy() for k, (a, trainable) in g.items() if trainable} for g in self._all_params
        ]

    def frozen_params(self) -> Params:
        """Frozen groups per layer (never differentiated, never updated)."""
        return [
            {k: a.copy() for k, (a, trainable) in g.items() if not trainable}
            for g in self._all_params
        ]

    def inputs(self) -> Array:
        """Sample inputs, shape ``(batch, *input shape)``: ``(batch, n_in)`` for a vector input,
        ``(batch, C, H, W)`` for images (each sample's values in C order)."""
        flat = np.array([s.input for s in self.model.samples], dtype=self.dtype)
        return flat.reshape(len(flat), *self.shapes[0])

    def targets(self) -> Array:
        """Sample targets, shape ``(batch, n_out)``."""
        return np.array([s.target for s in self.model.samples], dtype=self.dtype)

    # -- names -------------------------------------------------------------------------------
    @cached_property
    def param_names(self) -> dict[str, Location]:
        """Display name (``w5``, ``b1``) -> location in the params structure."""
        return {
            name: location
            for i, layer in enumerate(self.model.layers)
            for name, location in kind_of(layer).param_names(layer, i)
        }

    @cached_property
    def unit_names(self) -> dict[str, tuple[int, int]]:
        """Neuron display name (``i1``, ``h1``, ``o2``) -> (layer, index); inputs are layer 0."""
        names: dict[str, tuple[int, int]] = {}
        for j, n in enumerate(self.model.input.names or []):
            names[n] = (0, j)
        for i, layer in enumerate(self.model.layers, start=1):
            for j, n in enumerate(kind_of(layer).unit_names(layer)):
                names[n] = (i, j)
        return names

    def label(self, layer: int, group: str, index: tuple[int, ...]) -> str:
        """Human label of a scalar parameter: its display name if any, else ``layer 2 W[1,0]``."""
        for name, loc in self.param_names.items():
            if loc == (layer, group, tuple(index)):
                return name
        idx = ",".join(str(i) for i in index)
        return f"layer {layer + 1} {group}[{idx}]" if idx else f"layer {layer + 1} {group}"

    def is_trainable(self, layer: int, group: str) -> bool:
        """Layer ``layer`` has group ``group`` and it is trainable (not frozen)."""
        return self._all_params[layer].get(group, (None, False))[1]

    def __repr__(self) -> str:
        return f"Spec({self.name!r}, sizes={self.sizes}, path={self.path!r})"


def parse_spec(data: dict[str, Any], path: str = "<spec>") -> Spec:
    """Validate a decoded TOML table into a :class:`Spec`.

    Raises one :class:`SpecError` listing every problem as ``path: field.path: problem (got
    value)``, joined by ``"; "``; cross-field problems are checked once each field is valid.
    """
    try:
        model = SpecModel.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{path}: " + "; ".join(validation_problems(exc, data))) from None
    problems, shapes = checked_shapes(model)
    if problems:
        raise SpecError(f"{path}: " + "; ".join(problems))
    return Spec(model, path, shapes)


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file (what ``gradcheck schema`` prints)."""
    return SpecModel.model_json_schema()


def load_spec(path: str | Path) -> Spec:
    """Read and validate one TOML spec file; never executes anything in it."""
    p = Path(path)
    return parse_spec(read_toml(p), str(p))


def load_specs(paths: Sequence[str | Path]) -> list[Spec]:
    """Load several specs; a directory stands for every ``*.toml`` in it, sorted."""
    return [load_spec(f) for f in toml_files(paths)]


def spec_to_toml(spec: Spec) -> str:
    """Serialise a spec back to TOML (used for replaying generated counterexamples)."""
    return dump_toml(spec.model.model_dump(exclude_none=True, exclude_defaults=False))
